"""The emulator takes the example fleet's rendered RouterOS configs as RouterOS 7 would.

Every rendered ``.rsc`` (core router, RouterOS radios) imports without an error into a device in
the lab's default state, and what the device then exports plans empty against the intended
config. The menus those configs brought in behave as on a router: the NTP servers submenu
fills ``/system ntp client``, the hotspot's built-in ``default`` profiles are there to ``set``,
``/interface bridge filter`` keeps its rules in order, and the NOC account replaces ``admin``
for logins.
"""

from __future__ import annotations

import librouteros
import pytest
from librouteros.exceptions import TrapError

from kopnet_iac.drivers.routeros.candidate import parse_candidate
from kopnet_iac.inventory.loader import Inventory, load_inventory
from kopnet_iac.lab.routeros.device import RouterOSDevice
from kopnet_iac.lab.routeros.store import RosError
from kopnet_iac.platforms.routeros.parser import parse_export
from kopnet_iac.platforms.routeros.planner import plan
from kopnet_iac.render.renderer import Artifact, render_inventory
from tests.conftest import EXAMPLE_FLEET

from .conftest import TEST_PASSWORD, Lab

INVENTORY: Inventory = load_inventory(EXAMPLE_FLEET)
RENDERED: dict[str, Artifact] = {
    a.host: a for a in render_inventory(INVENTORY) if a.platform == "routeros"
}
#: a password for the rendered NOC account (the rendered file carries a placeholder)
NOC_PASSWORD = "field-noc-fake-pw"


def _device(lab: Lab, hostname: str) -> RouterOSDevice:
    device = next(
        d for v in INVENTORY.villages.values() for d in v.devices if d.hostname == hostname
    )
    hardware = INVENTORY.hardware_of(device)
    spec = lab.spec(
        hostname=hostname,
        model=device.model,
        ports=tuple(hardware.ports),
        wireless=hardware.wireless != "none",
    )
    return lab.start(spec)


def _imported(lab: Lab, hostname: str) -> tuple[RouterOSDevice, str]:
    text = RENDERED[hostname].text.replace(f"@@secret:{_credentials(hostname)}@@", NOC_PASSWORD)
    device = _device(lab, hostname)
    assert device.router.interpreter is not None
    lab.loop.run(device.router.interpreter.run_text(text, source=f"{hostname}.rsc", lenient=False))
    return device, text


def _credentials(hostname: str) -> str:
    return next(
        d.credentials
        for v in INVENTORY.villages.values()
        for d in v.devices
        if d.hostname == hostname
    )


def test_the_example_fleet_has_routeros_configs_to_check() -> None:
    roles = {a.role for a in RENDERED.values()}
    assert {"core-router", "sector-radio", "backhaul-radio"} <= roles


@pytest.mark.parametrize("hostname", sorted(RENDERED))
def test_rendered_config_imports_and_plans_empty(lab: Lab, hostname: str) -> None:
    device, text = _imported(lab, hostname)
    exported = parse_export(device.export(show_sensitive=True))
    intended = parse_candidate(text).config  # users are planned through the API, not exports
    left = plan(exported, intended)
    assert not left, left.script()


def test_ntp_servers_submenu_fills_the_client_settings(lab: Lab) -> None:
    device, _ = _imported(lab, "core-sukadana")
    api = librouteros.connect(device.spec.host, "noc", NOC_PASSWORD, port=8728, timeout=5)
    try:
        (client,) = list(api.path("system", "ntp", "client"))
        servers = [row["address"] for row in api.path("system", "ntp", "client", "servers")]
    finally:
        api.close()
    assert client["enabled"] is True
    assert servers == ["10.91.0.17", "10.255.0.123"]
    assert client["servers"] == "10.91.0.17,10.255.0.123"
    assert (client["primary-ntp"], client["secondary-ntp"]) == tuple(servers)


def test_hotspot_default_profiles_are_built_in(lab: Lab) -> None:
    fresh = _device(lab, "core-sukadana")
    export = fresh.export()
    assert "/ip hotspot" not in export  # a built-in item left alone is not exported
    device, _ = _imported(lab, "core-sukadana")
    rows = [row for _, row in device.router.rows("ip hotspot user profile")]
    default = next(r for r in rows if r.get("default") == "true")
    assert default["name"] == "default" and default["rate-limit"] == "1M/3M"
    assert "set [ find default=yes ] comment=" in device.export()
    profiles = [row["name"] for _, row in device.router.rows("ip hotspot profile")]
    assert profiles == ["default", "hsprof-kopnet"]


def test_bridge_filter_rules_keep_their_order(lab: Lab) -> None:
    device, text = _imported(lab, "sec-sukadana-1")
    rules = [
        (e.get("chain"), e.get("comment"))
        for e in device.router.store.entries("interface bridge filter")
    ]
    wanted = parse_export(text).entries(("interface", "bridge", "filter"))
    assert rules == [(e.props["chain"], e.props["comment"]) for e in wanted]
    assert len(rules) >= 2
    section = device.export().split("/interface bridge filter\n", 1)[1]
    assert section.startswith("add action=drop chain=forward")


def test_noc_account_replaces_admin(lab: Lab) -> None:
    device, _ = _imported(lab, "sec-sukadana-1")
    with pytest.raises(TrapError):  # admin is disabled: the lab password no longer works
        librouteros.connect(device.spec.host, "admin", TEST_PASSWORD, port=8728, timeout=5)
    api = librouteros.connect(device.spec.host, "noc", NOC_PASSWORD, port=8728, timeout=5)
    try:
        users = {row["name"]: row for row in api.path("user")}
    finally:
        api.close()
    assert users["admin"]["disabled"] is True and users["noc"]["group"] == "full"
    assert "password" not in users["noc"]  # never shown
    assert "/user" not in device.export(show_sensitive=True)  # users are never exported


def test_unknown_menu_is_still_refused(lab: Lab) -> None:
    device = _device(lab, "sec-sukadana-1")
    assert device.router.interpreter is not None
    with pytest.raises(RosError, match="no such command prefix"):
        lab.loop.run(
            device.router.interpreter.run_text(
                "/interface bridge filterz\nadd chain=forward action=drop\n",
                source="typo.rsc",
                lenient=False,
            )
        )


def test_every_rendered_menu_is_known_to_the_emulator(lab: Lab) -> None:
    device = _device(lab, "core-sukadana")
    paths = {
        " ".join(path)
        for artifact in RENDERED.values()
        for path in parse_export(artifact.text).sections
    }
    assert "interface bridge filter" in paths and "system ntp client servers" in paths
    unknown = sorted(p for p in paths if not device.router.known_path(p))
    assert unknown == []
