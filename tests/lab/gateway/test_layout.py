"""Lab layout computed from the inventory, and the slot registry (no root needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from kopnet_iac.errors import LabError
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.lab.gateway import system
from kopnet_iac.lab.gateway.layout import (
    controller_addresses,
    edge_bird_conf,
    edge_unbound_conf,
    gateway_layout,
)


def test_plans_follow_the_address_plan_and_uplink_profiles(inv: Inventory) -> None:
    fiber = gateway_layout(inv, "sukadana", 0)
    vsat = gateway_layout(inv, "pematang-panggang", 1)
    assert (fiber.routing, vsat.routing) == ("bgp", "static")
    assert (fiber.isp_asn, fiber.pop_asn) == (64500, 65010)
    assert (
        str(fiber.uplink_gateway) == "172.30.0.1/31" and str(fiber.uplink_edge) == "172.30.0.0/31"
    )
    assert vsat.mtu == 1400 and fiber.mtu == 1500
    assert (fiber.uplink_port, fiber.core_port) == ("enp1s0", "enp2s0")
    # controller addresses: inside the NOC network (admitted by the input policy), not a service
    noc = IPv4Network(inv.fleet.noc.networks[0])
    services = {IPv4Address(a) for a in (*inv.fleet.noc.dns, *inv.fleet.noc.ntp)}
    for plan in (fiber, vsat):
        assert plan.controller_ip in noc and plan.controller_ip not in services
        assert plan.mgmt_ip in IPv4Network("198.51.100.0/24")
    assert fiber.controller_ip != vsat.controller_ip and fiber.mgmt_ip != vsat.mgmt_ip
    assert len(set(controller_addresses(inv))) == len(controller_addresses(inv))


def test_names_are_unique_per_slot_and_fit_linux_limits(inv: Inventory) -> None:
    plans = [gateway_layout(inv, "lebung-itam", slot) for slot in (0, 1, 199)]
    names = [n for p in plans for n in (*p.namespaces, p.root_link)]
    assert len(set(names)) == len(names)
    assert all(len(p.root_link) <= 15 for p in plans)  # IFNAMSIZ


def test_unknown_village_and_slot_out_of_range(inv: Inventory) -> None:
    with pytest.raises(LabError, match="unknown village"):
        gateway_layout(inv, "desa-x", 0)
    with pytest.raises(LabError, match="slot"):
        gateway_layout(inv, "sukadana", 10_000)


def test_edge_configs(inv: Inventory, tmp_path: Path) -> None:
    fiber = edge_bird_conf(gateway_layout(inv, "sukadana", 0), str(tmp_path / "bird.log"))
    assert "neighbor 172.30.0.1 as 65010;" in fiber and "local 172.30.0.0 as 64500;" in fiber
    assert "route 0.0.0.0/0 blackhole;" in fiber
    vsat = edge_bird_conf(gateway_layout(inv, "pematang-panggang", 0), str(tmp_path / "b.log"))
    assert "protocol bgp" not in vsat and "via 172.30.32.1;" in vsat
    dns = edge_unbound_conf(gateway_layout(inv, "sukadana", 0), str(tmp_path))
    assert 'local-zone: "oki.kopnet.id." static' in dns and "interface: 10.255.0.53" in dns
    if shutil.which("bird") is None:
        pytest.skip("bird not installed")
    for i, text in enumerate((fiber, vsat)):
        path = tmp_path / f"edge{i}.conf"
        path.write_text(text)
        proc = subprocess.run(["bird", "-p", "-c", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def test_slots_are_claimed_once_and_stale_ones_reused(tmp_path: Path) -> None:
    owner_a, owner_b = tmp_path / "a.json", tmp_path / "b.json"
    owner_a.write_text("{}")
    owner_b.write_text("{}")
    a = system.claim_slot(str(owner_a), 3, tmp_path / "slots")
    b = system.claim_slot(str(owner_b), 3, tmp_path / "slots")
    assert (a, b) == (0, 1)
    system.release_slot(a, str(owner_b), tmp_path / "slots")  # not the owner: kept
    assert (tmp_path / "slots" / "0").exists()
    system.release_slot(a, str(owner_a), tmp_path / "slots")
    assert system.claim_slot(str(owner_a), 3, tmp_path / "slots") == 0
    # slot 1's owner record vanished (a crashed lab whose dir was deleted) long ago: stale
    owner_b.unlink()
    old = 1_000_000_000
    os.utime(tmp_path / "slots" / "1", (old, old))
    assert system.claim_slot("c", 3, tmp_path / "slots") == 1
    system.claim_slot("d", 3, tmp_path / "slots")
    with pytest.raises(LabError, match="all 3 lab gateway slots are in use"):
        system.claim_slot("e", 3, tmp_path / "slots")


def test_process_refs_never_match_another_process() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        ref = system.process_ref("sleep", proc.pid)
        assert system.alive(ref)
        assert not system.alive(system.ProcessRef("sleep", proc.pid, ref.start + 1))
        system.terminate([ref])
        assert not system.alive(ref)
    finally:
        proc.kill()
        proc.wait()
