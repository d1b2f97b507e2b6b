"""The gateway's own network: rendered per the hardware's backend (systemd-networkd or
ifupdown), parsed back by the role's applier into exactly the intended addresses, MTU and
NOC routes, and the applier's plan of ``ip`` commands (pure parts; the lab applies them)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from kopnet_iac.inventory.addressing import village_addressing
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.platforms.linux.ansible import ROLES_DIR
from kopnet_iac.platforms.linux.files import NETWORK_FILES, rendered_files
from kopnet_iac.platforms.linux.gateway import gateway_device
from kopnet_iac.platforms.linux.transaction import managed_paths

InventoryCopy = Callable[[Callable[[Path], None] | None], Inventory]


def _applier() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "netapply", ROLES_DIR / "gateway" / "files" / "netapply.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NETAPPLY = _applier()


def _ifupdown(root: Path) -> None:
    hardware = root / "inventory" / "hardware.yaml"
    text = hardware.read_text()
    old = "    ports: [enp1s0, enp2s0, enp3s0, enp4s0]\n"
    assert old in text
    hardware.write_text(text.replace(old, old + "    network_backend: ifupdown\n", 1))


def _parsed(inv: Inventory, village: str, backend: str, tmp_path: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    files = rendered_files(inv, village, gateway_device(inv, village).hostname)
    paths = []
    for name in NETWORK_FILES:
        path = tmp_path / f"{village}.{name}"
        path.write_text(files[name])
        paths.append(str(path))
    return dict(NETAPPLY.parse(backend, paths))


@pytest.mark.parametrize("backend", ["networkd", "ifupdown"])
@pytest.mark.parametrize("village", ["sukadana", "pematang-panggang"])
def test_rendered_network_is_the_address_plan(
    inventory_copy: InventoryCopy, tmp_path: Path, backend: str, village: str
) -> None:
    inv = inventory_copy(_ifupdown if backend == "ifupdown" else None)
    addr = village_addressing(inv, village)
    device = gateway_device(inv, village)
    assert inv.hardware_of(device).network_backend == backend
    got = _parsed(inv, village, backend, tmp_path)
    uplink = inv.village(village).uplink
    mtu = inv.fleet.partner_isp.uplinks[uplink.type].mtu
    assert got[uplink.gateway_port] == {
        "addresses": [str(addr.uplink_gateway)],
        "mtu": mtu,
        "routes": [{"dest": n, "via": str(addr.uplink_edge.ip)} for n in inv.fleet.noc.networks],
    }
    assert got["enp2s0"]["addresses"] == [str(addr.gateway_core_gateway)]
    assert got["enp2s0"]["routes"] == []
    assert got["lo"]["addresses"] == [f"{addr.loopbacks[device.hostname]}/32"]


def test_backends_render_their_own_formats(inventory_copy: InventoryCopy) -> None:
    networkd = rendered_files(inventory_copy(None), "sukadana", "gw-sukadana")
    assert networkd["net-uplink"].splitlines()[1:3] == ["[Match]", "Name=enp1s0"]
    ifupdown = rendered_files(inventory_copy(_ifupdown), "sukadana", "gw-sukadana")
    assert "iface enp1s0 inet static" in ifupdown["net-uplink"]
    assert "[Match]" not in ifupdown["net-uplink"]


def test_every_backend_path_is_snapshotted_by_the_transaction() -> None:
    paths = managed_paths()
    for backend in ("networkd", "ifupdown"):
        for name in NETWORK_FILES:
            assert f"{backend}:{name}" in paths
    assert paths["networkd:net-uplink"].startswith("/etc/systemd/network/")
    assert paths["ifupdown:net-loopback"].startswith("/etc/network/interfaces.d/")


@pytest.mark.parametrize(
    ("backend", "text", "error"),
    [
        ("networkd", "[Match]\nName=eth0\n[Network]\nAddress=10.0.0.1\n", "needs a prefix length"),
        ("networkd", "[Match]\nName=eth0\n[Bogus]\n", "unknown section [Bogus]"),
        ("networkd", "[Network]\nAddress=10.0.0.1/24\n", "no [Match] Name="),
        (
            "networkd",
            "[Match]\nName=eth0\n[Route]\nGateway=10.0.0.1\n",
            "Destination= and Gateway=",
        ),
        ("networkd", "[Match]\nName=eth0\n[Link]\nMTUBytes=99999\n", "bad MTU"),
        ("ifupdown", "iface eth0 inet dhcp\n", "expected 'iface NAME inet static'"),
        ("ifupdown", "address 10.0.0.1/24\n", "outside an iface stanza"),
        ("ifupdown", "iface eth0 inet static\n  address 10.0.0.300/24\n", "bad address"),
    ],
)
def test_the_validator_names_what_is_wrong(
    tmp_path: Path, backend: str, text: str, error: str
) -> None:
    path = tmp_path / "bad"
    path.write_text(text)
    assert NETAPPLY.main(["--check", backend, str(path)]) == 1
    with pytest.raises(NETAPPLY.ConfigError, match=error.replace("[", r"\[").replace("]", r"\]")):
        NETAPPLY.parse(backend, [str(path)])


def test_plan_adds_missing_and_removes_stale_but_keeps_lo_basics() -> None:
    wanted = {"addresses": ["10.91.0.17/32"], "mtu": None, "routes": []}
    plan = NETAPPLY.plan_interface("lo", wanted, ["10.91.0.9/32"], 65536, [])
    assert plan == [
        ["ip", "addr", "add", "10.91.0.17/32", "dev", "lo"],
        ["ip", "addr", "del", "10.91.0.9/32", "dev", "lo"],
    ]
    uplink = {
        "addresses": ["172.30.0.1/31"],
        "mtu": 1400,
        "routes": [{"dest": "10.255.0.0/24", "via": "172.30.0.0"}],
    }
    plan = NETAPPLY.plan_interface(
        "enp1s0", uplink, ["172.30.0.1/31"], 1500, [("10.254.0.0/24", "172.30.0.0")]
    )
    assert plan == [
        ["ip", "link", "set", "enp1s0", "mtu", "1400"],
        ["ip", "route", "replace", "10.255.0.0/24", "via", "172.30.0.0", "dev", "enp1s0",
         "proto", "static"],
        ["ip", "route", "del", "10.254.0.0/24", "via", "172.30.0.0", "dev", "enp1s0",
         "proto", "static"],
    ]  # fmt: skip
    assert NETAPPLY.plan_interface("enp1s0", uplink, ["172.30.0.1/31"], 1400,
                                   [("10.255.0.0/24", "172.30.0.0")]) == []  # fmt: skip
