"""What the release store hands out: releases, their summaries and village locks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

Kind = Literal["deploy", "rollback", "replace"]
Outcome = Literal["confirmed", "reverted", "no-change", "failed", "in-doubt"]
KINDS: tuple[str, ...] = ("deploy", "rollback", "replace")
OUTCOMES: tuple[str, ...] = ("confirmed", "reverted", "no-change", "failed", "in-doubt")


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_text(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a ``Z``: sorts as text in time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_text(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def format_age(delta: timedelta) -> str:
    """``3d4h``, ``2h5m``, ``4m12s``, ``9s``: two units at most.

    >>> format_age(timedelta(hours=2, minutes=5, seconds=7))
    '2h5m'
    """
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


@dataclass(frozen=True)
class LockInfo:
    """Who holds a village's lock. ``stale``: the holder runs on this host and is gone."""

    village: str
    operator: str
    host: str
    pid: int
    purpose: str
    started: datetime
    stale: bool = False
    token: str = field(default="", repr=False, compare=False)

    def age(self, now: datetime | None = None) -> timedelta:
        return (now or utcnow()) - self.started

    def describe(self, now: datetime | None = None) -> str:
        """One line naming the holder and the lock's age (and staleness)."""
        text = (
            f"held by {self.operator} on {self.host} (pid {self.pid}) for {self.purpose}, "
            f"since {to_text(self.started)[:19]}Z ({format_age(self.age(now))} ago)"
        )
        if self.stale:
            text += f"; STALE: pid {self.pid} is no longer running on {self.host}"
        return text

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        return {
            "village": self.village,
            "operator": self.operator,
            "host": self.host,
            "pid": self.pid,
            "purpose": self.purpose,
            "started": to_text(self.started),
            "age_seconds": round(self.age(now).total_seconds(), 3),
            "stale": self.stale,
        }


@dataclass(frozen=True)
class ReleaseSummary:
    """One line of a village's history (no configs, plans or journal)."""

    id: str
    village: str
    kind: str
    operator: str
    started: datetime
    finished: datetime | None
    git_revision: str | None
    git_dirty: bool
    outcome: str | None
    error: str | None
    source_release: str | None
    controller: str
    devices: int = 0
    operations: int = 0

    @property
    def in_doubt(self) -> bool:
        """Begun and never finished, or finished as ``in-doubt``."""
        return self.finished is None or self.outcome == "in-doubt"

    @property
    def duration(self) -> timedelta | None:
        return None if self.finished is None else self.finished - self.started

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "village": self.village,
            "kind": self.kind,
            "operator": self.operator,
            "controller": self.controller,
            "started": to_text(self.started),
            "finished": to_text(self.finished) if self.finished else None,
            "git_revision": self.git_revision,
            "git_dirty": self.git_dirty,
            "outcome": self.outcome,
            "in_doubt": self.in_doubt,
            "error": self.error,
            "source_release": self.source_release,
            "devices": self.devices,
            "operations": self.operations,
        }


@dataclass(frozen=True)
class Release:
    """A deploy, rollback or replace of one village, with everything recorded about it.

    ``devices``: one dict per device (``hostname``, ``platform``, ``running_before``, ``plan``,
    ``revert_plan``, ``outcome``, ``operations``, ``error``, ``updated``); ``verification``: one
    dict per check (``host``, ``check``, ``ok``, ``detail``, ``at``); ``journal``: one dict per
    step, in order (``seq``, ``at``, ``step``, ``host``, ``detail``).
    """

    id: str
    village: str
    kind: str
    operator: str
    started: datetime
    finished: datetime | None
    git_revision: str | None
    git_dirty: bool
    outcome: str | None
    error: str | None
    rendered: dict[str, str]
    devices: list[dict[str, Any]]
    verification: list[dict[str, Any]]
    journal: list[dict[str, Any]]
    source_release: str | None = None
    controller: str = ""

    @property
    def in_doubt(self) -> bool:
        """Begun and never finished, or finished as ``in-doubt``."""
        return self.finished is None or self.outcome == "in-doubt"

    def device(self, hostname: str) -> dict[str, Any] | None:
        return next((d for d in self.devices if d["hostname"] == hostname), None)

    def as_dict(self, *, rendered: bool = True) -> dict[str, Any]:
        """JSON-ready; ``rendered=False`` lists the rendered files without their text."""
        return {
            "id": self.id,
            "village": self.village,
            "kind": self.kind,
            "operator": self.operator,
            "controller": self.controller,
            "started": to_text(self.started),
            "finished": to_text(self.finished) if self.finished else None,
            "git_revision": self.git_revision,
            "git_dirty": self.git_dirty,
            "source_release": self.source_release,
            "outcome": self.outcome,
            "in_doubt": self.in_doubt,
            "error": self.error,
            "rendered_files": sorted(self.rendered),
            **({"rendered": dict(sorted(self.rendered.items()))} if rendered else {}),
            "devices": self.devices,
            "verification": self.verification,
            "journal": self.journal,
        }
