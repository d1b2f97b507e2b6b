"""What the rendered configs must say, per platform: parse + lint, regulatory rules, duties."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from kopnet_iac.inventory.addressing import village_addressing
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.render.renderer import Artifact, Renderer
from tests.render.conftest import EXAMPLE_INVENTORY, TEMPLATES

INV = load_inventory(EXAMPLE_INVENTORY)
ARTIFACTS: list[Artifact] = Renderer(TEMPLATES).render_villages(INV, sorted(INV.villages))
RSC = [a for a in ARTIFACTS if a.path.endswith(".rsc")]
CFG = [a for a in ARTIFACTS if a.path.endswith(".cfg")]


def _by_host(host: str) -> Artifact:
    return next(a for a in ARTIFACTS if a.host == host and a.platform != "linux")


def _section(text: str, path: str) -> list[str]:
    """The command lines of one '/path' section (sectioned export style)."""
    out: list[str] = []
    current = None
    for line in text.splitlines():
        if line.startswith("/"):
            current = line
        elif current == path and line and not line.startswith("#"):
            out.append(line)
    return out


def test_example_fleet_has_every_kind_of_device() -> None:
    kinds = {(a.platform, a.role) for a in ARTIFACTS}
    assert {
        ("routeros", "core-router"),
        ("routeros", "sector-radio"),
        ("routeros", "backhaul-radio"),
        ("airos", "sector-radio"),
        ("airos", "backhaul-radio"),
    } <= kinds


@pytest.mark.parametrize("artifact", RSC, ids=[a.path for a in RSC])
def test_rendered_rsc_parses_and_passes_lint(artifact: Artifact) -> None:
    parser = pytest.importorskip(
        "kopnet_iac.platforms.routeros.parser", reason="RouterOS parser not available"
    )
    lint_mod = pytest.importorskip(
        "kopnet_iac.platforms.routeros.lint", reason="RouterOS lint not available"
    )
    config = parser.parse_export(artifact.text, artifact.path)
    addr = village_addressing(INV, artifact.village)
    findings = lint_mod.lint(
        config,
        mgmt_networks=[*INV.fleet.noc.networks, str(addr.management)],
        noc_networks=INV.fleet.noc.networks,
    )
    assert findings == [], [str(f) for f in findings]
    headers = {line for line in artifact.text.splitlines() if line.startswith("/")}
    assert len(config.sections) == len(headers), "every section of the file was parsed"


@pytest.mark.parametrize("artifact", RSC + CFG, ids=[a.path for a in RSC + CFG])
def test_indonesian_regulatory_rules(artifact: Artifact) -> None:
    text = artifact.text
    assert "no_country_set" not in text and "superchannel" not in text
    if artifact.path.endswith(".cfg"):
        assert "radio.countrycode=360\n" in text and "radio.1.countrycode=360\n" in text
        width = int(re.search(r"^radio\.1\.chanbw=(\d+)$", text, re.M).group(1))  # type: ignore[union-attr]
        freq = int(re.search(r"^radio\.1\.freq=(\d+)$", text, re.M).group(1))  # type: ignore[union-attr]
        assert freq - width // 2 >= 5725 and freq + width // 2 <= 5825
    elif "/interface wireless\n" in text:
        line = _section(text, "/interface wireless")[0]
        assert "country=indonesia" in line
        assert "frequency-mode=regulatory-domain" in line and "installation=outdoor" in line
        assert "wireless-protocol=nv2" in line
        control = int(re.search(r" frequency=(\d+)", line).group(1))  # type: ignore[union-attr]
        width = re.search(r"channel-width=(\S+)", line).group(1)  # type: ignore[union-attr]
        span = {"20mhz": (-10, 10), "20/40mhz-Ce": (-10, 30), "20/40/80mhz-Ceee": (-10, 70)}[width]
        assert control + span[0] >= 5725 and control + span[1] <= 5825


def test_airos_config_is_flat_sorted_and_unique() -> None:
    for artifact in CFG:
        lines = artifact.text.splitlines()
        assert lines == sorted(lines)
        keys = [line.split("=", 1)[0] for line in lines]
        assert len(keys) == len(set(keys))
        assert all(re.fullmatch(r"[a-z_0-9]+(\.[a-zA-Z_0-9]+)*", k) for k in keys), artifact.path
        assert "netmode=bridge" in lines
        assert "vlan.1.id=99" in lines
        assert "users.1.password=@@secret:radio-admin@@" in lines
        assert "snmp.community=@@secret:snmp-community@@" in lines
        assert "system.timezone=WIB-7" in lines


def test_airos_ptp_ends_and_sector_modes() -> None:
    ap = _by_host("bh-lebung-itam-a").text.splitlines()
    sta = _by_host("bh-lebung-itam-b").text.splitlines()
    sector = _by_host("sec-lebung-itam-2").text.splitlines()
    assert "radio.1.mode=master" in ap and "aaa.1.wpa.psk=@@secret:backhaul-key@@" in ap
    assert "wpasupplicant.status=disabled" in ap
    assert "radio.1.mode=managed" in sta and "wpasupplicant.status=enabled" in sta
    assert "wpasupplicant.profile.1.network.1.psk=@@secret:backhaul-key@@" in sta
    assert "wireless.1.scan_list.channels=5775" in sta
    assert {"radio.1.freq=5775", "radio.1.chanbw=40"} <= set(ap) & set(sta)
    assert "radio.1.mode=master" in sector and "wireless.1.ssid=KopNet-Lebung-2" in sector
    assert "netconf.4.ip=10.90.0.5" in sector and "route.1.gateway=10.90.0.1" in sector


def test_routeros_radio_modes_and_control_channel() -> None:
    ap = _section(_by_host("bh-pematang-a").text, "/interface wireless")[0]
    sta = _section(_by_host("bh-pematang-b").text, "/interface wireless")[0]
    sector = _section(_by_host("sec-sukadana-1").text, "/interface wireless")[0]
    assert " mode=bridge " in ap and " mode=station-bridge " in sta and " mode=ap-bridge " in sector
    assert "frequency=5800" in ap and "scan-list=5800" in sta
    assert "default-forwarding=no" in sector and "default-forwarding" not in ap
    assert "ssid=KopNet-BH-Pematang" in ap
    text = _by_host("sec-sukadana-1").text
    assert 'wpa2-pre-shared-key="@@secret:wifi-sukadana@@"' in text
    assert "mac-protocol=vlan" in text, "sector drops tagged frames from subscribers"


def test_core_router_duties() -> None:
    text = _by_host("core-pematang").text
    addr = village_addressing(INV, "pematang-panggang")
    assert "set name=core-pematang" in _section(text, "/system identity")
    assert "set time-zone-autodetect=no time-zone-name=Asia/Jakarta" in text
    # hamlet VLANs + management VLAN, hamlet untagged toward its sector radio
    assert "add interface=bridge-pop name=vlan99-mgmt vlan-id=99" in text
    vlans = _section(text, "/interface bridge vlan")
    assert "add bridge=bridge-pop tagged=bridge-pop untagged=ether4 vlan-ids=123" in vlans
    assert "add bridge=bridge-pop tagged=bridge-pop,ether2,ether3,ether4 vlan-ids=99" in vlans
    # addresses
    addresses = "\n".join(_section(text, "/ip address"))
    assert f"address={addr.management_gateway.with_prefixlen}" in addresses
    assert f"address={addr.gateway_core_core.with_prefixlen}" in addresses
    assert f"address={addr.loopbacks['core-pematang']}/32" in addresses
    # PPPoE server per hamlet VLAN, pools, plans with burst, RADIUS
    assert len(_section(text, "/interface pppoe-server server")) == 3
    first, last = addr.pppoe_pool
    assert f"name=pppoe-pool ranges={first}-{last}" in text
    assert ipaddress.ip_address(first) in addr.subscribers
    assert 'rate-limit="5M/10M 7M/15M 3750k/7500k 8/8"' in text
    assert "set accounting=yes interim-update=5m use-radius=yes" in text
    assert 'secret="@@secret:radius-secret@@" service=ppp,hotspot' in text
    # hotspot only in the hamlets that sell it (dusun-1, dusun-3), with DHCP, RADIUS profile,
    # a user profile per plan and a rate-limited default under the village total
    servers = _section(text, "/ip hotspot")
    assert [s.split(" name=")[1].split()[0] for s in servers] == ["hs-dusun-1", "hs-dusun-3"]
    assert "use-radius=yes" in "\n".join(_section(text, "/ip hotspot profile"))
    profiles = _section(text, "/ip hotspot user profile")
    assert "name=voucher-harian" in "\n".join(profiles)
    assert "name=voucher-mingguan" in "\n".join(profiles)
    default = next(p for p in profiles if p.startswith("set [ find default=yes ]"))
    assert "parent-queue=village-total rate-limit=1M/3M" in default
    # queues
    assert "kind=pcq" in text and "max-limit=30M/30M name=village-total" in text
    # routing: static default via the gateway
    assert f"dst-address=0.0.0.0/0 gateway={addr.gateway_core_gateway.ip}" in text
    # firewall order: established first, drop last in input
    inputs = [r for r in _section(text, "/ip firewall filter") if "chain=input" in r]
    assert "connection-state=established,related,untracked" in inputs[0]
    assert inputs[-1] == 'add action=drop chain=input comment="drop everything else"'
    # hardened services, SNMP, syslog, NTP, users
    services = _section(text, "/ip service")
    for name in ("telnet", "ftp", "www", "www-ssl", "api-ssl"):
        assert f"set {name} disabled=yes" in services
    for name in ("ssh", "api", "winbox"):
        assert f"set {name} address=10.255.0.0/24,{addr.management} disabled=no" in services
    assert 'name="@@secret:snmp-community@@"' in text and "addresses=10.255.0.0/24" in text
    assert "target=remote" in text and "remote=10.255.0.14" in text
    gw_loopback = addr.loopbacks["gw-pematang"]
    assert _section(text, "/system ntp client servers") == [
        f"add address={gw_loopback}",  # the village gateway first: time survives an outage
        "add address=10.255.0.123",
    ]
    users = _section(text, "/user")
    assert 'comment="NOC account" group=full name=noc password="@@secret:core-admin@@"' in users[0]
    assert "set [ find name=admin ] disabled=yes" in users
    assert "# ssh-key user=noc ssh-ed25519 " in text


def test_core_router_without_hotspot_has_no_hotspot() -> None:
    text = _by_host("core-lebung-itam").text
    assert "/ip hotspot" not in text and "/ip dhcp-server" not in text
    assert "allow-remote-requests=no" in text


def test_rendering_is_pure(tmp_path: Path) -> None:
    again = Renderer(TEMPLATES).render_villages(INV, sorted(INV.villages))
    assert [(a.path, a.text) for a in again] == [(a.path, a.text) for a in ARTIFACTS]


@pytest.mark.parametrize("artifact", RSC, ids=[a.path for a in RSC])
def test_planner_reaches_rendered_rsc_and_reverts(artifact: Artifact) -> None:
    """The RouterOS engine can deploy what we render: plan from an empty config, apply, revert."""
    routeros = pytest.importorskip(
        "kopnet_iac.platforms.routeros", reason="RouterOS engine missing"
    )
    planner = pytest.importorskip("kopnet_iac.platforms.routeros.planner")
    apply = pytest.importorskip("kopnet_iac.platforms.routeros.apply")
    normalize = pytest.importorskip("kopnet_iac.platforms.routeros.normalize")
    intended = routeros.parse_export(artifact.text, artifact.path)
    running = routeros.parse_export("", "empty")
    result = planner.plan(running, intended, host=artifact.host)
    after = apply.apply_script(running, result.script())
    assert normalize.equivalent(after, intended)
    assert normalize.equivalent(apply.apply_script(after, result.revert_script()), running)


@pytest.mark.parametrize("artifact", CFG, ids=[a.path for a in CFG])
def test_lab_airos_accepts_rendered_cfg(artifact: Artifact) -> None:
    config_mod = pytest.importorskip("kopnet_iac.lab.airos.config", reason="airOS lab missing")
    config = config_mod.SystemConfig.parse(artifact.text, filename=artifact.path)
    addr = village_addressing(INV, artifact.village)
    assert config.addresses() == [str(addr.device_management[artifact.host].ip)]
    assert config.get("radio.countrycode") == "360"
