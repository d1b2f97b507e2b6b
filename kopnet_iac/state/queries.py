"""Rows of the state database turned into releases (read side of the store)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from kopnet_iac.state.models import Release, ReleaseSummary, from_text


def to_json(data: Any) -> str | None:
    return None if data is None else json.dumps(data, sort_keys=True, default=str)


def from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def load_release(conn: sqlite3.Connection, row: tuple[Any, ...]) -> Release:
    """A whole release from its ``releases`` row (columns :data:`RELEASE_COLUMNS`)."""
    head = summary(row)
    rid = head.id
    rendered = {
        str(path): str(text)
        for path, text in conn.execute(
            "SELECT r.path, b.text FROM rendered r JOIN blobs b ON b.sha256 = r.sha256 "
            "WHERE r.release_id = ? ORDER BY r.path",
            (rid,),
        )
    }
    devices = [
        dict(zip(DEVICE_COLUMNS, r, strict=True))
        for r in conn.execute(
            f"SELECT {', '.join(DEVICE_COLUMNS)} FROM devices WHERE release_id = ? "
            "ORDER BY hostname",
            (rid,),
        )
    ]
    verification = [
        {"host": host, "check": check, "ok": bool(ok), "detail": from_json(detail), "at": at}
        for host, check, ok, detail, at in conn.execute(
            "SELECT host, check_name, ok, detail, at FROM verification WHERE release_id = ? "
            "ORDER BY seq",
            (rid,),
        )
    ]
    journal = [
        {"seq": seq, "at": at, "step": step, "host": host, "detail": from_json(detail)}
        for seq, at, step, host, detail in conn.execute(
            "SELECT seq, at, step, host, detail FROM journal WHERE release_id = ? ORDER BY seq",
            (rid,),
        )
    ]
    return Release(
        id=rid,
        village=head.village,
        kind=head.kind,
        operator=head.operator,
        started=head.started,
        finished=head.finished,
        git_revision=head.git_revision,
        git_dirty=head.git_dirty,
        outcome=head.outcome,
        error=head.error,
        rendered=rendered,
        devices=devices,
        verification=verification,
        journal=journal,
        source_release=head.source_release,
        controller=head.controller,
    )


RELEASE_NAMES = (
    "id",
    "village",
    "kind",
    "operator",
    "controller_host",
    "controller_pid",
    "started",
    "finished",
    "git_revision",
    "git_dirty",
    "source_release",
    "outcome",
    "error",
)
RELEASE_COLUMNS = ", ".join(RELEASE_NAMES)
DEVICE_COLUMNS = (
    "hostname",
    "platform",
    "outcome",
    "operations",
    "error",
    "running_before",
    "plan",
    "revert_plan",
    "updated",
)


def prefixed(prefix: str) -> str:
    return ", ".join(prefix + name for name in RELEASE_NAMES)


def summary(row: tuple[Any, ...], *, devices: int = 0, operations: int = 0) -> ReleaseSummary:
    values = dict(zip(RELEASE_NAMES, row, strict=True))
    return ReleaseSummary(
        id=values["id"],
        village=values["village"],
        kind=values["kind"],
        operator=values["operator"],
        started=from_text(values["started"]),
        finished=from_text(values["finished"]) if values["finished"] else None,
        git_revision=values["git_revision"],
        git_dirty=bool(values["git_dirty"]),
        outcome=values["outcome"],
        error=values["error"],
        source_release=values["source_release"],
        controller=f"{values['controller_host']}:{values['controller_pid']}",
        devices=devices,
        operations=operations,
    )
