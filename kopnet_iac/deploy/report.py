"""What a deploy reports: progress events while it runs, and the final :class:`DeployReport`.

Library code reports progress through a callback (:data:`Progress`); the CLI renders the events
(rich on a terminal, plain lines otherwise). :class:`NornirProgress` is the Nornir processor
that turns per-host task starts and ends into the same events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nornir.core.inventory import Host
from nornir.core.task import AggregatedResult, MultiResult, Task

from kopnet_iac.deploy.verify import CheckOutcome

#: final outcomes of a deploy (and their exit codes in the CLI)
OUTCOMES = ("confirmed", "reverted", "no-change", "failed", "planned")


@dataclass(frozen=True)
class ProgressEvent:
    """``step`` of the transaction on ``host`` (None: the village) reached ``status``."""

    step: str
    status: str  # start | ok | changed | unchanged | failed | skipped | info
    host: str | None = None
    detail: str = ""


Progress = Callable[[ProgressEvent], None]


def no_progress(event: ProgressEvent) -> None:
    """The default callback: report nothing."""


class NornirProgress:
    """Nornir processor forwarding per-host task starts/ends to a :data:`Progress` callback."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def task_started(self, task: Task) -> None:
        return None

    def task_completed(self, task: Task, result: AggregatedResult) -> None:
        return None

    def task_instance_started(self, task: Task, host: Host) -> None:
        if task.name.startswith("close_connections"):
            return
        self.progress(ProgressEvent(task.name, "start", host.name))

    def task_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        if task.name.startswith("close_connections"):
            return
        if result.failed:
            exc = result[0].exception
            self.progress(ProgressEvent(task.name, "failed", host.name, str(exc or "")))
        else:
            self.progress(ProgressEvent(task.name, "ok", host.name))

    def subtask_instance_started(self, task: Task, host: Host) -> None:
        return None

    def subtask_instance_completed(self, task: Task, host: Host, result: MultiResult) -> None:
        return None


@dataclass
class DeviceReport:
    """One device in a deploy. ``outcome``: unchanged | planned | confirmed | reverted | failed
    | skipped | not-applied (the transaction stopped before its turn); ``operations``:
    configuration operations sent to the device."""

    hostname: str
    platform: str
    role: str
    rank: int = 0
    diff: str = ""  # secrets masked
    changed: bool = False
    planned_operations: int = 0
    operations: int = 0
    outcome: str = "unchanged"
    error: str = ""
    restored: bool | None = None  # after a revert: running config equals the pre-deploy one

    def to_json(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "platform": self.platform,
            "role": self.role,
            "changed": self.changed,
            "planned_operations": self.planned_operations,
            "operations": self.operations,
            "outcome": self.outcome,
            "error": self.error,
            "restored": self.restored,
            "diff": self.diff,
        }


@dataclass
class DeployReport:
    """The result of ``kopnet deploy`` / ``rollback``; ``outcome`` is one of :data:`OUTCOMES`."""

    village: str
    kind: str = "deploy"
    release: str | None = None
    outcome: str = "failed"
    dry_run: bool = False
    devices: list[DeviceReport] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)
    error: str = ""
    revert_in: int = 0
    recovered: list[dict[str, Any]] = field(default_factory=list)  # in-doubt releases resolved

    @property
    def failed_checks(self) -> list[CheckOutcome]:
        return [c for c in self.checks if not c.ok]

    def device(self, hostname: str) -> DeviceReport:
        return next(d for d in self.devices if d.hostname == hostname)

    def to_json(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "village": self.village,
            "kind": self.kind,
            "outcome": self.outcome,
            "dry_run": self.dry_run,
            "error": self.error,
            "revert_in": self.revert_in,
            "devices": [d.to_json() for d in self.devices],
            "checks": [c.to_json() for c in self.checks],
            "failed_checks": [f"{c.host}/{c.check}" for c in self.failed_checks],
            "recovered": self.recovered,
        }


__all__ = [
    "OUTCOMES",
    "DeployReport",
    "DeviceReport",
    "NornirProgress",
    "Progress",
    "ProgressEvent",
    "no_progress",
]
