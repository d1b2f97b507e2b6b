"""The rendered example fleet, read as an engineer reads it before it goes onto hardware.

For every rendered device: no radio open on the air, every management address reachable
over the links and VLANs the configs actually render, lint clean with the fleet's own
management and NOC networks, hotspot per hamlet, time from the village gateway, no default
credentials. The reachability walk reads the rendered files (bridge VLAN tables, VLAN
interfaces, airOS bridge ports and ebtables drops), not the inventory model that produced
them; only the gateway's side comes from the render context (its files are not RouterOS or
airOS).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kopnet_iac.cli.main import cli
from kopnet_iac.inventory.addressing import village_addressing
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.platforms.airos.lint import lint_airos
from kopnet_iac.platforms.routeros.lint import lint
from kopnet_iac.platforms.routeros.parser import parse_export
from kopnet_iac.render.context import village_contexts
from kopnet_iac.render.renderer import Artifact, Renderer
from tests.render.conftest import EXAMPLE_INVENTORY, TEMPLATES

INV = load_inventory(EXAMPLE_INVENTORY)
ARTIFACTS: list[Artifact] = Renderer(TEMPLATES).render_villages(INV, sorted(INV.villages))
RADIO_RSC = [a for a in ARTIFACTS if a.path.endswith(".rsc") and a.role != "core-router"]
RSC = [a for a in ARTIFACTS if a.path.endswith(".rsc")]
CFG = [a for a in ARTIFACTS if a.path.endswith(".cfg")]
OWN = RSC + CFG


def _section(text: str, path: str) -> list[str]:
    out: list[str] = []
    current = None
    for line in text.splitlines():
        if line.startswith("/"):
            current = line
        elif current == path and line and not line.startswith("#"):
            out.append(line)
    return out


def _props(line: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in re.findall(r'([a-z0-9.-]+)=("[^"]*"|\S+)', line)}


def _cfg(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


# --------------------------------------------------------------------------- what carries VLAN


def _routeros_mgmt_ports(text: str, vlan: int) -> tuple[set[str], str | None]:
    """Ports whose frames reach the management VLAN interface, and that interface's address."""
    vlan_ifs = {_props(ln)["name"]: _props(ln) for ln in _section(text, "/interface vlan")}
    mgmt_if = next(n for n, p in vlan_ifs.items() if p["interface"].startswith("bridge"))
    bridges = [_props(ln) for ln in _section(text, "/interface bridge")]
    filtering = any(b.get("vlan-filtering") == "yes" for b in bridges if b["name"] != "loopback")
    ports = [_props(ln)["interface"] for ln in _section(text, "/interface bridge port")]
    carried: set[str] = set()
    if filtering:
        for row in map(_props, _section(text, "/interface bridge vlan")):
            if row["vlan-ids"] != str(vlan):
                continue
            members = row.get("tagged", "").split(",") + row.get("untagged", "").split(",")
            for member in filter(None, members):
                if member in vlan_ifs and vlan_ifs[member]["vlan-id"] == str(vlan):
                    carried.add(vlan_ifs[member]["interface"])  # tagged on the routed port
                elif member in ports:
                    carried.add(member)
    else:
        carried = set(ports)
    for row in map(_props, _section(text, "/interface bridge filter")):
        if row.get("mac-protocol") == "vlan" and row.get("action") == "drop":
            carried.discard(row.get("out-interface", ""))
    address = next(
        (
            _props(ln)["address"].split("/")[0]
            for ln in _section(text, "/ip address")
            if _props(ln)["interface"] == mgmt_if
        ),
        None,
    )
    return carried, address


def _airos_mgmt_ports(text: str, vlan: int) -> tuple[set[str], str | None]:
    cfg = _cfg(text)
    ports = {v for k, v in cfg.items() if re.fullmatch(r"bridge\.1\.port\.\d+\.devname", k)}
    for key, cmd in cfg.items():
        if key.endswith(".cmd") and "--protocol 0x8100 -j DROP" in cmd and "--out-interface" in cmd:
            ports.discard(cmd.split("--out-interface ")[1].split()[0])
    mlan = next(
        (k[: -len(".devname")] for k, v in cfg.items() if v == f"br0.{vlan}" and "netconf" in k),
        None,
    )
    return ports, cfg.get(f"{mlan}.ip") if mlan else None


@pytest.mark.parametrize("village_id", sorted(INV.villages))
def test_every_management_address_is_reachable_over_rendered_links(village_id: str) -> None:
    village = INV.village(village_id)
    vlan = INV.fleet.fleet.management_vlan
    addr = village_addressing(INV, village_id)
    contexts = village_contexts(INV, village_id)
    carried: dict[str, set[str]] = {}
    for device in village.devices:
        if device.role == "gateway":  # its files are not RouterOS/airOS: the render contract
            carried[device.hostname] = set(contexts[device.hostname]["mgmt_ports"])
            continue
        (artifact,) = [a for a in OWN if a.host == device.hostname]
        parse = _airos_mgmt_ports if artifact.platform == "airos" else _routeros_mgmt_ports
        ports, address = parse(artifact.text, vlan)
        carried[device.hostname] = ports
        if device.role == "core-router":
            assert address == str(addr.management_gateway.ip)
        else:
            assert address == str(addr.device_management[device.hostname].ip), device.hostname
    core = next(d.hostname for d in village.devices if d.role == "core-router")
    reached, stack = {core}, [core]
    ends = [(*link.a.split(":"), *link.b.split(":")) for link in village.links]
    while stack:
        host = stack.pop()
        for a, ap, b, bp in ends:
            for here, hp, there, tp in ((a, ap, b, bp), (b, bp, a, ap)):
                crossing = hp in carried[here] and tp in carried[there]
                if here == host and there not in reached and crossing:
                    reached.add(there)
                    stack.append(there)
    wanted = {d.hostname for d in village.devices if d.role != "gateway"}
    assert wanted <= reached, f"unreachable: {sorted(wanted - reached)}"


def test_lebung_itam_carries_the_management_vlan_over_the_gateway() -> None:
    core = next(a for a in RSC if a.host == "core-lebung-itam").text
    assert (
        'add comment="management VLAN to gw-lebung-itam (radios behind the gateway)" '
        "interface=ether1 name=ether1-mgmt99 vlan-id=99"
    ) in _section(core, "/interface vlan")
    assert "untagged=ether1-mgmt99 vlan-ids=99" in "\n".join(
        _section(core, "/interface bridge vlan")
    )
    # the routed /31 to the gateway stays on the port itself
    assert any("interface=ether1" in ln and "10.92." in ln for ln in _section(core, "/ip address"))
    # the tower-side radio never passes tagged frames to the ISP edge
    tower = _cfg(next(a for a in CFG if a.host == "bh-lebung-itam-a").text)
    drops = {v for k, v in tower.items() if k.startswith("ebtables.") and k.endswith(".cmd")}
    assert "-t filter -A FORWARD --out-interface eth0 --protocol 0x8100 -j DROP" in drops
    # where no radio hangs off the gateway, the link to it stays untagged
    for host in ("core-sukadana", "core-pematang"):
        text = next(a for a in RSC if a.host == host).text
        assert "-mgmt99" not in text.replace("vlan99-mgmt", "")


# --------------------------------------------------------------------------- on the air


@pytest.mark.parametrize("artifact", RADIO_RSC, ids=[a.path for a in RADIO_RSC])
def test_routeros_radio_is_not_open_and_fits_its_hardware(artifact: Artifact) -> None:
    findings = lint(parse_export(artifact.text), text=artifact.text)
    assert [f for f in findings if f.rule == "ROS-RF-004"] == []
    line = _props(_section(artifact.text, "/interface wireless")[0])
    village, device = INV.device(artifact.host)
    hardware = INV.hardware_of(device)
    key = line["nv2-preshared-key"]
    assert line["nv2-security"] == "enabled" and re.fullmatch(r"@@secret:[a-z0-9-]+@@", key)
    assert line["band"] == ("5ghz-a/n/ac" if hardware.radio_standard == "802.11ac" else "5ghz-a/n")
    # the cell radius covers the link distance / sector range of the inventory
    ctx = village_contexts(INV, village.id)[artifact.host]
    assert int(line["nv2-cell-radius"]) >= ctx["radio_km"]
    assert int(line["nv2-cell-radius"]) >= 10


@pytest.mark.parametrize("artifact", CFG, ids=[a.path for a in CFG])
def test_airos_radio_passes_its_lint(artifact: Artifact) -> None:
    assert lint_airos(artifact.text) == []
    cfg = _cfg(artifact.text)
    ctx = village_contexts(INV, artifact.village)[artifact.host]
    assert cfg["radio.1.ack.auto"] == "disabled"
    assert int(cfg["radio.1.ackdistance"]) >= ctx["radio_km"] * 1000


def test_sectors_never_send_the_management_vlan_over_the_air() -> None:
    for artifact in RADIO_RSC:
        if " mode=ap-bridge " not in artifact.text:
            continue
        vlans = _section(artifact.text, "/interface bridge vlan")
        assert vlans and all("wlan" not in _props(v).get("tagged", "") for v in vlans)
        wlan = next(
            _props(p) for p in _section(artifact.text, "/interface bridge port") if "wlan" in p
        )
        assert wlan["frame-types"] == "admit-only-untagged-and-priority-tagged"
    for artifact in CFG:
        cfg = _cfg(artifact.text)
        if cfg["radio.1.mode"] != "master" or cfg["wireless.1.hide_ssid"] != "disabled":
            continue  # PtP ends carry the VLAN over their link on purpose
        drops = {v for k, v in cfg.items() if k.endswith(".cmd")}
        assert "-t filter -A OUTPUT --out-interface ath0 --protocol 0x8100 -j DROP" in drops
        assert "-t filter -A FORWARD --out-interface ath0 --protocol 0x8100 -j DROP" in drops


# --------------------------------------------------------------------------- lint, services


@pytest.mark.parametrize("village_id", sorted(INV.villages))
def test_rendered_configs_lint_clean_with_the_fleets_networks(
    village_id: str, tmp_path: Path
) -> None:
    """What CI runs: render, then `kopnet routeros lint --village` over the files."""
    out = tmp_path / "build"
    runner = CliRunner()
    inv = ["--inventory", str(EXAMPLE_INVENTORY)]
    result = runner.invoke(cli, [*inv, "render", village_id, "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(str(p) for p in (out / village_id).glob("*.rsc"))
    assert files
    result = runner.invoke(cli, [*inv, "routeros", "lint", "--village", village_id, *files])
    assert result.exit_code == 0, result.output
    # the same files with another village's networks are not clean: the check can fail
    other = next(v for v in sorted(INV.villages) if v != village_id)
    result = runner.invoke(cli, [*inv, "routeros", "lint", "--village", other, *files])
    assert result.exit_code == 1 and "ROS-SVC-002" in result.output


@pytest.mark.parametrize("village_id", sorted(INV.villages))
def test_hotspot_follows_each_hamlets_plans(village_id: str) -> None:
    village = INV.village(village_id)
    core = next(a for a in RSC if a.village == village_id and a.role == "core-router").text
    servers = [_props(ln)["name"] for ln in _section(core, "/ip hotspot")]
    assert servers == [f"hs-{h.id}" for h in village.hotspot_hamlets()]
    sold = {n for h in village.hamlets for n in village.hotspot_plans_of(h)}
    profiles = [_props(ln) for ln in _section(core, "/ip hotspot user profile")]
    assert {p["name"] for p in profiles if "name" in p} == sold
    if sold:
        default = next(
            _props(ln)
            for ln in _section(core, "/ip hotspot user profile")
            if ln.startswith("set [ find default=yes ]")
        )
        assert default["parent-queue"] == "village-total" and default["rate-limit"]
        assert all(p["parent-queue"] == "village-total" for p in profiles)


@pytest.mark.parametrize("artifact", OWN, ids=[a.path for a in OWN])
def test_time_from_the_village_gateway_and_no_default_credentials(artifact: Artifact) -> None:
    addr = village_addressing(INV, artifact.village)
    gateway = next(d.hostname for d in INV.village(artifact.village).devices if d.role == "gateway")
    gw_loopback = str(addr.loopbacks[gateway])
    if artifact.platform == "airos":
        cfg = _cfg(artifact.text)
        assert cfg["ntpclient.1.server"] == gw_loopback
        assert cfg["users.1.name"] == INV.fleet.noc.device_user != "ubnt"
        assert cfg["users.1.password"].startswith("@@secret:")
        assert cfg["httpd.https.status"] == "enabled"
        # the example fleet does not say the controller logs in by key: password login stays
        assert not INV.fleet.noc.controller_key_login
        assert cfg["sshd.auth.passwd"] == "enabled" and cfg["sshd.auth.key.1.status"] == "enabled"
    else:
        servers = [
            _props(ln)["address"] for ln in _section(artifact.text, "/system ntp client servers")
        ]
        assert servers[0] == gw_loopback and set(INV.fleet.noc.ntp) <= set(servers[1:])
        users = _section(artifact.text, "/user")
        assert f"name={INV.fleet.noc.device_user}" in users[0]
        assert "set [ find name=admin ] disabled=yes" in users


def test_nv2_key_is_masked_when_the_real_value_is_planned() -> None:
    """The Nv2 pre-shared key is a sensitive property: a plan with the real value masks it."""
    from kopnet_iac.platforms.routeros.planner import plan

    canary = "CANARY-nv2-key-7f3a"
    artifact = next(a for a in RADIO_RSC if a.host == "bh-pematang-a")
    with_value = re.sub(r"@@secret:[a-z0-9-]+@@", canary, artifact.text)
    result = plan(parse_export(""), parse_export(with_value), host=artifact.host)
    assert canary not in result.script(mask_sensitive=True)
    assert canary not in result.revert_script(mask_sensitive=True)
    assert canary in result.script(mask_sensitive=False)  # the unmasked script can be applied


def test_doctests_of_the_field_modules() -> None:
    import doctest

    from kopnet_iac.inventory import hints, radioplan
    from kopnet_iac.platforms.airos import lint as airos_lint
    from kopnet_iac.render import environment

    for module in (hints, radioplan, airos_lint, environment):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_render_lint_gate_passes_the_fleet_and_catches_an_open_radio(
    inventory_copy: Path, templates_copy: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    args = ["--inventory", str(inventory_copy), "render", "--all", "--lint"]
    result = runner.invoke(cli, [*args, "--out", str(tmp_path / "ok")])
    assert result.exit_code == 0, result.output
    radio = templates_copy / "routeros" / "radio" / "wireless.rsc.j2"
    radio.write_text(radio.read_text().replace(" nv2-security=enabled", ""))
    airos = templates_copy / "airos" / "radio" / "system.cfg.j2"
    airos.write_text(airos.read_text().replace("security.type=wpa2", "security.type=none"))
    bad = tmp_path / "bad"
    result = runner.invoke(cli, [*args, "--out", str(bad), "--templates", str(templates_copy)])
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if ": ROS-RF-004: " in ln]
    assert len(lines) == len(RADIO_RSC)
    path, line = lines[0].split(": ")[0].rsplit(":", 1)
    assert "nv2-preshared-key" in Path(path).read_text().splitlines()[int(line) - 1]
    assert sum(": AIR-RF-001: " in ln for ln in result.output.splitlines()) == len(CFG)


@pytest.mark.parametrize("village_id", sorted(INV.villages))
def test_hotspot_and_pppoe_subscribers_get_the_gateways_filtered_dns(village_id: str) -> None:
    """PPPoE subscribers are handed the gateway's cache; hotspot clients ask the core router,
    so the router itself must ask the gateway too (which forwards to the regulator's resolver),
    never the NOC resolvers directly."""
    village = INV.village(village_id)
    gateway = next(d for d in village.devices if d.role == "gateway").hostname
    loopback = str(village_addressing(INV, village_id).loopbacks[gateway])
    core = next(a for a in RSC if a.village == village_id and a.role == "core-router").text
    (dns,) = [_props(ln) for ln in _section(core, "/ip dns")]
    assert dns["servers"] == loopback
    profiles = [_props(ln) for ln in _section(core, "/ppp profile")]
    assert profiles and all(p["dns-server"] == loopback for p in profiles if "dns-server" in p)
