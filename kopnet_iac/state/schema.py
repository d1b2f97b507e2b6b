"""The release store's SQLite schema and its migrations.

One database file, ``state.db`` in the state directory, in WAL mode (readers never block the
writer; any number of processes on one machine share it, but not over a network filesystem),
``synchronous=FULL`` (a journal entry survives a crash of the controller or the machine),
``foreign_keys=ON`` and a busy timeout. Every write runs in a ``BEGIN IMMEDIATE`` transaction.
Times are UTC ISO 8601 text with a ``Z`` (they sort in time order).

Schema (version 3; rollouts in :mod:`kopnet_iac.state.rollouts`)::

    releases      one row per deploy / rollback / replace of a village
      id TEXT PK            "<village>-<YYYYMMDDTHHMMSSZ>-<4 hex>", sorts by time per village
      village, kind         kind in (deploy, rollback, replace)
      operator              who ran it; controller_host, controller_pid: where
      started, finished     finished NULL = begun, never finished ("in doubt")
      git_revision, git_dirty
      source_release        a rollback's release whose intent it re-deploys (FK releases)
      outcome, error        outcome in (confirmed, reverted, no-change, failed, in-doubt)
    blobs         content-addressed texts: sha256 TEXT PK, text  (v2)
    rendered      release_id FK, path ("<hostname>.<ext>"), sha256 FK blobs; PK (release_id, path)
                  rendered configs with @@secret:NAME@@ placeholders, never values
    devices       release_id FK, hostname; PK (release_id, hostname)
      platform, running_before (secrets masked), plan, revert_plan, outcome, operations,
      error, updated
    verification  seq PK, release_id FK, host, check_name, ok (0/1), detail (JSON), at
    journal       seq PK, release_id FK, at, step, host, detail (JSON); append-only
                  (triggers refuse UPDATE and DELETE); written before each step is taken
    locks         village PK, operator, host, pid, pid_start (/proc start time, detects a
                  reused pid), purpose, started, token (only the taker releases its own lock)

Versions are ``PRAGMA user_version``. :data:`MIGRATIONS` holds one function per version, applied
in order, each in its own ``BEGIN IMMEDIATE`` transaction that also sets the version, so a
migration is all or nothing and two processes opening an old database migrate it once.

- v1: releases, rendered (text inline), devices, verification, journal, locks.
- v2: rendered texts moved to ``blobs``, stored once by content: a redeploy with no change, or a
  rollback re-deploying an earlier intent, adds no copy of the configs.
- v3 (additive): fleet rollouts. ``rollouts`` (id PK, operator, started, finished, options
  JSON, waves JSON: the planned villages per wave, outcome, error) and ``rollout_runs`` (seq PK,
  rollout_id FK, attempt, village, wave, status, release_id FK releases NULL, error, started,
  finished): one row per village deploy a rollout started, so which releases belong to it.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

from kopnet_iac.errors import StateError


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _v1(conn: sqlite3.Connection) -> None:
    for statement in (
        """CREATE TABLE releases (
            id TEXT PRIMARY KEY,
            village TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('deploy', 'rollback', 'replace')),
            operator TEXT NOT NULL,
            controller_host TEXT NOT NULL,
            controller_pid INTEGER NOT NULL,
            started TEXT NOT NULL,
            finished TEXT,
            git_revision TEXT,
            git_dirty INTEGER NOT NULL DEFAULT 0,
            source_release TEXT REFERENCES releases(id),
            outcome TEXT CHECK (outcome IN
                ('confirmed', 'reverted', 'no-change', 'failed', 'in-doubt')),
            error TEXT
        )""",
        "CREATE INDEX releases_by_village ON releases (village, started)",
        """CREATE TABLE rendered (
            release_id TEXT NOT NULL REFERENCES releases(id),
            path TEXT NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (release_id, path)
        )""",
        """CREATE TABLE devices (
            release_id TEXT NOT NULL REFERENCES releases(id),
            hostname TEXT NOT NULL,
            platform TEXT NOT NULL,
            running_before TEXT,
            plan TEXT,
            revert_plan TEXT,
            outcome TEXT,
            operations INTEGER,
            error TEXT,
            updated TEXT NOT NULL,
            PRIMARY KEY (release_id, hostname)
        )""",
        """CREATE TABLE verification (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            release_id TEXT NOT NULL REFERENCES releases(id),
            host TEXT,
            check_name TEXT NOT NULL,
            ok INTEGER NOT NULL,
            detail TEXT,
            at TEXT NOT NULL
        )""",
        "CREATE INDEX verification_by_release ON verification (release_id, seq)",
        """CREATE TABLE journal (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            release_id TEXT NOT NULL REFERENCES releases(id),
            at TEXT NOT NULL,
            step TEXT NOT NULL,
            host TEXT,
            detail TEXT
        )""",
        "CREATE INDEX journal_by_release ON journal (release_id, seq)",
        """CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
           BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END""",
        """CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
           BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END""",
        """CREATE TABLE locks (
            village TEXT PRIMARY KEY,
            operator TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            pid_start INTEGER,
            purpose TEXT NOT NULL,
            started TEXT NOT NULL,
            token TEXT NOT NULL
        )""",
    ):
        conn.execute(statement)


def _v2(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, text TEXT NOT NULL)")
    conn.execute(
        """CREATE TABLE rendered_v2 (
            release_id TEXT NOT NULL REFERENCES releases(id),
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL REFERENCES blobs(sha256),
            PRIMARY KEY (release_id, path)
        )"""
    )
    rows = conn.execute("SELECT release_id, path, text FROM rendered").fetchall()
    for release_id, path, text in rows:
        digest = sha256(text)
        conn.execute("INSERT OR IGNORE INTO blobs (sha256, text) VALUES (?, ?)", (digest, text))
        conn.execute(
            "INSERT INTO rendered_v2 (release_id, path, sha256) VALUES (?, ?, ?)",
            (release_id, path, digest),
        )
    conn.execute("DROP TABLE rendered")
    conn.execute("ALTER TABLE rendered_v2 RENAME TO rendered")


def _v3(conn: sqlite3.Connection) -> None:
    conn.execute(
        """CREATE TABLE rollouts (
            id TEXT PRIMARY KEY,
            operator TEXT NOT NULL,
            started TEXT NOT NULL,
            finished TEXT,
            git_revision TEXT,
            options TEXT NOT NULL,
            waves TEXT NOT NULL,
            outcome TEXT,
            error TEXT
        )"""
    )
    conn.execute(
        """CREATE TABLE rollout_runs (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            rollout_id TEXT NOT NULL REFERENCES rollouts(id),
            attempt INTEGER NOT NULL,
            village TEXT NOT NULL,
            wave INTEGER NOT NULL,
            status TEXT NOT NULL,
            release_id TEXT REFERENCES releases(id),
            error TEXT,
            started TEXT NOT NULL,
            finished TEXT
        )"""
    )
    conn.execute("CREATE INDEX rollout_runs_by_rollout ON rollout_runs (rollout_id, seq)")


#: ``MIGRATIONS[n - 1]`` brings a database from version ``n - 1`` to ``n``.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1, _v2, _v3)
LATEST = len(MIGRATIONS)


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, path: Path, target: int = LATEST) -> int:
    """Bring the database at ``path`` to version ``target``; returns the version found.

    ``conn`` is in autocommit mode (``isolation_level=None``). A database written by a newer
    KopNet is refused, never downgraded.
    """
    found = user_version(conn)
    if found > LATEST:
        raise StateError(
            f"{path}: state database is version {found}, this KopNet knows up to {LATEST}; "
            "upgrade KopNet (the file is left as it is)"
        )
    for version in range(found + 1, target + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if user_version(conn) < version:  # another process may have migrated meanwhile
                MIGRATIONS[version - 1](conn)
                conn.execute(f"PRAGMA user_version = {version:d}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return found
