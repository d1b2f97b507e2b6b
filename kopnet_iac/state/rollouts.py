"""Fleet rollouts in the release store: which villages a rollout planned in which wave, and
every village deploy it started (with the release that deploy recorded).

A run row is written *before* a village's deploy starts (status ``running``) and updated when it
ends, so a controller that stops mid-rollout leaves the rollout resumable: ``running`` rows are
villages whose deploy was interrupted (their own release, if any, is in doubt and resolved by
the next deploy of the village).
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from kopnet_iac.errors import StateError
from kopnet_iac.state.models import to_text, utcnow
from kopnet_iac.state.queries import from_json, to_json

#: statuses of a village in a rollout
RUN_STATUSES = ("running", "confirmed", "no-change", "reverted", "failed", "not-started")
#: a village with one of these needs nothing more
DONE = ("confirmed", "no-change")


class UnknownRolloutError(StateError):
    """No rollout has this id."""


@dataclass(frozen=True)
class RolloutRun:
    """One village deploy started by a rollout (``attempt`` 1, then 2 after a resume ...)."""

    village: str
    attempt: int
    wave: int
    status: str
    release: str | None
    error: str | None
    started: str
    finished: str | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Rollout:
    """A recorded rollout: its plan (villages per wave), options and every village run."""

    id: str
    operator: str
    started: str
    finished: str | None
    git_revision: str | None
    options: dict[str, Any]
    waves: list[list[str]]
    outcome: str | None
    error: str | None
    runs: list[RolloutRun] = field(default_factory=list)

    def latest(self) -> dict[str, RolloutRun]:
        """Each village's latest run."""
        out: dict[str, RolloutRun] = {}
        for run in self.runs:
            out[run.village] = run
        return out

    def releases(self) -> list[str]:
        """Every release that belongs to the rollout, in the order they were started."""
        return [r.release for r in self.runs if r.release]

    def pending(self) -> list[list[str]]:
        """The waves with only the villages still to deploy (not confirmed / no change)."""
        latest = self.latest()
        waves = [
            [v for v in wave if v not in latest or latest[v].status not in DONE]
            for wave in self.waves
        ]
        return [w for w in waves if w]

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "runs"}
        data["runs"] = [r.to_json() for r in self.runs]
        data["releases"] = self.releases()
        return data


def _rollout_id(started: str) -> str:
    stamp = started[:19].replace("-", "").replace(":", "") + "Z"
    return f"rollout-{stamp}-{secrets.token_hex(2)}"


class RolloutRecords:
    """Rollout methods of :class:`~kopnet_iac.state.store.ReleaseStore` (a mixin: the store
    provides the transactions and the secret guard)."""

    _guard: Any
    # provided by the store: a write transaction (BEGIN IMMEDIATE) and a read connection
    _write: Callable[[], AbstractContextManager[sqlite3.Connection]]
    _read: Callable[[], AbstractContextManager[sqlite3.Connection]]

    def begin_rollout(
        self,
        *,
        operator: str,
        waves: list[list[str]],
        options: Mapping[str, Any],
        git_revision: str | None = None,
    ) -> str:
        """Record a new rollout with its planned waves; returns its id."""
        started = to_text(utcnow())
        with self._write() as conn:
            rid = _rollout_id(started)
            while conn.execute("SELECT 1 FROM rollouts WHERE id = ?", (rid,)).fetchone():
                rid = _rollout_id(started)
            conn.execute(
                """INSERT INTO rollouts (id, operator, started, git_revision, options, waves)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (rid, operator, started, git_revision, to_json(dict(options)), to_json(waves)),
            )
        return rid

    def start_run(self, rollout: str, village: str, *, wave: int, attempt: int) -> int:
        """Record that ``village``'s deploy starts now (before it starts); returns the run."""
        with self._write() as conn:
            self._rollout_exists(conn, rollout)
            cursor = conn.execute(
                """INSERT INTO rollout_runs (rollout_id, attempt, village, wave, status, started)
                   VALUES (?, ?, ?, ?, 'running', ?)""",
                (rollout, attempt, village, wave, to_text(utcnow())),
            )
            return int(cursor.lastrowid or 0)

    def finish_run(
        self, run: int, status: str, *, release: str | None = None, error: str | None = None
    ) -> None:
        """Record how a village's deploy ended (``release``: the release it recorded)."""
        if status not in RUN_STATUSES:
            raise StateError(f"unknown rollout status {status!r} ({', '.join(RUN_STATUSES)})")
        with self._write() as conn:
            conn.execute(
                """UPDATE rollout_runs SET status = ?, release_id = ?, error = ?, finished = ?
                   WHERE seq = ?""",
                (
                    status,
                    release,
                    None if error is None else self._guard.redact(error),
                    to_text(utcnow()),
                    run,
                ),
            )

    def skip_village(self, rollout: str, village: str, *, wave: int, attempt: int) -> None:
        """Record a village the rollout did not start (it stopped first)."""
        now = to_text(utcnow())
        with self._write() as conn:
            conn.execute(
                """INSERT INTO rollout_runs (rollout_id, attempt, village, wave, status,
                       started, finished) VALUES (?, ?, ?, ?, 'not-started', ?, ?)""",
                (rollout, attempt, village, wave, now, now),
            )

    def finish_rollout(self, rollout: str, outcome: str, error: str | None = None) -> None:
        """Close (or, after a resume, close again) a rollout with its outcome."""
        with self._write() as conn:
            self._rollout_exists(conn, rollout)
            conn.execute(
                "UPDATE rollouts SET finished = ?, outcome = ?, error = ? WHERE id = ?",
                (
                    to_text(utcnow()),
                    outcome,
                    None if error is None else self._guard.redact(error),
                    rollout,
                ),
            )

    def get_rollout(self, rollout: str) -> Rollout:
        """Everything recorded about a rollout; :class:`UnknownRolloutError` if none."""
        with self._read() as conn:
            row = conn.execute(
                """SELECT id, operator, started, finished, git_revision, options, waves,
                   outcome, error FROM rollouts WHERE id = ?""",
                (rollout,),
            ).fetchone()
            if row is None:
                known = [str(r[0]) for r in conn.execute("SELECT id FROM rollouts ORDER BY id")]
                hint = f" (known: {', '.join(known[-5:])})" if known else " (none recorded)"
                raise UnknownRolloutError(f"unknown rollout {rollout!r}{hint}", step="select")
            runs = conn.execute(
                """SELECT village, attempt, wave, status, release_id, error, started, finished
                   FROM rollout_runs WHERE rollout_id = ? ORDER BY seq""",
                (rollout,),
            ).fetchall()
        return Rollout(
            id=str(row[0]),
            operator=str(row[1]),
            started=str(row[2]),
            finished=row[3],
            git_revision=row[4],
            options=dict(from_json(row[5]) or {}),
            waves=[list(w) for w in from_json(row[6]) or []],
            outcome=row[7],
            error=row[8],
            runs=[RolloutRun(*r) for r in runs],
        )

    def rollouts(self) -> list[str]:
        """Rollout ids, newest first."""
        with self._read() as conn:
            rows = conn.execute("SELECT id FROM rollouts ORDER BY started DESC, id DESC")
            return [str(r[0]) for r in rows.fetchall()]

    @staticmethod
    def _rollout_exists(conn: sqlite3.Connection, rollout: str) -> None:
        if not conn.execute("SELECT 1 FROM rollouts WHERE id = ?", (rollout,)).fetchone():
            raise UnknownRolloutError(f"unknown rollout {rollout!r}", step="select")


def iter_statuses(rollout: Rollout) -> Iterator[tuple[str, str]]:
    """``(village, status)`` for every planned village, in plan order (``planned``: never
    started)."""
    latest = rollout.latest()
    for wave in rollout.waves:
        for village in wave:
            yield village, latest[village].status if village in latest else "planned"


__all__ = [
    "DONE",
    "RUN_STATUSES",
    "Rollout",
    "RolloutRecords",
    "RolloutRun",
    "UnknownRolloutError",
    "iter_statuses",
]
