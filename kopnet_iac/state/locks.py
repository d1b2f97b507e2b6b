"""Village locks: one row per locked village in the ``locks`` table.

Taking a lock is one ``BEGIN IMMEDIATE`` transaction (SQLite's write lock serialises it across
processes and hosts sharing the file): read the village's row, refuse if there is one, insert
ours. The primary key makes two holders impossible even without the read. A lock whose holder
is gone (its pid is not running on this host, or was reused by another process) is reported as
stale, never taken over: only :meth:`ReleaseStore.break_lock` removes someone else's lock.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
from datetime import datetime

from kopnet_iac.errors import LockError
from kopnet_iac.state.models import LockInfo, from_text, to_text, utcnow


class VillageLockedError(LockError):
    """The village is locked by someone else; ``holder`` says who, since when, and if stale."""

    def __init__(self, holder: LockInfo, now: datetime | None = None) -> None:
        self.holder = holder
        hint = (
            f"; if no deploy or rollback of {holder.village} is running, "
            f"remove it with: kopnet lock break {holder.village}"
            if holder.stale
            else ""
        )
        super().__init__(
            f"locked: {holder.describe(now)}{hint}", village=holder.village, step="lock"
        )


def this_host() -> str:
    return socket.gethostname()


def process_start(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (Linux ``/proc``), None if unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    try:
        return None if fields[0] == "Z" else int(fields[19])  # field 22 of stat(5)
    except (IndexError, ValueError):
        return None


def process_alive(pid: int, started: int | None) -> bool:
    """Whether ``pid`` still runs on this host and is the same process (not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    now = process_start(pid)
    if os.path.exists(f"/proc/{pid}") and now is None:
        return False  # a zombie: exited, not yet reaped
    return started is None or now is None or now == started


def _row_to_lock(row: sqlite3.Row | tuple[object, ...], host: str) -> LockInfo:
    village, operator, holder_host, pid, pid_start, purpose, started, token = row
    stale = str(holder_host) == host and not process_alive(
        int(str(pid)), None if pid_start is None else int(str(pid_start))
    )
    return LockInfo(
        village=str(village),
        operator=str(operator),
        host=str(holder_host),
        pid=int(str(pid)),
        purpose=str(purpose),
        started=from_text(str(started)),
        stale=stale,
        token=str(token),
    )


_COLUMNS = "village, operator, host, pid, pid_start, purpose, started, token"


def read_lock(conn: sqlite3.Connection, village: str) -> LockInfo | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM locks WHERE village = ?", (village,)).fetchone()
    return None if row is None else _row_to_lock(row, this_host())


def read_locks(conn: sqlite3.Connection) -> list[LockInfo]:
    host = this_host()
    rows = conn.execute(f"SELECT {_COLUMNS} FROM locks ORDER BY village").fetchall()
    return [_row_to_lock(row, host) for row in rows]


def take(conn: sqlite3.Connection, village: str, operator: str, purpose: str) -> LockInfo:
    """Insert our lock row; ``conn`` is inside a ``BEGIN IMMEDIATE`` transaction."""
    holder = read_lock(conn, village)
    if holder is not None:
        raise VillageLockedError(holder)
    pid = os.getpid()
    mine = LockInfo(
        village=village,
        operator=operator,
        host=this_host(),
        pid=pid,
        purpose=purpose,
        started=utcnow(),
        token=secrets.token_hex(16),
    )
    conn.execute(
        f"INSERT INTO locks ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            village,
            operator,
            mine.host,
            pid,
            process_start(pid),
            purpose,
            to_text(mine.started),
            mine.token,
        ),
    )
    return mine


def give_back(conn: sqlite3.Connection, lock: LockInfo) -> bool:
    """Delete our own lock row (by token); False when it was broken meanwhile."""
    cursor = conn.execute(
        "DELETE FROM locks WHERE village = ? AND token = ?", (lock.village, lock.token)
    )
    return cursor.rowcount == 1


def remove(conn: sqlite3.Connection, village: str) -> LockInfo | None:
    """Delete whoever's lock on ``village``; returns what was removed."""
    holder = read_lock(conn, village)
    if holder is not None:
        conn.execute("DELETE FROM locks WHERE village = ?", (village,))
    return holder
