"""Each class of semantic mistake: reported at the offending value with the right field path."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.inventory.conftest import edit, position, problems


@dataclass(frozen=True)
class Case:
    """Edits to make, then the problem expected at ``needle`` (after the edits) in ``where``."""

    edits: tuple[tuple[str, str, str], ...]  # (file, old, new)
    where: str
    needle: str
    field: str
    fragment: str
    occurrence: int = 1


SUK = "villages/sukadana.yaml"
LEB = "villages/lebung-itam.yaml"
PEM = "villages/pematang-panggang.yaml"
FLEET = "fleet.yaml"
HW = "hardware.yaml"

CASES = {
    "id differs from file name": Case(
        ((SUK, "id: sukadana", "id: sukadana-x"),),
        SUK,
        "sukadana-x",
        "id",
        "village id 'sukadana-x' must equal the file name 'sukadana'",
    ),
    "hostname used in two villages": Case(
        # the newcomer (not in the address lock) is blamed, even in an earlier file
        ((LEB, "hostname: sec-lebung-itam-2", "hostname: sec-sukadana-1"),),
        LEB,
        "sec-sukadana-1, role",
        "devices[5].hostname",
        "duplicate hostname 'sec-sukadana-1' (first at ",
    ),
    "serial used twice": Case(
        ((PEM, "serial: HE10A8F3M07", "serial: HE10A8F2K91"),),
        SUK,
        "HE10A8F2K91",
        "devices[1].serial",
        "duplicate serial 'HE10A8F2K91'",
    ),
    "pools overlap": Case(
        ((FLEET, "prefix: 198.18.0.0/17", "prefix: 10.90.128.0/17"),),
        FLEET,
        "10.90.128.0/17",
        "pools.public-nat.prefix",
        "pool public-nat 10.90.128.0/17 overlaps pool management 10.90.0.0/16",
    ),
    "NOC network inside a pool": Case(
        ((FLEET, "networks: [10.255.0.0/24]", "networks: [10.90.5.0/24]"),),
        FLEET,
        "10.90.5.0/24",
        "noc.networks[0]",
        "NOC network 10.90.5.0/24 overlaps pool management",
    ),
    "subscriber pool outside 100.64.0.0/10": Case(
        ((FLEET, "prefix: 100.64.0.0/12", "prefix: 10.96.0.0/12"),),
        FLEET,
        "10.96.0.0/12",
        "pools.subscribers.prefix",
        "subscriber pools must be inside 100.64.0.0/10",
    ),
    "uplink profile pool of the wrong purpose": Case(
        ((FLEET, "pool: uplink-vsat", "pool: subscribers"),),
        FLEET,
        "subscribers, mtu",
        "partner_isp.uplinks.vsat.pool",
        "pool 'subscribers' has purpose 'subscriber', not 'uplink'",
    ),
    "uplink profile pool unknown": Case(
        ((FLEET, "pool: uplink-radio", "pool: uplink-radi0"),),
        FLEET,
        "uplink-radi0",
        "partner_isp.uplinks.ptp-radio.pool",
        "unknown pool 'uplink-radi0'",
    ),
    "RADIUS secret not declared": Case(
        ((FLEET, "secret: radius-secret", "secret: radius-key"),),
        FLEET,
        "radius-key",
        "radius[0].secret",
        "unknown secret 'radius-key'",
    ),
    "hamlet VLAN is the management VLAN": Case(
        ((SUK, "vlan: 101", "vlan: 99"),),
        SUK,
        "99",
        "hamlets[0].vlan",
        "VLAN 99 is the management VLAN",
    ),
    "hamlet VLAN used twice": Case(
        ((SUK, "vlan: 102", "vlan: 101"),),
        SUK,
        "101",
        "hamlets[1].vlan",
        "VLAN 101 is already used",
        occurrence=2,
    ),
    "link to an unknown device": Case(
        ((SUK, '"sec-sukadana-2:eth0"', '"sec-sukadana-9:eth0"'),),
        SUK,
        '"sec-sukadana-9:eth0"',
        "links[2].b",
        "unknown device 'sec-sukadana-9'",
    ),
    "link to a port the model lacks": Case(
        ((SUK, '"sec-sukadana-2:eth0"', '"sec-sukadana-2:eth7"'),),
        SUK,
        '"sec-sukadana-2:eth7"',
        "links[2].b",
        "sec-sukadana-2 (Rocket-5AC-Prism) has no port 'eth7' (ports: eth0, ath0)",
    ),
    "port used by two links": Case(
        ((SUK, '"core-sukadana:ether3"', '"core-sukadana:ether2"'),),
        SUK,
        '"core-sukadana:ether2"',
        "links[2].a",
        "port core-sukadana:ether2 is already used by another link (at ",
        occurrence=2,
    ),
    "sector frequency outside the band": Case(
        ((SUK, "frequency: 5745", "frequency: 5600"),),
        SUK,
        "5600",
        "hamlets[0].sectors[0].frequency",
        "5600 MHz is outside the band allowed in Indonesia (5725-5825 MHz)",
    ),
    "channel does not fit the band": Case(
        ((SUK, "frequency: 5785, channel_width: 40", "frequency: 5815, channel_width: 40"),),
        SUK,
        "5815",
        "hamlets[1].sectors[0].frequency",
        "5815 MHz ± 20 MHz (5795-5835) leaves the allowed band",
    ),
    "channel wider than the model allows": Case(
        (
            (
                HW,
                "Rocket-5AC-Prism:\n    platform: airos\n    vendor: Ubiquiti\n    ports: [eth0, ath0]\n"
                "    wireless: airos\n    bands: [5ghz]\n    max_channel_width: 80",
                "Rocket-5AC-Prism:\n    platform: airos\n    vendor: Ubiquiti\n    ports: [eth0, ath0]\n"
                "    wireless: airos\n    bands: [5ghz]\n    max_channel_width: 20",
            ),
        ),
        SUK,
        "40, key",
        "hamlets[1].sectors[0].channel_width",
        "sec-sukadana-2 supports at most 20 MHz channels",
    ),
    "backhaul frequency outside the band": Case(
        ((LEB, "frequency: 5775, channel_width: 40", "frequency: 5810, channel_width: 40"),),
        LEB,
        "5810",
        "links[0].radio.frequency",
        "leaves the allowed band 5725-5825 MHz",
    ),
    "radio link ap is not an end": Case(
        ((LEB, "ap: bh-lebung-itam-a", "ap: sec-lebung-itam-1"),),
        LEB,
        "sec-lebung-itam-1, ssid",
        "links[0].radio.ap",
        "ap 'sec-lebung-itam-1' must be one end of the link",
    ),
    "sector radio is not a wireless model": Case(
        ((SUK, "model: mANTBox-19s", "model: RB4011iGS+"),),
        SUK,
        "RB4011iGS+",
        "devices[2].model",
        "a sector-radio must be a wireless model, RB4011iGS+ has no radio",
    ),
    "sector served by the core router": Case(
        ((SUK, "{radio: sec-sukadana-1,", "{radio: core-sukadana,"),),
        SUK,
        "core-sukadana, ssid",
        "hamlets[0].sectors[0].radio",
        "core-sukadana is a core-router, not a sector-radio",
    ),
    "one radio serves two sectors": Case(
        ((PEM, "{radio: sec-pematang-2,", "{radio: sec-pematang-1,"),),
        PEM,
        "sec-pematang-1, ssid",
        "hamlets[1].sectors[0].radio",
        "sec-pematang-1 already serves a sector",
        occurrence=2,
    ),
    "unknown hardware model": Case(
        ((SUK, "model: RB5009UG+S+IN", "model: RB5009"),),
        SUK,
        "RB5009,",
        "devices[1].model",
        "unknown model 'RB5009' (hardware.yaml has: ",
    ),
    "credentials secret not declared": Case(
        ((SUK, "credentials: core-admin}", "credentials: core-admn}"),),
        SUK,
        "core-admn",
        "devices[1].credentials",
        "unknown secret 'core-admn' (declare it under secrets: in fleet.yaml)",
    ),
    "wifi key not declared": Case(
        (
            (
                PEM,
                "KopNet-Pematang-1, frequency: 5745, channel_width: 20, key: wifi-pematang,",
                "KopNet-Pematang-1, frequency: 5745, channel_width: 20, key: wifi-pematan,",
            ),
        ),
        PEM,
        "wifi-pematan,",
        "hamlets[0].sectors[0].key",
        "unknown secret 'wifi-pematan'",
    ),
    "two gateways": Case(
        ((SUK, "role: core-router", "role: gateway"),),
        SUK,
        "gateway, model: RB5009",
        "devices[1].role",
        "a village needs exactly one gateway, found 2",
    ),
    "no core router": Case(
        ((SUK, "role: core-router", "role: gateway"),),
        SUK,
        "devices:",
        "devices",
        "a village needs exactly one core-router, found none",
    ),
    "gateway port missing on the gateway": Case(
        (
            (
                SUK,
                "  circuit_id: LDS-OKI-FO-0117\n",
                "  circuit_id: LDS-OKI-FO-0117\n  gateway_port: eth9\n",
            ),
        ),
        SUK,
        "eth9",
        "uplink.gateway_port",
        "gateway gw-sukadana (APU4D4) has no port 'eth9'",
    ),
    "vsat uplink without orbit": Case(
        ((PEM, "  orbit: geo\n", ""),),
        PEM,
        "type: vsat",
        "uplink.orbit",
        "a vsat uplink needs 'orbit' (geo or leo)",
    ),
    "pppoe plan that is a hotspot plan": Case(
        (
            (
                SUK,
                "pppoe_plans: [hemat-5, keluarga-10, usaha-20]",
                "pppoe_plans: [hemat-5, voucher-harian]",
            ),
        ),
        SUK,
        "voucher-harian]",
        "services.pppoe_plans[1]",
        "plan 'voucher-harian' is a hotspot plan, not pppoe",
        occurrence=2,  # the first is dusun-2's hotspot_plans
    ),
    "unknown plan": Case(
        ((SUK, "hotspot_plans: [voucher-harian]\n", "hotspot_plans: [voucher-bulanan]\n"),),
        SUK,
        "voucher-bulanan",
        "hamlets[1].hotspot_plans[0]",
        "unknown plan 'voucher-bulanan'",
    ),
}


MORE_CASES = {
    # ------------------------------------------------------------------ fleet.yaml
    "no management pool": Case(
        ((FLEET, "purpose: management}", "purpose: link}"),),
        FLEET,
        "pools:",
        "pools",
        "no pool with purpose 'management'",
    ),
    "block larger than its pool": Case(
        ((FLEET, "{prefix: 198.18.0.0/17, size: 29", "{prefix: 198.18.0.0/17, size: 16"),),
        FLEET,
        "16, purpose: public-nat",
        "pools.public-nat.size",
        "/16 blocks do not fit in 198.18.0.0/17",
    ),
    "uplink pool handing out more than a /31": Case(
        ((FLEET, "{prefix: 172.30.0.0/20, size: 31", "{prefix: 172.30.0.0/20, size: 30"),),
        FLEET,
        "30, purpose: uplink",
        "pools.uplink-fiber.size",
        "a uplink pool needs blocks between /31 and /31",
    ),
    "duplicate plan name": Case(
        ((FLEET, "{name: usaha-20, kind: pppoe", "{name: hemat-5, kind: pppoe"),),
        FLEET,
        "hemat-5",
        "plans[2].name",
        "duplicate plan 'hemat-5' (first at ",
        occurrence=2,
    ),
    "duplicate RADIUS server": Case(
        (
            (
                FLEET,
                "    secret: radius-secret\n",
                "    secret: radius-secret\n  - {name: billing-1, address: 10.255.0.11, secret: radius-secret}\n",
            ),
        ),
        FLEET,
        "billing-1,",
        "radius[1].name",
        "duplicate RADIUS server 'billing-1'",
    ),
    "SNMP community not declared": Case(
        ((FLEET, "community: snmp-community", "community: snmp-komunitas"),),
        FLEET,
        "snmp-komunitas",
        "noc.snmp.community",
        "unknown secret 'snmp-komunitas'",
    ),
    "village uplink type without a fleet profile": Case(
        ((FLEET, "    vsat: {routing: static, pool: uplink-vsat, mtu: 1400}\n", ""),),
        PEM,
        "vsat",
        "uplink.type",
        "partner_isp.uplinks in fleet.yaml has no profile for 'vsat'",
    ),
    # ------------------------------------------------------------------ hardware.yaml
    "wireless model without bands": Case(
        (
            (
                HW,
                "    wireless: routeros-wireless\n    bands: [5ghz]\n    max_channel_width: 80\n    radio_standard: 802.11ac\n    factory: {address: 192.168.88.1/24, username: admin, password: empty}\n  LHG",
                "    wireless: routeros-wireless\n    max_channel_width: 80\n    radio_standard: 802.11ac\n    factory: {address: 192.168.88.1/24, username: admin, password: empty}\n  LHG",
            ),
        ),
        HW,
        "platform: routeros\n    vendor: MikroTik\n    ports: [ether1, sfp1, wlan1]",
        "models.mANTBox-19s.bands",
        "a wireless model needs at least one band",
    ),
    "port listed twice": Case(
        ((HW, "ports: [ether1, sfp1, wlan1]", "ports: [ether1, sfp1, ether1]"),),
        HW,
        "ether1]",
        "models.mANTBox-19s.ports[2]",
        "duplicate port 'ether1'",
    ),
    "airOS radio on a RouterOS model": Case(
        (
            (
                HW,
                "ports: [ether1, wlan1]\n    wireless: routeros-wireless",
                "ports: [ether1, wlan1]\n    wireless: airos",
            ),
        ),
        HW,
        "airos\n    bands: [5ghz]\n    max_channel_width: 80\n    radio_standard: 802.11ac\n    factory: {address: 192.168.88.1/24, username: admin, password: label}",
        "models.LHG-XL-5-ac.wireless",
        "airOS wireless needs platform airos",
    ),
    "odd channel width limit": Case(
        (
            (
                HW,
                "    max_channel_width: 80\n    radio_standard: 802.11ac\n    factory: {address: 192.168.88.1/24, username: admin, password: label}",
                "    max_channel_width: 50\n    radio_standard: 802.11ac\n    factory: {address: 192.168.88.1/24, username: admin, password: label}",
            ),
        ),
        HW,
        "50\n",
        "models.LHG-XL-5-ac.max_channel_width",
        "must be 10, 20, 40, 80 or 160 MHz",
    ),
    # ------------------------------------------------------------------ villages
    "gateway that is not a Linux box": Case(
        ((SUK, "role: gateway, model: APU4D4", "role: gateway, model: RB4011iGS+"),),
        SUK,
        "RB4011iGS+",
        "devices[0].model",
        "a gateway must be a linux model, RB4011iGS+ is routeros",
    ),
    "core router that is not RouterOS": Case(
        ((SUK, "role: core-router, model: RB5009UG+S+IN", "role: core-router, model: APU4D4"),),
        SUK,
        "APU4D4",
        "devices[1].model",
        "a core router must be a routeros model, APU4D4 is linux",
        occurrence=2,
    ),
    "link from a device to itself": Case(
        (
            (
                SUK,
                '{a: "core-sukadana:ether3", b: "sec-sukadana-2:eth0"}',
                '{a: "core-sukadana:ether3", b: "core-sukadana:ether4"}',
            ),
        ),
        SUK,
        '"core-sukadana:ether4"',
        "links[2].b",
        "a link cannot connect a device to itself",
    ),
    "radio link to a wired-only model": Case(
        ((PEM, 'b: "bh-pematang-b:wlan1"', 'b: "core-pematang:ether5"'),),
        PEM,
        '"core-pematang:ether5"',
        "links[4].b",
        "core-pematang has no radio, a radio link needs wireless models",
    ),
    "hamlet id used twice": Case(
        ((PEM, "  - id: dusun-3", "  - id: dusun-2"),),
        PEM,
        "dusun-2\n    name: Dusun III",
        "hamlets[2].id",
        "duplicate hamlet id 'dusun-2'",
    ),
    "gateway not linked to the core router": Case(
        (
            (
                SUK,
                '{a: "gw-sukadana:enp2s0", b: "core-sukadana:ether1"}',
                '{a: "gw-sukadana:enp2s0", b: "sec-sukadana-1:sfp1"}',
            ),
        ),
        SUK,
        "links:",
        "links",
        "no link between the gateway gw-sukadana and the core router core-sukadana",
    ),
    "core router on the uplink port": Case(
        ((SUK, '"gw-sukadana:enp2s0"', '"gw-sukadana:enp1s0"'),),
        SUK,
        '"gw-sukadana:enp1s0"',
        "links[0].a",
        "gw-sukadana:enp1s0 is the uplink port (uplink.gateway_port); only the ISP side or a "
        "backhaul radio may be linked to it, not the core-router core-sukadana",
    ),
    "village without any plan": Case(
        ((LEB, "pppoe_plans: [hemat-5, keluarga-10]", "pppoe_plans: []"),),
        LEB,
        "services:",
        "services",
        "a village must offer at least one plan",
    ),
}


@pytest.mark.parametrize("case", [*CASES.values(), *MORE_CASES.values()], ids=[*CASES, *MORE_CASES])
def test_semantic_mistake(inv_dir: Path, case: Case) -> None:
    for file, old, new in case.edits:
        edit(inv_dir / file, old, new)
    found = problems(inv_dir)
    where = position(inv_dir / case.where, case.needle, case.occurrence)
    expected_start = f"{where}: {case.field}: "
    matching = [p for p in found if p.startswith(expected_start) and case.fragment in p]
    assert matching, f"expected {expected_start}...{case.fragment}... in:\n" + "\n".join(found)


def test_duplicate_village_id(inv_dir: Path) -> None:
    copy = inv_dir / "villages" / "sukadana-baru.yaml"
    shutil.copy(inv_dir / SUK, copy)
    found = problems(inv_dir)
    # files load in name order: sukadana-baru.yaml first, so sukadana.yaml is the duplicate
    at_copy = position(copy, "id: sukadana", offset=4)
    at_orig = position(inv_dir / SUK, "id: sukadana", offset=4)
    assert f"{at_copy}: id: village id 'sukadana' must equal the file name 'sukadana-baru'" in found
    assert f"{at_orig}: id: duplicate village id 'sukadana' (also in sukadana-baru.yaml)" in found


def test_many_semantic_mistakes_all_reported(inv_dir: Path) -> None:
    chosen = [
        "hamlet VLAN is the management VLAN",
        "link to a port the model lacks",
        "pppoe plan that is a hotspot plan",
        "uplink profile pool of the wrong purpose",
        "serial used twice",
        "vsat uplink without orbit",
        "backhaul frequency outside the band",
    ]
    for name in chosen:
        for file, old, new in CASES[name].edits:
            edit(inv_dir / file, old, new)
    found = problems(inv_dir)
    for name in chosen:
        case = CASES[name]
        start = f"{position(inv_dir / case.where, case.needle, case.occurrence)}: {case.field}: "
        assert any(p.startswith(start) and case.fragment in p for p in found), name


def test_same_problem_seen_twice_is_reported_once(inv_dir: Path) -> None:
    """A backhaul channel outside the band is wrong for both radios: one line, not two."""
    path = inv_dir / LEB
    edit(path, "frequency: 5775, channel_width: 40", "frequency: 5700, channel_width: 40")
    found = problems(inv_dir)
    assert len(found) == 1
    assert found[0].startswith(f"{position(path, '5700')}: links[0].radio.frequency: ")
