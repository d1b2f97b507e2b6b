"""Real Linux gateways for the lab: network + mount namespaces with sshd, and an ISP edge running
BIRD (eBGP default route, or static for VSAT uplinks) plus stand-ins for the NOC's DNS server
(answers the fleet domain) and NTP server, so a configured gateway works offline.

Contract used by ``kopnet lab up/down`` and ``--lab`` targets:

- :func:`up` ``(village_id, inv, lab_dir) -> dict`` brings up one village's gateway and returns its
  connection info ``{village, hostname, platform, model, host, ssh_port, username, password,
  state, key_file, ...}``; the gateway is like a fresh Debian box installed with its rendered
  network files (sshd, python3, interfaces up with the addresses those files give, no routing
  daemon yet: configuring it is Ansible's job).
- :func:`down` ``(lab_dir)`` removes everything :func:`up` created in that lab dir (processes by
  recorded PID and start time plus whatever runs inside the lab's namespaces, namespaces, veths,
  state files); idempotent, also after a crash half-way through :func:`up`.
- :func:`status` ``(lab_dir) -> list[dict]`` reads the records only (no subprocess): cheap.

To look inside a lab gateway: ``ssh -i KEY_FILE kopnet@HOST`` (sudo works without a password),
or as root on the controller ``nsenter -t SSHD_PID -m -u -n sh`` (its mounts, hostname and network).

Every village's resources are recorded in ``lab_dir/gateways/<village>.json`` *before* they are
created, so cleanup always knows what to remove. Layout and addressing: see
:mod:`kopnet_iac.lab.gateway.plan`. Needs root.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kopnet_iac.errors import KopnetError, LabError
from kopnet_iac.lab.gateway import system
from kopnet_iac.lab.gateway.plan import (
    CORE_STUB_PORT,
    EDGE_PORT,
    LAB_USER,
    MAX_SLOTS,
    MGMT_PORT,
    SSH_PORT,
    SYSLOG_RECEIVER,
    GatewayLabPlan,
    boot_script,
    controller_addresses,
    edge_bird_conf,
    edge_chrony_conf,
    edge_unbound_conf,
    plan_gateway,
)

if TYPE_CHECKING:
    from kopnet_iac.inventory.loader import Inventory

log = logging.getLogger(__name__)

RECORDS_DIR = "gateways"
READY_TIMEOUT = 30.0
OVERLAID_DIRS = (Path("/etc"), Path("/usr"), Path("/var"))


def _records_dir(lab_dir: Path) -> Path:
    return lab_dir.absolute() / RECORDS_DIR


def _write(path: Path, record: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True))
    tmp.replace(path)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _running(record: dict[str, Any]) -> bool:
    refs = [system.ProcessRef.from_json(p) for p in record.get("processes", [])]
    sshd = [ref for ref in refs if ref.name == "sshd"]
    return bool(sshd) and all(system.alive(ref) for ref in refs)


# --------------------------------------------------------------------------- public API


def up(village_id: str, inv: Inventory, lab_dir: Path) -> dict[str, object]:
    """Bring up the lab gateway of ``village_id`` (see module docstring); returns its
    connection info. Raises :class:`LabError` (naming the village) and leaves nothing behind
    when something fails."""
    if os.geteuid() != 0:
        raise LabError("gateways not available: needs root", village=village_id)
    records = _records_dir(lab_dir)
    overlaid = [d for d in OVERLAID_DIRS if records.resolve().is_relative_to(d)]
    if overlaid:
        raise LabError(
            f"the lab directory must not be under {overlaid[0]}: each lab gateway overlays "
            f"{', '.join(str(d) for d in OVERLAID_DIRS)} with layers kept in the lab directory",
            village=village_id,
        )
    records.mkdir(parents=True, exist_ok=True)
    record_path = records / f"{village_id}.json"
    existing = _read(record_path)
    if existing is not None:
        if existing.get("state") == "running" and _running(existing):
            return dict(existing["info"])
        _teardown(record_path, existing)
    limit = min(MAX_SLOTS, len(controller_addresses(inv)))
    slot = system.claim_slot(str(record_path), limit)
    try:
        plan = plan_gateway(inv, village_id, slot)
    except BaseException:
        system.release_slot(slot, str(record_path))
        raise
    try:
        bgp_password = _bgp_password(inv, plan)
    except BaseException:
        system.release_slot(slot, str(record_path))
        raise
    gw_dir = records / village_id
    record: dict[str, Any] = {
        "village": village_id,
        "hostname": plan.hostname,
        "slot": slot,
        "dir": str(gw_dir),
        "namespaces": list(plan.namespaces),
        "root_links": [plan.root_link],
        "processes": [],
        "state": "starting",
        "info": _info(plan, gw_dir, "starting"),
    }
    _write(record_path, record)
    try:
        if gw_dir.exists():
            shutil.rmtree(gw_dir)
        gw_dir.mkdir(parents=True)
        _create_network(plan)
        _apply_rendered_network(inv, plan, gw_dir)
        _start_gateway(plan, gw_dir, record, record_path)  # boots while the edge starts
        _start_edge(plan, gw_dir, record, record_path, bgp_password)
        _wait_ssh(plan, gw_dir, record)
    except BaseException as exc:
        log.warning("%s: lab gateway failed to start, cleaning up", plan.hostname)
        _teardown(record_path, record)
        if isinstance(exc, KopnetError):
            if exc.village is None:
                raise LabError(exc.message, village=village_id, host=plan.hostname) from exc
            raise
        if isinstance(exc, Exception):
            raise LabError(f"gateway lab failed: {exc}", village=village_id) from exc
        raise
    record["state"] = "running"
    sshd_pid = next(p["pid"] for p in record["processes"] if p["name"] == "sshd")
    record["info"] = _info(plan, gw_dir, "running", sshd_pid)
    _write(record_path, record)
    log.info("%s: lab gateway up at %s", plan.hostname, plan.mgmt_ip)
    return dict(record["info"])


def down(lab_dir: Path) -> None:
    """Remove every lab gateway of ``lab_dir`` (idempotent)."""
    records = _records_dir(lab_dir)
    if not records.is_dir():
        return
    problems: list[str] = []
    for path in sorted(records.glob("*.json")):
        record = _read(path)
        if record is None:
            path.unlink(missing_ok=True)
            continue
        try:
            _teardown(path, record)
        except KopnetError as exc:
            problems.append(str(exc))
    with contextlib.suppress(OSError):
        records.rmdir()
    if problems:
        raise LabError("; ".join(problems))


def down_village(lab_dir: Path, village_id: str) -> None:
    """Remove one village's lab gateway (idempotent)."""
    path = _records_dir(lab_dir) / f"{village_id}.json"
    record = _read(path)
    if record is not None:
        _teardown(path, record)


def status(lab_dir: Path) -> list[dict[str, object]]:
    """Connection info of every recorded lab gateway, ``state`` running|stopped|starting.
    Reads files and /proc only."""
    records = _records_dir(lab_dir)
    rows: list[dict[str, object]] = []
    if not records.is_dir():
        return rows
    for path in sorted(records.glob("*.json")):
        record = _read(path)
        if record is None or not isinstance(record.get("info"), dict):
            continue
        info = dict(record["info"])
        if record.get("state") == "running":
            info["state"] = "running" if _running(record) else "stopped"
        rows.append(info)
    return rows


# --------------------------------------------------------------------------- steps


def _info(
    plan: GatewayLabPlan, gw_dir: Path, state: str, sshd_pid: int | None = None
) -> dict[str, object]:
    return {
        "village": plan.village,
        "hostname": plan.hostname,
        "platform": "linux",
        "model": plan.model,
        "host": str(plan.mgmt_ip),
        "ssh_port": SSH_PORT,
        "username": LAB_USER,
        "password": plan.password,
        "key_file": str(gw_dir / "id_ed25519"),
        "sshd_pid": sshd_pid,
        "state": state,
        "namespace": plan.ns_gateway,
        "edge_namespace": plan.ns_edge,
        "controller_address": str(plan.controller_ip),
        "routing": plan.routing,
        "edge_address": str(plan.uplink_edge.ip),
        "edge_asn": plan.isp_asn,
        "edge_bird_socket": str(system.SLOTS_DIR.parent / f"edge{plan.slot}.ctl"),
        "noc_syslog_log": str(gw_dir / "edge" / "syslog.log"),
    }


def _create_network(plan: GatewayLabPlan) -> None:
    gw, edge, core = plan.namespaces
    for ns in plan.namespaces:
        if system.netns_exists(ns):  # left over from a lab in this (stale) slot whose dir is gone
            log.warning("removing leftover namespace %s of a vanished lab", ns)
            _stop_inside([ns])
            system.run(["ip", "netns", "del", ns])
        system.run(["ip", "netns", "add", ns])
        system.run(["ip", "-n", ns, "link", "set", "lo", "up"])
    if system.link_exists(plan.root_link):
        system.run(["ip", "link", "del", plan.root_link])
    mtu = str(plan.mtu)
    commands = [
        # uplink: gateway <-> ISP edge
        ["ip", "-n", gw, "link", "add", plan.uplink_port, "mtu", mtu, "type", "veth",
         "peer", "name", EDGE_PORT, "mtu", mtu, "netns", edge],
        # gateway <-> where the core router would be
        ["ip", "-n", gw, "link", "add", plan.core_port, "type", "veth",
         "peer", "name", CORE_STUB_PORT, "netns", core],
        # management path from the controller (root namespace)
        ["ip", "link", "add", plan.root_link, "type", "veth",
         "peer", "name", MGMT_PORT, "netns", gw],
        ["ip", "-n", gw, "addr", "add", f"{plan.mgmt_ip}/32", "dev", MGMT_PORT],
        ["ip", "-n", edge, "addr", "add", str(plan.uplink_edge), "dev", EDGE_PORT],
        *(
            ["ip", "-n", edge, "addr", "add", f"{a}/32", "dev", "lo"]
            for a in plan.noc_services
        ),
        ["ip", "-n", core, "addr", "add", str(plan.gateway_core_core), "dev", CORE_STUB_PORT],
        ["ip", "addr", "add", f"{plan.controller_ip}/32", "dev", plan.root_link],
        ["ip", "-n", gw, "link", "set", plan.uplink_port, "up"],
        ["ip", "-n", gw, "link", "set", plan.core_port, "up"],
        ["ip", "-n", gw, "link", "set", MGMT_PORT, "up"],
        ["ip", "-n", edge, "link", "set", EDGE_PORT, "up"],
        ["ip", "-n", core, "link", "set", CORE_STUB_PORT, "up"],
        ["ip", "link", "set", plan.root_link, "up"],
        ["ip", "-n", gw, "route", "add", f"{plan.controller_ip}/32", "dev", MGMT_PORT,
         "src", str(plan.mgmt_ip)],
        ["ip", "route", "add", f"{plan.mgmt_ip}/32", "dev", plan.root_link,
         "src", str(plan.controller_ip)],
        ["ip", "-n", core, "route", "add", "default", "via", str(plan.gateway_core_gateway.ip)],
    ]  # fmt: skip
    for argv in commands:
        system.run(argv)


def _bgp_password(inv: Inventory, plan: GatewayLabPlan) -> str | None:
    """The eBGP TCP-MD5 password the edge needs (the fleet's secret), None when unused."""
    if plan.routing != "bgp" or plan.bgp_password_secret is None:
        return None
    from kopnet_iac.inventory.secrets import resolve_secret

    return resolve_secret(inv, plan.bgp_password_secret)


def _apply_rendered_network(inv: Inventory, plan: GatewayLabPlan, gw_dir: Path) -> None:
    """Give the gateway its uplink, core-link and loopback addresses (and NOC routes) from its
    rendered network files, with the role's own applier: the lab's cabling and management
    link are lab-only, the gateway's addressing is the intent (as on a box installed with the
    rendered files). The role later writes the same files to the backend's folder."""
    from kopnet_iac.platforms.linux.ansible import ROLES_DIR
    from kopnet_iac.platforms.linux.files import NETWORK_FILES, rendered_files

    files = rendered_files(inv, plan.village, plan.hostname)
    device = next(d for d in inv.village(plan.village).devices if d.hostname == plan.hostname)
    backend = inv.hardware_of(device).network_backend
    network_dir = gw_dir / "network"
    network_dir.mkdir(exist_ok=True)
    paths = []
    for name in NETWORK_FILES:
        path = network_dir / f"{plan.hostname}.{name}"
        path.write_text(files[name])
        paths.append(str(path))
    applier = ROLES_DIR / "gateway" / "files" / "netapply.py"
    system.run(["ip", "netns", "exec", plan.ns_gateway, "python3", str(applier), backend, *paths])


def _start_edge(
    plan: GatewayLabPlan,
    gw_dir: Path,
    record: dict[str, Any],
    record_path: Path,
    bgp_password: str | None = None,
) -> None:
    edir = gw_dir / "edge"
    edir.mkdir()
    bird_conf, pidfile = edir / "bird.conf", edir / "bird.pid"
    # unix socket paths are limited to 108 bytes: keep the edge's control socket short
    sock = system.SLOTS_DIR.parent / f"edge{plan.slot}.ctl"
    record["files"] = [str(sock)]
    _write(record_path, record)
    bird_conf.touch(mode=0o600)
    bird_conf.write_text(edge_bird_conf(plan, str(edir / "bird.log"), bgp_password))
    exe = ["ip", "netns", "exec", plan.ns_edge]
    try:
        system.run(["bird", "-p", "-c", str(bird_conf)])
        system.run([*exe, "bird", "-c", str(bird_conf), "-s", str(sock), "-P", str(pidfile)])
        _record_pidfile(record, record_path, "edge-bird", pidfile)
    finally:
        # BIRD has read it: the password does not stay on the lab's disk
        placeholder = None if plan.bgp_password_secret is None else plan.bgp_password_secret
        masked = f"@@secret:{placeholder}@@" if bgp_password is not None else None
        bird_conf.write_text(edge_bird_conf(plan, str(edir / "bird.log"), masked))
    unbound_conf = edir / "unbound.conf"
    unbound_conf.write_text(edge_unbound_conf(plan, str(edir)))
    system.run([*exe, "unbound", "-c", str(unbound_conf)])
    _record_pidfile(record, record_path, "edge-unbound", edir / "unbound.pid")
    chrony_conf = edir / "chrony.conf"
    chrony_conf.write_text(edge_chrony_conf(plan, str(edir)))
    system.run([*exe, "chronyd", "-x", "-u", "root", "-f", str(chrony_conf)])
    _record_pidfile(record, record_path, "edge-chronyd", edir / "chronyd.pid")
    if plan.noc_syslog is not None:
        syslog_pid = edir / "syslog.pid"
        argv = [
            *exe,
            "python3",
            "-c",
            SYSLOG_RECEIVER,
            str(plan.noc_syslog),
            str(edir / "syslog.log"),
        ]
        with (edir / "syslog.err").open("ab") as errors:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                start_new_session=True,
            )
        syslog_pid.write_text(str(proc.pid))
        record["processes"].append(system.process_ref("edge-syslog", proc.pid).to_json())
        _write(record_path, record)


def _record_pidfile(
    record: dict[str, Any], record_path: Path, name: str, pidfile: Path, timeout: float = 5.0
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError, ValueError, IndexError):  # not written yet
            pid = int(pidfile.read_text().split()[0])
            record["processes"].append(system.process_ref(name, pid).to_json())
            _write(record_path, record)
            return
        if time.monotonic() > deadline:
            raise LabError(f"{name} did not write its pid file {pidfile.name}")
        time.sleep(0.05)


def _start_gateway(
    plan: GatewayLabPlan, gw_dir: Path, record: dict[str, Any], record_path: Path
) -> None:
    key = gw_dir / "id_ed25519"
    system.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kopnet-lab", "-f", str(key)])
    boot = gw_dir / "boot.sh"
    boot.write_text(boot_script(plan, str(gw_dir)))
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "KOPNET_LAB_PASSWORD": plan.password,
    }
    argv = [
        "ip", "netns", "exec", plan.ns_gateway,
        "unshare", "--mount", "--uts", "--propagation", "private",
        "/bin/sh", str(boot),
    ]  # fmt: skip
    with (gw_dir / "sshd.log").open("ab") as logfile:
        # ip netns exec, unshare and sh all exec: the child's PID ends up being sshd's
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    record["processes"].append(system.process_ref("sshd", proc.pid).to_json())
    _write(record_path, record)


def _wait_ssh(plan: GatewayLabPlan, gw_dir: Path, record: dict[str, Any]) -> None:
    """Wait until sshd answers with its banner on the management address."""
    sshd = system.ProcessRef.from_json(next(p for p in record["processes"] if p["name"] == "sshd"))
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if not system.alive(sshd):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(sshd.pid, os.WNOHANG)
            tail = (gw_dir / "sshd.log").read_text(errors="replace").strip().splitlines()[-5:]
            raise LabError(f"gateway boot failed: {' | '.join(tail) or 'no output'}")
        try:
            with socket.create_connection((str(plan.mgmt_ip), SSH_PORT), timeout=1.0) as conn:
                conn.settimeout(2.0)
                if conn.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise LabError(f"sshd not answering on {plan.mgmt_ip}:{SSH_PORT}")
        time.sleep(0.1)


def _stop_inside(namespaces: list[str]) -> None:
    """Stop whatever still runs inside the lab's namespaces (daemons started through SSH)."""
    for _ in range(5):
        inside: list[system.ProcessRef] = []
        for ns in namespaces:
            for pid in system.netns_pids(ns):
                start = system.start_time(pid)
                if start is not None:
                    inside.append(system.ProcessRef(f"pid-in-{ns}", pid, start))
        if not inside:
            return
        system.terminate(inside)


def _teardown(record_path: Path, record: dict[str, Any]) -> None:
    """Stop processes (recorded ones, then anything left in the lab's namespaces), delete the
    namespaces and root-side links, remove state and release the slot."""
    namespaces = [str(ns) for ns in record.get("namespaces", [])]
    refs = [system.ProcessRef.from_json(p) for p in record.get("processes", [])]
    system.terminate(refs)
    _stop_inside(namespaces)
    for ns in namespaces:
        if system.netns_exists(ns):
            system.run(["ip", "netns", "del", ns])
    for link in record.get("root_links", []):
        if system.link_exists(str(link)):
            system.run(["ip", "link", "del", str(link)], check=False)
    for path in record.get("files", []):
        Path(path).unlink(missing_ok=True)
    gw_dir = record.get("dir")
    if gw_dir:
        shutil.rmtree(gw_dir, ignore_errors=True)
    record_path.unlink(missing_ok=True)
    record_path.with_suffix(".tmp").unlink(missing_ok=True)
    if isinstance(record.get("slot"), int):
        system.release_slot(int(record["slot"]), str(record_path))
    log.info("%s: lab gateway removed", record.get("hostname", record_path.stem))


def set_management_link(lab_dir: Path, village_id: str, up: bool) -> None:
    """Take the controller's management link to a lab gateway down (``up=False``) or back up:
    the gateway keeps running but is unreachable, as after a backhaul failure."""
    record = _read(_records_dir(lab_dir) / f"{village_id}.json")
    if record is None:
        raise LabError("no lab gateway recorded", village=village_id)
    for link in record.get("root_links", []):
        system.run(["ip", "link", "set", str(link), "up" if up else "down"])
    if up:  # the link route goes away with the link: put it back
        info = record["info"]
        system.run(
            ["ip", "route", "replace", f"{info['host']}/32", "dev", str(record["root_links"][0]),
             "src", str(info["controller_address"])]
        )  # fmt: skip
