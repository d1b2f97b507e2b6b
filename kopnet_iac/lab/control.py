"""Talking to the lab daemon: lab directory, pid file, JSON-lines control socket.

Requests are one JSON object per line, ``{"op": ..., ...}``; every answer is one JSON object
with ``ok`` (bool) and either the result fields or ``error``. Operations: ``ping``, ``status``,
``add`` (specs + faults), ``remove`` (villages), ``fault`` (host + changes), ``log`` (host),
``stats`` (hosts, reset: wire stats, see :mod:`kopnet_iac.lab.wirestats`), ``stop``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kopnet_iac.errors import LabError

ENV_LAB_DIR = "KOPNET_LAB_DIR"
DEFAULT_LAB_DIR = Path(".kopnet") / "lab"
SOCKET_NAME = "control.sock"
PID_NAME = "daemon.pid"
LOG_NAME = "daemon.log"
# the daemon runs as ``python -m kopnet_iac.cli.main lab daemon --lab-dir DIR``
DAEMON_MARKERS = (b"kopnet_iac", b"\0daemon\0")


def resolve_lab_dir(lab_dir: Path | str | None = None) -> Path:
    """``lab_dir``, else ``$KOPNET_LAB_DIR``, else ``.kopnet/lab`` under the current directory."""
    if lab_dir is None or str(lab_dir) == "":
        lab_dir = os.environ.get(ENV_LAB_DIR) or DEFAULT_LAB_DIR
    return Path(lab_dir).absolute()


def socket_path(lab_dir: Path) -> Path:
    path = lab_dir / SOCKET_NAME
    if len(os.fsencode(path)) > 100:
        raise LabError(f"lab directory path too long for a unix socket: {lab_dir}")
    return path


def request(lab_dir: Path, op: str, *, timeout: float = 30.0, **fields: Any) -> dict[str, Any]:
    """Send one request and return the answer; raises :class:`LabError` when no lab answers
    or the daemon reports an error."""
    path = socket_path(lab_dir)
    payload = (json.dumps({"op": op, **fields}) + "\n").encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(payload)
            buffer = b""
            while not buffer.endswith(b"\n"):
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                buffer += chunk
    except (FileNotFoundError, ConnectionRefusedError) as exc:
        raise LabError(f"no lab running in {lab_dir} (start one with 'kopnet lab up')") from exc
    except OSError as exc:
        raise LabError(f"lab daemon in {lab_dir} did not answer: {exc}") from exc
    try:
        answer = json.loads(buffer)
    except ValueError as exc:
        raise LabError(f"lab daemon in {lab_dir} sent a garbled answer") from exc
    if not isinstance(answer, dict):
        raise LabError(f"lab daemon in {lab_dir} sent a garbled answer")
    if not answer.get("ok"):
        raise LabError(str(answer.get("error", "lab daemon refused the request")))
    return answer


def lab_stats(
    lab_dir: Path | str | None = None, hosts: Iterable[str] | None = None, reset: bool = False
) -> dict[str, dict[str, Any]]:
    """Wire stats of the running lab: hostname -> counters (connections, round_trips,
    bytes_to_device, bytes_from_device, config/read/session_commands, open_connections,
    by_service, connection_log), every device or only ``hosts``; with ``reset`` the counters
    start again from zero after being read. Raises :class:`LabError` when no lab runs or a host
    is unknown."""
    directory = resolve_lab_dir(lab_dir)
    answer = request(directory, "stats", hosts=list(hosts or ()), reset=reset)
    stats = answer.get("stats", {})
    return {str(host): dict(row) for host, row in stats.items()} if isinstance(stats, dict) else {}


def is_running(lab_dir: Path) -> bool:
    try:
        request(lab_dir, "ping", timeout=5.0)
    except LabError:
        return False
    return True


def read_pid(lab_dir: Path) -> int | None:
    try:
        return int((lab_dir / PID_NAME).read_text().strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def is_lab_daemon(pid: int) -> bool:
    """Whether ``pid`` is a lab daemon (so we never signal an unrelated process)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return all(marker in cmdline for marker in DAEMON_MARKERS)


def wait_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)


def stop_daemon(lab_dir: Path, timeout: float = 30.0) -> int | None:
    """Stop the daemon recorded in the pid file: ask politely, then SIGTERM, then SIGKILL.

    Returns the pid that was stopped, None when no daemon was recorded or alive.
    """
    pid = read_pid(lab_dir)
    if pid is None or not pid_alive(pid) or not is_lab_daemon(pid):
        with contextlib.suppress(OSError):
            (lab_dir / PID_NAME).unlink()
        return None
    with contextlib.suppress(LabError):
        request(lab_dir, "stop", timeout=timeout)
    if not wait_exit(pid, timeout):
        for sig in (15, 9):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            if wait_exit(pid, 5.0):
                break
    with contextlib.suppress(OSError):
        (lab_dir / PID_NAME).unlink()
    return pid
