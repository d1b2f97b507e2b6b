"""Configuration backups as git history (as Oxidized keeps them).

``<state>/backups`` is a git repository with one file per device,
``<village>/<hostname>.rsc`` (RouterOS) or ``.cfg`` (airOS), each the device's running
configuration normalised (:mod:`kopnet_iac.fleet.normalise`: volatile lines out, secrets
masked). One run reads every device of the chosen villages in parallel (one
``get_config`` each: login + one read) and makes one commit with what changed, so
``git log -p <village>/<hostname>.rsc`` shows what changed on a device and when. A run where
nothing changed makes no commit.

A Linux gateway is a folder, ``<village>/<hostname>/<path on the gateway>``: every file the
gateway role manages, read over one SSH session (:mod:`kopnet_iac.fleet.gateway`), secrets
as their placeholders; a file no longer on the gateway is removed from the folder.

A device that cannot be read is reported and its file left as it was; the others are kept.
A backup folder that is not a healthy git repository is refused before any device is read,
and nothing in it is touched.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nornir.core.task import Result, Task

from kopnet_iac.errors import KopnetError
from kopnet_iac.fleet.gateway import (
    GATEWAY_PLATFORM,
    GatewayOutcome,
    backup_files,
    read_gateways,
)
from kopnet_iac.fleet.normalise import normalise
from kopnet_iac.fleet.reading import (
    DeviceProgress,
    check_villages,
    fleet_devices,
    fleet_nornir,
    read_devices,
)

log = logging.getLogger(__name__)

BACKUP_DIR = "backups"
EXTENSIONS = {"routeros": "rsc", "airos": "cfg"}
_GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "KopNet backup",
    "GIT_AUTHOR_EMAIL": "kopnet@localhost",
    "GIT_COMMITTER_NAME": "KopNet backup",
    "GIT_COMMITTER_EMAIL": "kopnet@localhost",
}


class BackupError(KopnetError):
    """The backup repository cannot be used (named, with the reason); nothing was changed."""


@dataclass
class DeviceBackup:
    """One device in a backup run. ``status``: changed | unchanged | new | unreachable |
    failed | skipped."""

    village: str
    hostname: str
    platform: str
    status: str
    path: str = ""
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class BackupReport:
    repository: str
    commit: str | None = None
    message: str = ""
    devices: list[DeviceBackup] = field(default_factory=list)

    def count(self, *statuses: str) -> int:
        return sum(1 for d in self.devices if d.status in statuses)

    @property
    def unreachable(self) -> list[DeviceBackup]:
        return [d for d in self.devices if d.status in ("unreachable", "failed")]

    def to_json(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "commit": self.commit,
            "message": self.message,
            "devices": [d.to_json() for d in self.devices],
        }


# --------------------------------------------------------------------------- the repository


class BackupRepo:
    """The git repository of backups (the ``git`` command, no other dependency)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **_GIT_ENV}
        try:
            result = subprocess.run(
                ["git", f"--git-dir={self.path / '.git'}", f"--work-tree={self.path}", *args],
                capture_output=True,
                text=True,
                env=env,
                timeout=300,
                check=False,
            )
        except OSError as exc:
            raise BackupError(f"{self.path}: cannot run git: {exc}") from exc
        if check and result.returncode != 0:
            reason = (result.stderr or result.stdout).strip().splitlines()
            raise BackupError(
                f"{self.path}: git {args[0]} failed: {reason[-1] if reason else result.returncode}"
            )
        return result

    def open(self) -> None:
        """Create the repository if the folder is new or empty; refuse one that is not a
        healthy git repository (:class:`BackupError`, nothing touched)."""
        if self.path.exists() and not self.path.is_dir():
            raise BackupError(f"{self.path}: not a folder; it was left as it is")
        dot_git = self.path / ".git"
        if not dot_git.exists():
            if self.path.exists() and any(self.path.iterdir()):
                raise BackupError(
                    f"{self.path}: not a git repository but not empty; it was left as it is: "
                    "move it away to start a new backup history"
                )
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.git("init", "-q", "-b", "main")
            return
        self._check()

    def _check(self) -> None:
        damaged = (
            f"{self.path}: the backup repository is damaged; it was left as it is: restore it "
            "from a copy or move it away to start a new history"
        )
        probe = self.git("rev-parse", "--git-dir", check=False)
        if probe.returncode != 0:
            raise BackupError(f"{damaged} ({_last_line(probe)})")
        head = self.git("rev-parse", "--verify", "-q", "HEAD", check=False)
        if head.returncode == 0:
            tree = self.git("ls-tree", "-r", "-z", "HEAD", check=False)
            status = self.git("status", "--porcelain", check=False)
            for result in (tree, status):
                if result.returncode != 0:
                    raise BackupError(f"{damaged} ({_last_line(result)})")
        else:
            unborn = self.git("symbolic-ref", "-q", "HEAD", check=False)
            refs = self.git("for-each-ref", "--count=1", check=False)
            if unborn.returncode != 0 or refs.returncode != 0 or refs.stdout.strip():
                raise BackupError(f"{damaged} (HEAD does not name a commit)")

    def commit(self, paths: Sequence[str], message: str) -> str | None:
        """Commit ``paths`` (relative) if any changed; returns the commit id or None."""
        if not paths:
            return None
        self.git("add", "--", *paths)
        staged = self.git("diff", "--cached", "--quiet", "--", *paths, check=False)
        if staged.returncode == 0:
            return None
        self.git("commit", "-q", "-m", message, "--", *paths)
        return self.git("rev-parse", "HEAD").stdout.strip()


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = (result.stderr or result.stdout).strip().splitlines()
    return lines[-1] if lines else f"git exit {result.returncode}"


# --------------------------------------------------------------------------- the run


def fetch_config(task: Task) -> Result:
    """Nornir task: the running configuration, secrets masked by the driver
    (``get_config(retrieve="running", sanitized=True)``). Payload ``{"running"}``."""
    from kopnet_iac.deploy.tasks import _call, device
    from kopnet_iac.errors import ConnectError

    driver = device(task, "backup")
    config = _call(
        task,
        "backup",
        ConnectError,
        lambda: driver.get_config(retrieve="running", sanitized=True),
    )
    return Result(host=task.host, result={"running": str(config.get("running", ""))})


def backup_villages(
    inventory_dir: Path,
    villages: Sequence[str],
    *,
    state_dir: Path | None = None,
    lab_dir: Path | None = None,
    progress: DeviceProgress | None = None,
    operator: str = "",
    workers: int = 32,
) -> BackupReport:
    """Back up every device of ``villages`` (see the module docstring)."""
    import getpass

    from kopnet_iac.inventory.loader import load_inventory
    from kopnet_iac.state.database import default_state_dir

    inv = load_inventory(inventory_dir)
    chosen = check_villages(inv, villages)
    repo = BackupRepo((state_dir if state_dir is not None else default_state_dir()) / BACKUP_DIR)
    repo.open()  # refused before any device is read
    devices = fleet_devices(inv, chosen)
    nr = fleet_nornir(inventory_dir, chosen, lab_dir=lab_dir, workers=workers, progress=progress)
    outcomes, skipped = read_devices(nr, devices, "backup", fetch_config)
    report = BackupReport(str(repo.path))
    written: list[str] = []
    gateways = read_gateways(
        inv, [d for d in devices if d.platform == GATEWAY_PLATFORM], lab_dir, progress, workers
    )
    for device in devices:
        row = DeviceBackup(device.village, device.hostname, device.platform, "skipped")
        report.devices.append(row)
        if device.hostname in gateways:
            written += _store_gateway(repo, row, gateways[device.hostname])
            continue
        if device.hostname in skipped:
            row.error = skipped[device.hostname]
            continue
        out = outcomes[device.hostname]
        relative = f"{device.village}/{device.hostname}.{EXTENSIONS[device.platform]}"
        row.path = relative
        if not out.ok:
            from kopnet_iac.fleet.reading import is_unreachable

            row.status = "unreachable" if is_unreachable(out.error) else "failed"
            row.error = out.message()
            continue
        text = normalise(device.platform, str(out.payload["running"]))
        target = repo.path / relative
        before = target.read_text(encoding="utf-8") if target.is_file() else None
        row.status = "new" if before is None else "unchanged" if before == text else "changed"
        if before != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(target)
            written.append(relative)
    report.message = commit_message(report, operator or getpass.getuser())
    report.commit = repo.commit(written, report.message)
    log.info("backup: %d device(s), %d file(s) changed", len(devices), len(written))
    return report


def _store_gateway(repo: BackupRepo, row: DeviceBackup, out: GatewayOutcome) -> list[str]:
    """Write a gateway's files under ``<village>/<hostname>/`` (files no longer on the gateway
    are removed); returns the relative paths that changed."""
    row.path = f"{row.village}/{row.hostname}/"
    if out.status != "ok":
        row.status, row.error = out.status, out.error
        return []
    folder = repo.path / row.village / row.hostname
    before = {
        str(p.relative_to(repo.path)): p.read_text(encoding="utf-8")
        for p in (folder.rglob("*") if folder.is_dir() else [])
        if p.is_file()
    }
    changed = []
    files = backup_files(row.village, row.hostname, out.files)
    for relative, text in files.items():
        if before.get(relative) != text:
            target = repo.path / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(target)
            changed.append(relative)
    for relative in sorted(set(before) - set(files)):
        (repo.path / relative).unlink()
        if repo.git("ls-files", "--error-unmatch", "--", relative, check=False).returncode == 0:
            changed.append(relative)  # tracked: its removal is committed
    row.status = "new" if not before else "changed" if changed else "unchanged"
    return changed


def commit_message(report: BackupReport, operator: str) -> str:
    """``backup: 2 changed, 1 new, 9 unchanged, 1 unreachable`` and one line per device that
    changed or could not be read."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    counts = [
        f"{report.count(s)} {s}"
        for s in ("changed", "new", "unchanged", "unreachable", "failed")
        if report.count(s)
    ]
    villages = sorted({d.village for d in report.devices})
    head = f"backup {stamp}: {', '.join(counts) or 'nothing read'}"
    body = [f"villages: {', '.join(villages)}", f"by: {operator}", ""]
    for device in report.devices:
        if device.status in ("changed", "new"):
            body.append(f"{device.status}: {device.village}/{device.hostname}")
        elif device.status in ("unreachable", "failed"):
            body.append(f"{device.status}: {device.village}/{device.hostname}: {device.error}")
    return "\n".join([head, "", *body]).rstrip() + "\n"


__all__ = [
    "BACKUP_DIR",
    "BackupError",
    "BackupRepo",
    "BackupReport",
    "DeviceBackup",
    "backup_villages",
    "commit_message",
    "fetch_config",
]
