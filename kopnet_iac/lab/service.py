"""Run the lab from Python: start the daemon, add villages, wait until devices answer, start
the namespace gateways, pin host keys, stop. ``kopnet lab`` is a thin front end over this;
Nornir tasks, tests and scripts call it directly.

Functions here never print: progress goes to the ``say``/``warn`` callbacks (default: the
module's logger), outcomes are returned.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from kopnet_iac.errors import LabError
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.lab import control
from kopnet_iac.lab.control import lab_stats
from kopnet_iac.lab.faultspec import parse_fault_spec
from kopnet_iac.lab.spec import DeviceSpec, spec_to_dict
from kopnet_iac.lab.targets import lab_status
from kopnet_iac.lab.topology import AddressBook, village_specs

log = logging.getLogger(__name__)

DAEMON_START_TIMEOUT = 20.0
READY_TIMEOUT = 180.0

Say = Callable[[str], None]


def _log_info(message: str) -> None:
    log.info("%s", message)


def _log_warning(message: str) -> None:
    log.warning("%s", message)


def device_ports(row: dict[str, Any]) -> list[int]:
    """The TCP ports a lab device listens on (API, SSH, HTTP, HTTPS), from its status row."""
    return [
        int(row[key]) for key in ("api_port", "ssh_port", "http_port", "https_port") if row.get(key)
    ]


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def spawn_daemon(lab_dir: Path, timeout: float = DAEMON_START_TIMEOUT) -> int:
    """Start the lab daemon for ``lab_dir`` in its own session; its pid once it answers."""
    lab_dir.mkdir(parents=True, exist_ok=True)
    logfile = open(lab_dir / control.LOG_NAME, "ab")  # noqa: SIM115 - handed to the child
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kopnet_iac.cli.main",
                "lab",
                "daemon",
                "--lab-dir",
                str(lab_dir),
            ],
            stdin=subprocess.DEVNULL,
            stdout=logfile,
            stderr=logfile,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:  # e.g. the interpreter cannot be run: a message, not a traceback
        raise LabError(f"cannot start the lab daemon: {exc}") from exc
    finally:
        logfile.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LabError(f"lab daemon exited at start; see {lab_dir / control.LOG_NAME}")
        if control.is_running(lab_dir):
            return process.pid
        time.sleep(0.1)
    raise LabError(f"lab daemon did not come up; see {lab_dir / control.LOG_NAME}")


def wait_ready(
    lab_dir: Path,
    hostnames: set[str],
    *,
    timeout: float = READY_TIMEOUT,
    say: Say = _log_info,
) -> list[dict[str, Any]]:
    """Wait until every device answers on all its ports (or failed to start); status rows."""
    deadline = time.monotonic() + timeout
    ready: set[str] = set()
    shown = -1
    while True:
        rows = [r for r in lab_status(lab_dir) if r["hostname"] in hostnames]
        failed = [r for r in rows if r["state"] == "failed"]
        for row in rows:
            if row["hostname"] in ready or row["state"] != "running":
                continue
            if all(_answers(row["host"], port) for port in device_ports(row)):
                ready.add(row["hostname"])
        if len(ready) != shown:
            shown = len(ready)
            say(f"  {len(ready)}/{len(hostnames) - len(failed)} devices answering")
        if len(ready) + len(failed) >= len(hostnames):
            return rows
        if time.monotonic() > deadline:
            missing = sorted(hostnames - ready - {r["hostname"] for r in failed})
            raise LabError(f"devices not answering after {timeout:.0f}s: {', '.join(missing)}")
        time.sleep(0.2)


def gateway_module() -> ModuleType | None:
    """The namespace gateway lab, None where it cannot be imported."""
    try:
        from kopnet_iac.lab import gateway_netns
    except ImportError:
        return None
    return gateway_netns


def gateways_up(
    villages: list[str],
    inventory: Inventory,
    lab_dir: Path,
    *,
    explicit: bool,
    say: Say = _log_info,
    warn: Say = _log_warning,
) -> list[str]:
    """Start the gateways; the reasons of those that did not start (empty: all up).

    Gateways the user did not ask for by name (``explicit`` False) are skipped with a note
    where they cannot run at all (not root, no gateway lab module); asked for explicitly,
    that is a failure too.
    """
    unavailable = None
    module = gateway_module()
    if os.geteuid() != 0:
        unavailable = "needs root"
    elif module is None:
        unavailable = "gateway lab module not installed"
    if unavailable is not None or module is None:
        if not explicit:
            say(f"gateways not started: {unavailable} (--no-gateways silences this)")
            return []
        return [f"gateways not available: {unavailable}"]
    failures: list[str] = []
    for village in villages:
        try:
            info = module.up(village, inventory, lab_dir)
        except Exception as exc:  # report it and keep the emulated devices running
            reason = f"gateway of {village} not started: {exc}"
            warn(reason)
            failures.append(reason)
            continue
        say(f"gateway {info.get('hostname', village)} up at {info.get('host', '?')}")
    return failures


def pin_host_keys(
    lab_dir: Path, villages: set[str], *, say: Say = _log_info, warn: Say = _log_warning
) -> dict[str, str]:
    """Record the SSH host keys of the lab's devices, just started, in the known-hosts store
    (replacing older ones: lab gateways get new keys at every start); device -> problem."""
    from kopnet_iac.transport.hostkeys import HostKeyStore, pin_current_keys

    store = HostKeyStore.open()
    targets = [
        (str(row["host"]), int(row["ssh_port"]), str(row["hostname"]))
        for row in lab_status(lab_dir)
        if row.get("village") in villages and row.get("ssh_port") and row["state"] == "running"
    ]
    problems = pin_current_keys(store, targets)
    for device, reason in sorted(problems.items()):
        warn(f"  {device}: host key not recorded: {reason}")
    say(f"  {len(targets) - len(problems)} SSH host keys recorded in {store.path}")
    return dict(problems)


def gateways_down(lab_dir: Path, village: str | None = None) -> str | None:
    """Stop the lab gateways (of one village); the problem when they did not stop cleanly."""
    module = gateway_module()
    if module is None or os.geteuid() != 0:
        return None
    try:
        if village is None:
            module.down(lab_dir)
        else:
            module.down_village(lab_dir, village)
    except Exception as exc:  # say it, do not hide it
        return f"gateways not stopped cleanly: {exc}"
    return None


@dataclass
class LabUp:
    """Outcome of :func:`lab_up`."""

    directory: Path
    villages: list[str]
    specs: list[DeviceSpec]
    rows: list[dict[str, Any]] = field(default_factory=list)
    already_running: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    gateway_failures: list[str] = field(default_factory=list)

    @property
    def running(self) -> int:
        return sum(1 for r in self.rows if r["state"] == "running")

    @property
    def complete(self) -> bool:
        """Every requested part started (devices and, where asked for, gateways)."""
        return not self.failed and not self.gateway_failures

    def problems(self) -> list[str]:
        parts = [f"{len(self.failed)} device(s) failed to start"] if self.failed else []
        return parts + self.gateway_failures


def lab_up(
    inventory: Inventory,
    villages: Iterable[str],
    lab_dir: Path | str | None = None,
    *,
    factory_default: bool = False,
    gateways: bool = True,
    explicit_gateways: bool = False,
    faults: Iterable[str] = (),
    say: Say = _log_info,
    warn: Say = _log_warning,
) -> LabUp:
    """Start the lab (or add villages to the running one) and return when every device
    answers; gateways in namespaces too when ``gateways`` (root only). ``faults`` are
    ``HOST:SPEC`` texts as ``kopnet lab up --fault`` takes them."""
    directory = control.resolve_lab_dir(lab_dir)
    control.socket_path(directory)  # fails early when the path is too long for a socket
    chosen = list(villages)
    if not chosen:
        raise LabError("name at least one village to start")
    book = AddressBook(directory / "addresses.json")
    specs: list[DeviceSpec] = []
    for village in chosen:
        specs.extend(village_specs(inventory, village, book, factory_default=factory_default))
    book.save()
    fault_map: dict[str, dict[str, Any]] = {}
    for text in faults:
        host, changes = parse_fault_spec(text)
        if host not in {s.hostname for s in specs}:
            raise LabError(f"fault for unknown device {host!r}")
        fault_map.setdefault(host, {}).update(changes)
    if control.is_running(directory):
        say(f"adding {len(specs)} devices to the running lab in {directory}")
    else:
        pid = spawn_daemon(directory)
        say(f"lab daemon started (pid {pid}) in {directory}")
    answer = control.request(
        directory,
        "add",
        timeout=600.0,
        specs=[spec_to_dict(s) for s in specs],
        faults=fault_map,
        factory_reset=factory_default,
    )
    result = LabUp(directory, chosen, specs)
    result.already_running = list(answer.get("already_running", []))
    if result.already_running:
        note = " (not reset to factory state)" if factory_default else ""
        say(f"  already running{note}: {', '.join(result.already_running)}")
    result.failed = dict(sorted(answer.get("failed", {}).items()))
    for host, reason in result.failed.items():
        warn(f"  {host}: failed to start: {reason}")
    result.rows = wait_ready(directory, {s.hostname for s in specs}, say=say)
    if gateways:
        result.gateway_failures = gateways_up(
            chosen, inventory, directory, explicit=explicit_gateways, say=say, warn=warn
        )
    pin_host_keys(directory, set(chosen), say=say, warn=warn)
    started = [r["hostname"] for r in result.rows if r["state"] == "running"]
    if started:  # readiness probes and host-key pinning are not the user's traffic
        lab_stats(directory, started, reset=True)
    return result


def lab_down(lab_dir: Path | str | None = None, *, warn: Say = _log_warning) -> int | None:
    """Stop the lab daemon of ``lab_dir`` and its gateways; the daemon's pid (None: none ran)."""
    directory = control.resolve_lab_dir(lab_dir)
    pid = control.stop_daemon(directory)
    problem = gateways_down(directory)
    if problem:
        warn(problem)
    return pid


def lab_remove(
    villages: Iterable[str], lab_dir: Path | str | None = None, *, warn: Say = _log_warning
) -> list[str]:
    """Stop the devices (and gateways) of some villages; the hostnames removed."""
    directory = control.resolve_lab_dir(lab_dir)
    chosen = list(villages)
    answer = control.request(directory, "remove", villages=chosen)
    for village in chosen:
        problem = gateways_down(directory, village)
        if problem:
            warn(problem)
    return list(answer.get("removed", []))
