"""Small system helpers of the namespace lab: commands, lab slots, processes by recorded PID."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kopnet_iac.errors import LabError

log = logging.getLogger(__name__)

# Host-wide registry of lab slots (one file per slot): namespace names and addresses derive from
# the slot, so two labs never use the same names. /run is cleared at boot, like namespaces.
SLOTS_DIR = Path("/run/kopnet-gwlab/slots")


def run(argv: Sequence[str], *, check: bool = True, timeout: float = 30.0) -> str:
    """Run a command, return its stdout; LabError naming the command on failure."""
    try:
        proc = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise LabError(f"{argv[0]} not installed (scripts/setup installs it as root)") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"`{' '.join(argv)}` timed out after {timeout:.0f}s") from exc
    if check and proc.returncode != 0:
        raise LabError(f"`{' '.join(argv)}` failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def netns_exists(name: str) -> bool:
    return Path("/run/netns", name).exists()


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


# --------------------------------------------------------------------------- slots


def claim_slot(owner: str, limit: int, slots_dir: Path = SLOTS_DIR) -> int:
    """Claim the lowest free slot (atomic file creation); the file records ``owner`` (the lab
    record path). A slot whose owner record no longer exists is stale and reused."""
    slots_dir.mkdir(parents=True, exist_ok=True)
    for slot in range(limit):
        path = slots_dir / str(slot)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if _slot_stale(path):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                except FileExistsError:
                    continue
            else:
                continue
        with os.fdopen(fd, "w") as handle:
            handle.write(owner)
        return slot
    raise LabError(f"all {limit} lab gateway slots are in use")


def _slot_stale(path: Path) -> bool:
    try:
        owner = path.read_text().strip()
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return False
    if age < 60:  # an owner may be between claiming the slot and writing its record
        return False
    return not owner or not Path(owner).exists()


def release_slot(slot: int, owner: str, slots_dir: Path = SLOTS_DIR) -> None:
    """Free ``slot`` if ``owner`` still holds it."""
    path = slots_dir / str(slot)
    try:
        if path.read_text().strip() == owner:
            path.unlink()
    except FileNotFoundError:
        pass


# --------------------------------------------------------------------------- processes


@dataclass(frozen=True)
class ProcessRef:
    """A process identified by PID *and* start time, so a reused PID is never signalled."""

    name: str
    pid: int
    start: int

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "pid": self.pid, "start": self.start}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ProcessRef:
        return cls(str(data["name"]), int(str(data["pid"])), int(str(data["start"])))


def start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot, or None when it does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # the command name is in parentheses and may contain spaces: split after the last ')'
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) < 20 or fields[0] == "Z":
        return None
    return int(fields[19])


def process_ref(name: str, pid: int) -> ProcessRef:
    start = start_time(pid)
    if start is None:
        raise LabError(f"{name} (pid {pid}) exited right after starting")
    return ProcessRef(name, pid, start)


def alive(ref: ProcessRef) -> bool:
    return start_time(ref.pid) == ref.start


def netns_pids(namespace: str) -> list[int]:
    """PIDs of every process inside a network namespace (``ip netns pids``)."""
    if not netns_exists(namespace):
        return []
    out = run(["ip", "netns", "pids", namespace], check=False)
    return [int(word) for word in out.split() if word.isdigit()]


def _reap(pid: int) -> None:
    # the process may be our own child (started by this Python process): collect it
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def terminate(refs: Iterable[ProcessRef], timeout: float = 3.0) -> None:
    """SIGTERM the given processes (only if still the same process), SIGKILL after ``timeout``."""
    pending = [ref for ref in refs if alive(ref)]
    for ref in pending:
        log.debug("stopping %s (pid %d)", ref.name, ref.pid)
        _signal(ref.pid, signal.SIGTERM)
    pending = _wait_gone(pending, timeout)
    for ref in pending:
        log.warning("%s (pid %d) ignored SIGTERM, killing it", ref.name, ref.pid)
        _signal(ref.pid, signal.SIGKILL)
    _wait_gone(pending, timeout)


def _wait_gone(refs: list[ProcessRef], timeout: float) -> list[ProcessRef]:
    """Reap and wait up to ``timeout`` for ``refs`` to end; return those still alive."""
    pending = refs
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for ref in pending:
            _reap(ref.pid)
        pending = [ref for ref in pending if alive(ref)]
        if pending:
            time.sleep(0.05)
    return pending


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except OSError as exc:
        if exc.errno != errno.ESRCH:
            raise
