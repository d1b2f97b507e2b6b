"""The namespace gateway lab, for real (root): up creates namespaces, links, processes and a
fresh-Debian-like gateway; down removes every one of them, also after failures."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kopnet_iac.errors import LabError
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.lab import gateway_netns
from kopnet_iac.lab.gateway import system
from kopnet_iac.platforms.linux.sshrun import connect
from tests.conftest import EXAMPLE_FLEET
from tests.lab.gateway import helpers

pytestmark = pytest.mark.root


def _netns_list() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def _links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    return {line.split(":")[1].strip().split("@")[0] for line in out.stdout.splitlines()}


def _ours(names: set[str], lab_dir: Path) -> set[str]:
    """Of lab namespaces/links that appeared, those not held by another lab: test processes
    side by side start labs of their own, in slots their own labs hold."""
    mine = set()
    for name in names:
        match = re.match(r"kopnet(\d+)", name)
        if match is None:
            mine.add(name)
            continue
        slot = system.SLOTS_DIR / match.group(1)
        try:
            owner = slot.read_text().strip()
        except FileNotFoundError:
            owner = ""
        if not owner or owner.startswith(str(lab_dir)):
            mine.add(name)
    return mine


def _record(lab_dir: Path, village: str) -> dict[str, Any]:
    data = json.loads((lab_dir / "gateways" / f"{village}.json").read_text())
    assert isinstance(data, dict)
    return data


def _pids_in(namespaces: list[str]) -> list[int]:
    return [pid for ns in namespaces for pid in system.netns_pids(ns)]


def _assert_gone(record: dict[str, Any]) -> None:
    """Nothing of a recorded lab gateway is left: namespaces, root link, processes, slot."""
    assert not set(record["namespaces"]) & _netns_list()
    assert not set(record["root_links"]) & _links()
    for proc in record["processes"]:
        assert not system.alive(system.ProcessRef.from_json(proc)), proc
    assert not Path(record["dir"]).exists()
    slot = system.SLOTS_DIR / str(record["slot"])
    assert not slot.exists() or not slot.read_text().startswith(str(Path(record["dir"]).parent))


def test_up_gives_a_fresh_debian_like_gateway_and_down_removes_everything(
    inv: Inventory, lab_dir: Path
) -> None:
    info = gateway_netns.up("sukadana", inv, lab_dir)
    record = _record(lab_dir, "sukadana")
    assert info["platform"] == "linux" and info["ssh_port"] == 22
    assert info["hostname"] == "gw-sukadana" and info["state"] == "running"
    assert set(record["namespaces"]) <= _netns_list()
    assert set(record["root_links"]) <= _links()
    assert [p["name"] for p in record["processes"]] == [
        "sshd",
        "edge-bird",
        "edge-unbound",
        "edge-chronyd",
        "edge-syslog",
    ]
    assert all(system.alive(system.ProcessRef.from_json(p)) for p in record["processes"])
    assert gateway_netns.status(lab_dir) == [info]

    # password login (what Ansible uses) and key login both work; sudo without a password
    target = helpers.target_of(info)
    with connect(replace(target, key_file=None), attempts=1) as session:
        result = session.run("hostname; sudo -n id -u; python3 -c 'print(42)'; ip -j addr")
    lines = result.stdout.splitlines()
    assert lines[:3] == ["gw-sukadana", "0", "42"]
    addrs = {
        a["ifname"]: [
            f"{i['local']}/{i['prefixlen']}" for i in a["addr_info"] if i["family"] == "inet"
        ]
        for a in json.loads(lines[3])
    }
    assert addrs["enp1s0"] == ["172.30.0.1/31"]  # uplink_gateway from the address plan
    assert addrs["enp2s0"] == ["10.92.0.16/31"]  # gateway_core_gateway
    assert "10.91.0.17/32" in addrs["lo"]  # gateway loopback
    # these come from the gateway's rendered network files, and so does its route to the NOC
    network = Path(record["dir"]) / "network" / "gw-sukadana.net-uplink"
    assert "Address=172.30.0.1/31" in network.read_text()
    assert {a["ifname"]: a["operstate"] for a in json.loads(lines[3])}["enp1s0"] == "UP"
    with connect(replace(target, password=None), attempts=1) as session:
        fresh = session.run(
            "test -e /etc/bird/bird.conf.kopnet || echo no-config; sudo -n nft list ruleset | wc -l;"
            " ping -c1 -W2 172.30.0.0 >/dev/null && echo edge-up"
        ).stdout.split()
    assert fresh == ["no-config", "0", "edge-up"]  # no ruleset yet, edge reachable

    # the ISP edge runs BIRD with the ISP side of the BGP session
    edge = subprocess.run(
        ["ip", "netns", "exec", str(info["edge_namespace"]), "birdc", "-s",
         str(info["edge_bird_socket"]), "show", "protocols", "all"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "Neighbor address: 172.30.0.1" in edge and "Neighbor AS:      65010" in edge

    # the gateway's own view: nsenter into sshd's mount, UTS and network namespaces
    inside = subprocess.run(
        ["nsenter", "-t", str(info["sshd_pid"]), "-m", "-u", "-n",
         "sh", "-c", "cat /etc/hostname; hostname; ls /run/sshd.pid; ip -br link show mgmt0"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert inside[:3] == ["gw-sukadana", "gw-sukadana", "/run/sshd.pid"]
    assert inside[3].startswith("mgmt0")
    assert Path("/etc/hostname").read_text().strip() != "gw-sukadana"

    gateway_netns.down(lab_dir)
    _assert_gone(record)
    assert gateway_netns.status(lab_dir) == []
    gateway_netns.down(lab_dir)  # idempotent


def test_gateway_has_its_own_etc_and_processes_started_through_ssh_are_removed(
    inv: Inventory, lab_dir: Path
) -> None:
    host_etc = set(os.listdir("/etc"))
    a = gateway_netns.up("sukadana", inv, lab_dir)
    b = gateway_netns.up("pematang-panggang", inv, lab_dir)
    assert a["host"] != b["host"] and a["namespace"] != b["namespace"]
    helpers.sudo_run(a, "echo gateway-a > /etc/kopnet-marker; sleep 300 >/dev/null 2>&1 &\n")
    assert not Path("/etc/kopnet-marker").exists()
    other = helpers.sudo_run(b, "cat /etc/kopnet-marker 2>/dev/null || echo absent\n")
    assert other.strip() == "absent"
    assert helpers.sudo_run(a, "cat /etc/kopnet-marker\n").strip() == "gateway-a"
    record = _record(lab_dir, "sukadana")
    sleeper = [
        pid for pid in _pids_in(record["namespaces"])
        if _cmdline(pid).startswith(b"sleep\0")
    ]  # fmt: skip
    assert len(sleeper) == 1
    records = [record, _record(lab_dir, "pematang-panggang")]
    gateway_netns.down(lab_dir)
    for rec in records:
        _assert_gone(rec)
    assert system.start_time(sleeper[0]) is None  # started through SSH, gone too
    assert set(os.listdir("/etc")) == host_etc


def test_a_failure_half_way_through_up_leaves_nothing_behind(inv: Inventory, lab_dir: Path) -> None:
    village = inv.village("sukadana")
    # an interface name longer than Linux allows: `ip link add` fails after the namespaces exist
    broken_uplink = village.uplink.model_copy(update={"gateway_port": "enp1s0-far-too-long"})
    broken = replace(
        inv,
        villages={**inv.villages, "sukadana": village.model_copy(update={"uplink": broken_uplink})},
    )
    before_ns, before_links = _netns_list(), _links()
    with pytest.raises(LabError) as err:
        gateway_netns.up("sukadana", broken, lab_dir)
    assert "sukadana" in str(err.value) and "enp1s0-far-too-long" in str(err.value)
    assert not _ours(_netns_list() - before_ns, lab_dir)
    assert not _ours(_links() - before_links, lab_dir)
    assert gateway_netns.status(lab_dir) == []


def test_down_cleans_up_after_the_process_that_ran_up_crashed(
    inv: Inventory, lab_dir: Path
) -> None:
    script = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from kopnet_iac.inventory.loader import load_inventory
        from kopnet_iac.lab import gateway_netns
        inv = load_inventory(Path({str(EXAMPLE_FLEET)!r}))
        gateway_netns.up("lebung-itam", inv, Path({str(lab_dir)!r}))
        os._exit(3)  # crash: no down, no cleanup handlers
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=90
    )
    assert proc.returncode == 3, proc.stderr
    record = _record(lab_dir, "lebung-itam")
    assert set(record["namespaces"]) <= _netns_list()
    assert [row["state"] for row in gateway_netns.status(lab_dir)] == ["running"]
    gateway_netns.down(lab_dir)
    _assert_gone(record)


def test_up_twice_returns_the_running_gateway_and_a_dead_one_is_replaced(
    inv: Inventory, lab_dir: Path
) -> None:
    first = gateway_netns.up("sukadana", inv, lab_dir)
    assert gateway_netns.up("sukadana", inv, lab_dir) == first
    sshd = next(p for p in _record(lab_dir, "sukadana")["processes"] if p["name"] == "sshd")
    system.terminate([system.ProcessRef.from_json(sshd)])
    assert [row["state"] for row in gateway_netns.status(lab_dir)] == ["stopped"]
    again = gateway_netns.up("sukadana", inv, lab_dir)
    assert again["state"] == "running"
    with connect(helpers.target_of(again), attempts=1) as session:
        assert session.run("hostname").stdout.strip() == "gw-sukadana"


def test_without_root_up_says_gateways_need_root(inv: Inventory, tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop root, try to bring a gateway up, report the message
        try:
            os.close(read_end)
            os.setuid(65534)
            try:
                gateway_netns.up("sukadana", inv, tmp_path / "lab")
                os.write(write_end, b"no error")
            except LabError as exc:
                os.write(write_end, str(exc).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        message = pipe.read()
    os.waitpid(pid, 0)
    assert message == "sukadana: gateways not available: needs root"
    assert not (tmp_path / "lab").exists()


def test_lab_dir_under_an_overlaid_directory_is_refused(inv: Inventory) -> None:
    with pytest.raises(LabError, match="must not be under /var"):
        gateway_netns.up("sukadana", inv, Path("/var/tmp/kopnet-lab-test"))
    assert not Path("/var/tmp/kopnet-lab-test").exists()


def _cmdline(pid: int) -> bytes:
    """A process's command line; empty when it ended meanwhile (short-lived helpers do)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""
