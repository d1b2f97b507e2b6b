"""The state database file: where it lives, opening it safely, and its errors.

A file that does not start with SQLite's magic string is refused before SQLite opens it, so
nothing is ever written into a file that is not ours; SQLite errors that say the file is
damaged become :class:`StateCorruptError`, naming the file.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

from kopnet_iac.errors import StateError
from kopnet_iac.state.schema import migrate

log = logging.getLogger(__name__)

DB_FILE = "state.db"
DEFAULT_STATE_DIR = Path(".kopnet") / "state"
BUSY_TIMEOUT_S = 30.0
_SQLITE_MAGIC = b"SQLite format 3\x00"
# Files whose header this process has read. Closing any descriptor of a database file drops
# every POSIX lock the process holds on it, those of its open SQLite connections too, so the
# header is read once, before the first connection, never beside an open one.
_CHECKED: set[Path] = set()
_CHECKED_LOCK = threading.Lock()


class UnknownReleaseError(StateError):
    """No release has this id."""


class StateCorruptError(StateError):
    """The state database file is damaged or not a database; it is left untouched."""


class StateMissingError(StateError):
    """No state database exists (opened without ``create``)."""


class SecretLeakError(StateError):
    """A text to store carries a secret in clear; nothing was written."""


def default_state_dir() -> Path:
    """``$KOPNET_STATE``, else ``./.kopnet/state``."""
    return Path(os.environ.get("KOPNET_STATE") or DEFAULT_STATE_DIR)


def _open_file(
    path: Path, directory: Path, *, create: bool, busy_timeout: float
) -> sqlite3.Connection:
    if path.exists():
        if path.absolute() not in _CHECKED:
            check_header(path)
    elif not create:
        raise StateMissingError(f"{path}: no state database (nothing recorded yet)")
    else:
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # operators only
        except OSError as exc:
            raise StateError(f"{directory}: cannot create the state directory: {exc}") from exc
    try:
        conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise StateError(f"{path}: cannot open the state database: {exc}") from exc
    _CHECKED.add(path.absolute())
    return conn


def connect(
    state_dir: Path | None, *, create: bool, busy_timeout: float
) -> tuple[Path, sqlite3.Connection, int]:
    """Open ``state.db`` in ``state_dir`` (default :func:`default_state_dir`) in autocommit
    mode, WAL, ``synchronous=FULL``, foreign keys on, migrated to the latest schema.
    Returns the file, the connection and the schema version found."""
    directory = state_dir if state_dir is not None else default_state_dir()
    path = directory / DB_FILE
    with _CHECKED_LOCK:
        conn = _open_file(path, directory, create=create, busy_timeout=busy_timeout)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000):d}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("%s: journal mode %s, not WAL", path, mode)
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        found = migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise wrap(path, exc) from exc
    except BaseException:
        conn.close()
        raise
    return path, conn, found


_CORRUPT_MARKERS = ("not a database", "malformed", "corrupt", "encrypted")


def wrap(path: Path, exc: sqlite3.DatabaseError) -> StateError:
    reason = str(exc)
    if any(marker in reason.lower() for marker in _CORRUPT_MARKERS):
        return StateCorruptError(
            f"{path}: the state database is damaged ({reason}); it was left as it is: restore it "
            "from a backup or move it away to start a new history"
        )
    return StateError(f"{path}: {reason}")


def check_header(path: Path) -> None:
    """A non-empty file must start with SQLite's magic string (checked before SQLite opens it,
    so nothing is ever written to a file that is not ours)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise StateError(f"{path}: cannot read the state database: {exc}") from exc
    if head and head != _SQLITE_MAGIC:
        raise StateCorruptError(
            f"{path}: not an SQLite database; it was left as it is: move it away or point "
            "--state (KOPNET_STATE) at another directory"
        )
