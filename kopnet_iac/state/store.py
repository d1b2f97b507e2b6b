"""The release store: every deploy, rollback and replace of a village, and the village locks.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp, ReleaseStore.open(Path(tmp)) as store:
...     with store.lock("desa-x", operator="ana", purpose="deploy"):
...         rid = store.begin_release("desa-x", kind="deploy", operator="ana", git_revision="abc",
...                                   git_dirty=False, rendered={"core-desa-x.rsc": "/system identity\\nset name=core-desa-x\\n"})
...         store.journal(rid, "apply", host="core-desa-x")
...         store.finish_release(rid, "confirmed")
...     store.last_successful("desa-x").id == rid
True

Secrets never reach the file: rendered configs must carry placeholders (a sensitive property
with a value in clear is refused), device texts are masked on the way in, and any value the
caller flags (:meth:`ReleaseStore.forbid`, or ``secret_values`` at open) is refused in configs
and redacted from free text (errors, journal and verification details). See
:mod:`kopnet_iac.state.schema` for the layout of the database.
"""

from __future__ import annotations

import difflib
import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from kopnet_iac.errors import StateError
from kopnet_iac.state import locks as _locks
from kopnet_iac.state.database import (
    BUSY_TIMEOUT_S,
    DB_FILE,
    SecretLeakError,
    StateCorruptError,
    StateMissingError,
    UnknownReleaseError,
    connect,
    default_state_dir,
    wrap,
)
from kopnet_iac.state.models import (
    KINDS,
    OUTCOMES,
    LockInfo,
    Release,
    ReleaseSummary,
    to_text,
    utcnow,
)
from kopnet_iac.state.queries import (
    RELEASE_COLUMNS,
    load_release,
    prefixed,
    summary,
    to_json,
)
from kopnet_iac.state.redact import SecretGuard, cleartext_secrets, mask_secrets
from kopnet_iac.state.rollouts import RolloutRecords
from kopnet_iac.state.schema import sha256

log = logging.getLogger(__name__)


def _release_id(village: str, started: str) -> str:
    stamp = started[:19].replace("-", "").replace(":", "") + "Z"  # 20261130T151200Z
    return f"{village}-{stamp}-{secrets.token_hex(2)}"


class ReleaseStore(RolloutRecords):
    """SQLite release store in a state directory; safe across threads and processes.
    Fleet rollouts are recorded beside the releases (:mod:`kopnet_iac.state.rollouts`)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, guard: SecretGuard) -> None:
        self.path = path
        self._conn = conn
        self._guard = guard
        self._mutex = threading.RLock()

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        state_dir: Path | None = None,
        *,
        create: bool = True,
        secret_values: Iterable[str] = (),
        busy_timeout: float = BUSY_TIMEOUT_S,
    ) -> ReleaseStore:
        """Open (creating and migrating as needed) ``state.db`` in ``state_dir``.

        ``state_dir`` None: ``$KOPNET_STATE`` or ``./.kopnet/state``. A file that is not an
        SQLite database, or a damaged one, raises :class:`StateCorruptError` naming it and is
        never overwritten. ``create=False`` raises :class:`StateMissingError` instead of
        creating a database.
        """
        path, conn, found = connect(state_dir, create=create, busy_timeout=busy_timeout)
        log.debug("opened release store %s (schema version %d)", path, found)
        return cls(path, conn, SecretGuard(secret_values))

    def close(self) -> None:
        with self._mutex:
            self._conn.close()

    def __enter__(self) -> ReleaseStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def forbid(self, values: Iterable[str]) -> None:
        """Flag secret values: configs containing one are refused, free text is redacted."""
        self._guard.add(values)

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            try:
                yield self._conn
            except sqlite3.DatabaseError as exc:
                raise wrap(self.path, exc) from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: waits (busy timeout) for other writers."""
        with self._db() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot over several SELECTs."""
        with self._db() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    # -- locks --------------------------------------------------------------------------------

    @contextmanager
    def lock(self, village: str, operator: str, purpose: str) -> Iterator[LockInfo]:
        """Hold ``village``'s lock for the block. Raises :class:`VillageLockedError` (a
        ``LockError``) naming the holder, its host, pid and age, and whether it is stale."""
        with self._write() as conn:
            mine = _locks.take(conn, village, operator, purpose)
        log.info("%s: lock taken by %s (%s)", village, operator, purpose)
        try:
            yield mine
        finally:
            with self._write() as conn:
                released = _locks.give_back(conn, mine)
            if released:
                log.info("%s: lock released", village)
            else:
                log.warning("%s: lock was broken while held; nothing to release", village)

    def list_locks(self) -> list[LockInfo]:
        with self._db() as conn:
            return _locks.read_locks(conn)

    def lock_of(self, village: str) -> LockInfo | None:
        with self._db() as conn:
            return _locks.read_lock(conn, village)

    def break_lock(self, village: str, *, only: LockInfo | None = None) -> LockInfo | None:
        """Remove ``village``'s lock whoever holds it; returns the removed holder or None.
        With ``only``, remove it only if it is still that lock (the one shown to a human)."""
        with self._write() as conn:
            current = _locks.read_lock(conn, village)
            if only is not None and (current is None or current.token != only.token):
                return None
            holder = _locks.remove(conn, village)
        if holder is not None:
            log.warning(
                "%s: lock of %s (pid %d on %s) broken",
                village,
                holder.operator,
                holder.pid,
                holder.host,
            )
        return holder

    # -- writing a release --------------------------------------------------------------------

    def _check_config(self, text: str, what: str, *, village: str, host: str | None) -> None:
        if self._guard.found_in(text):
            raise SecretLeakError(
                f"refusing to store {what}: it contains a value flagged as secret",
                village=village,
                host=host,
                step="record",
            )

    def _village_of(self, conn: sqlite3.Connection, rid: str) -> str:
        row = conn.execute("SELECT village FROM releases WHERE id = ?", (rid,)).fetchone()
        if row is None:
            raise self._unknown(conn, rid)
        return str(row[0])

    def begin_release(
        self,
        village: str,
        kind: str,
        *,
        operator: str,
        git_revision: str | None,
        git_dirty: bool,
        rendered: Mapping[str, str],
        source_release: str | None = None,
    ) -> str:
        """Record a new release of ``village`` (call it holding the village's lock); returns
        its id. ``rendered``: file name -> intended config with secret placeholders."""
        if kind not in KINDS:
            raise StateError(f"unknown release kind {kind!r} (one of {', '.join(KINDS)})")
        for path, text in rendered.items():
            found = cleartext_secrets(text)
            if found:
                line, key = found[0]
                raise SecretLeakError(
                    f"refusing to store rendered {path}: line {line} sets {key} in clear "
                    "(rendered configs carry @@secret:NAME@@ placeholders)",
                    village=village,
                    step="record",
                )
            self._check_config(text, f"rendered {path}", village=village, host=None)
        started = to_text(utcnow())
        with self._write() as conn:
            if source_release is not None:
                self._village_of(conn, source_release)
            rid = _release_id(village, started)
            while conn.execute("SELECT 1 FROM releases WHERE id = ?", (rid,)).fetchone():
                rid = _release_id(village, started)
            conn.execute(
                """INSERT INTO releases (id, village, kind, operator, controller_host,
                   controller_pid, started, git_revision, git_dirty, source_release)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    rid,
                    village,
                    kind,
                    operator,
                    _locks.this_host(),
                    os.getpid(),
                    started,
                    git_revision,
                    int(git_dirty),
                    source_release,
                ),
            )
            for path, text in sorted(rendered.items()):
                digest = sha256(text)
                conn.execute(
                    "INSERT OR IGNORE INTO blobs (sha256, text) VALUES (?, ?)", (digest, text)
                )
                conn.execute(
                    "INSERT INTO rendered (release_id, path, sha256) VALUES (?, ?, ?)",
                    (rid, path, digest),
                )
        log.info("%s: release %s begun (%s by %s)", village, rid, kind, operator)
        return rid

    def journal(
        self, rid: str, step: str, host: str | None = None, detail: Mapping[str, Any] | None = None
    ) -> None:
        """Append a journal entry; call it *before* taking the step (committed on return)."""
        safe = None if detail is None else self._guard.redact_data(dict(detail))
        with self._write() as conn:
            self._village_of(conn, rid)
            conn.execute(
                "INSERT INTO journal (release_id, at, step, host, detail) VALUES (?, ?, ?, ?, ?)",
                (rid, to_text(utcnow()), step, host, to_json(safe)),
            )
        log.debug("%s: journal %s %s", rid, step, host or "")

    def record_device(
        self,
        rid: str,
        hostname: str,
        *,
        platform: str,
        running_before: str | None = None,
        plan: str | None = None,
        revert_plan: str | None = None,
        outcome: str | None = None,
        operations: int | None = None,
        error: str | None = None,
    ) -> None:
        """Create or update a device of a release; ``None`` leaves a field unchanged.
        Texts are stored with sensitive values masked; a flagged secret value that masking does
        not remove (e.g. in a comment) is refused with nothing written."""
        texts: dict[str, str | None] = {
            "running_before": running_before,
            "plan": plan,
            "revert_plan": revert_plan,
        }
        masked: dict[str, str | None] = {}
        with self._write() as conn:
            village = self._village_of(conn, rid)
            for name, text in texts.items():
                masked[name] = None if text is None else mask_secrets(text)
                if masked[name] is not None:  # a flagged value masking did not catch
                    self._check_config(
                        str(masked[name]), f"{name} of {hostname}", village=village, host=hostname
                    )
            conn.execute(
                """INSERT INTO devices (release_id, hostname, platform, running_before, plan,
                       revert_plan, outcome, operations, error, updated)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (release_id, hostname) DO UPDATE SET
                       platform = excluded.platform,
                       running_before = COALESCE(excluded.running_before, running_before),
                       plan = COALESCE(excluded.plan, plan),
                       revert_plan = COALESCE(excluded.revert_plan, revert_plan),
                       outcome = COALESCE(excluded.outcome, outcome),
                       operations = COALESCE(excluded.operations, operations),
                       error = COALESCE(excluded.error, error),
                       updated = excluded.updated""",
                (
                    rid,
                    hostname,
                    platform,
                    masked["running_before"],
                    masked["plan"],
                    masked["revert_plan"],
                    outcome,
                    operations,
                    None if error is None else self._guard.redact(error),
                    to_text(utcnow()),
                ),
            )

    def record_verification(self, rid: str, results: Iterable[Mapping[str, Any]]) -> None:
        """Append check results, each ``{"host", "check", "ok", "detail"}`` (detail: any JSON)."""
        rows = list(results)
        at = to_text(utcnow())
        for row in rows:
            if "check" not in row or "ok" not in row:
                raise StateError(f"{rid}: a verification result needs 'check' and 'ok': {row!r}")
        with self._write() as conn:
            self._village_of(conn, rid)
            for row in rows:
                detail = self._guard.redact_data(row.get("detail"))
                conn.execute(
                    """INSERT INTO verification (release_id, host, check_name, ok, detail, at)
                       VALUES (?, ?, ?, ?, ?, ?)""",
                    (
                        rid,
                        row.get("host"),
                        str(row["check"]),
                        int(bool(row["ok"])),
                        to_json(detail),
                        at,
                    ),
                )

    def finish_release(self, rid: str, outcome: str, error: str | None = None) -> None:
        """Close a release with its outcome. A finished release is final, except ``in-doubt``,
        which a later recovery may replace with what really happened."""
        if outcome not in OUTCOMES:
            raise StateError(f"unknown outcome {outcome!r} (one of {', '.join(OUTCOMES)})")
        with self._write() as conn:
            village = self._village_of(conn, rid)
            (current,) = conn.execute(
                "SELECT outcome FROM releases WHERE id = ?", (rid,)
            ).fetchone()
            if current is not None and current != "in-doubt":
                raise StateError(f"release {rid} is already finished ({current})", village=village)
            conn.execute(
                "UPDATE releases SET finished = ?, outcome = ?, error = ? WHERE id = ?",
                (
                    to_text(utcnow()),
                    outcome,
                    None if error is None else self._guard.redact(error),
                    rid,
                ),
            )
        log.info("%s: release %s %s", village, rid, outcome)

    # -- reading ------------------------------------------------------------------------------

    def _unknown(self, conn: sqlite3.Connection, rid: str) -> UnknownReleaseError:
        ids = [str(r[0]) for r in conn.execute("SELECT id FROM releases").fetchall()]
        close = difflib.get_close_matches(rid, ids, n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return UnknownReleaseError(f"unknown release {rid!r} in {self.path}{hint}")

    def get_release(self, rid: str) -> Release:
        """Everything recorded about a release; :class:`UnknownReleaseError` if none."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {RELEASE_COLUMNS} FROM releases WHERE id = ?", (rid,)
            ).fetchone()
            if row is None:
                raise self._unknown(conn, rid)
            return load_release(conn, row)

    def releases(self, village: str | None = None, *, limit: int | None = None) -> list[Release]:
        """Releases (of ``village``, or all), newest first, with everything recorded."""
        where, args = ("WHERE village = ?", [village]) if village is not None else ("", [])
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {RELEASE_COLUMNS} FROM releases {where} "
                f"ORDER BY started DESC, id DESC LIMIT ?",
                (*args, -1 if limit is None else limit),
            ).fetchall()
            return [load_release(conn, row) for row in rows]

    def history(
        self, village: str | None = None, *, limit: int | None = None
    ) -> list[ReleaseSummary]:
        """Release summaries (no configs, plans or journal), newest first."""
        where, args = ("WHERE r.village = ?", [village]) if village is not None else ("", [])
        with self._read() as conn:
            rows = conn.execute(
                f"""SELECT {prefixed("r.")}, COUNT(d.hostname), COALESCE(SUM(d.operations), 0)
                    FROM releases r LEFT JOIN devices d ON d.release_id = r.id {where}
                    GROUP BY r.id ORDER BY r.started DESC, r.id DESC LIMIT ?""",
                (*args, -1 if limit is None else limit),
            ).fetchall()
        return [summary(row[:-2], devices=int(row[-2]), operations=int(row[-1])) for row in rows]

    def last_successful(self, village: str) -> Release | None:
        """The newest release that ended ``confirmed`` (or ``no-change`` with configs)."""
        with self._read() as conn:
            row = conn.execute(
                f"""SELECT {RELEASE_COLUMNS} FROM releases r WHERE village = ? AND (
                        outcome = 'confirmed' OR (outcome = 'no-change' AND EXISTS (
                            SELECT 1 FROM rendered WHERE release_id = r.id)))
                    ORDER BY started DESC, id DESC LIMIT 1""",
                (village,),
            ).fetchone()
            return None if row is None else load_release(conn, row)

    def unfinished(self, village: str) -> list[Release]:
        """Releases of ``village`` begun and never finished, newest first. Read while holding
        the village's lock and before beginning a release of your own, every one of them is
        in doubt: its controller is gone, and the devices say what really happened."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {RELEASE_COLUMNS} FROM releases WHERE village = ? AND finished IS NULL "
                "ORDER BY started DESC, id DESC",
                (village,),
            ).fetchall()
            return [load_release(conn, row) for row in rows]

    def villages(self) -> list[str]:
        with self._db() as conn:
            rows = conn.execute("SELECT DISTINCT village FROM releases ORDER BY village")
            return [str(r[0]) for r in rows.fetchall()]


__all__ = [
    "DB_FILE",
    "ReleaseStore",
    "SecretLeakError",
    "StateCorruptError",
    "StateMissingError",
    "UnknownReleaseError",
    "default_state_dir",
]
