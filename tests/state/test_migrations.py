"""Schema versions: a v1 database is migrated in place, once, all or nothing; newer is refused."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from kopnet_iac.errors import StateError
from kopnet_iac.state import DB_FILE, ReleaseStore
from kopnet_iac.state import schema as schema_mod
from kopnet_iac.state.schema import LATEST, MIGRATIONS, migrate, user_version

CTX = multiprocessing.get_context("fork")
V1_RELEASE = "sukadana-20261101T080000Z-0a1b"


def make_v1(path: Path) -> None:
    """A database as the first released version wrote it, with one finished release."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert migrate(conn, path, target=1) == 0
        assert user_version(conn) == 1
        conn.execute(
            """INSERT INTO releases (id, village, kind, operator, controller_host,
               controller_pid, started, finished, git_revision, git_dirty, outcome)
               VALUES (?, 'sukadana', 'deploy', 'ana', 'noc-1', 77,
               '2026-11-01T08:00:00.000000Z', '2026-11-01T08:03:00.000000Z', 'abc123', 1,
               'confirmed')""",
            (V1_RELEASE,),
        )
        for name, text in (("core-sukadana.rsc", "/system identity\nset name=core\n"),
                           ("sec-sukadana-1.rsc", "/system identity\nset name=core\n"),
                           ("sec-sukadana-2.cfg", "radio.1.freq=5785\n")):  # fmt: skip
            conn.execute(
                "INSERT INTO rendered (release_id, path, text) VALUES (?, ?, ?)",
                (V1_RELEASE, name, text),
            )
        conn.execute(
            "INSERT INTO journal (release_id, at, step, host, detail) VALUES "
            "(?, '2026-11-01T08:00:01.000000Z', 'apply', 'core-sukadana', '{\"n\": 1}')",
            (V1_RELEASE,),
        )
        conn.execute(
            "INSERT INTO devices (release_id, hostname, platform, outcome, operations, updated) "
            "VALUES (?, 'core-sukadana', 'routeros', 'confirmed', 5, "
            "'2026-11-01T08:03:00.000000Z')",
            (V1_RELEASE,),
        )
    finally:
        conn.close()


def test_migrations_are_ordered_and_latest_is_their_count() -> None:
    assert LATEST == len(MIGRATIONS) >= 2
    assert [f.__name__ for f in MIGRATIONS] == [f"_v{n}" for n in range(1, LATEST + 1)]


def test_a_v1_database_is_migrated_and_keeps_its_history(state_dir: Path) -> None:
    path = state_dir / DB_FILE
    make_v1(path)
    with ReleaseStore.open(state_dir) as store:
        release = store.get_release(V1_RELEASE)
        assert release.outcome == "confirmed" and release.git_dirty and release.operator == "ana"
        assert release.rendered == {
            "core-sukadana.rsc": "/system identity\nset name=core\n",
            "sec-sukadana-1.rsc": "/system identity\nset name=core\n",
            "sec-sukadana-2.cfg": "radio.1.freq=5785\n",
        }
        assert release.journal[0]["detail"] == {"n": 1}
        assert release.devices[0]["operations"] == 5
        assert store.last_successful("sukadana") == release
        # the migrated database takes new releases like a fresh one
        with store.lock("sukadana", operator="budi", purpose="deploy"):
            rid = store.begin_release(
                "sukadana", "deploy", operator="budi", git_revision=None, git_dirty=False,
                rendered={"core-sukadana.rsc": "/system identity\nset name=core\n"},
            )  # fmt: skip
        assert [r.id for r in store.releases("sukadana")] == [rid, V1_RELEASE]
    conn = sqlite3.connect(path)
    try:
        assert user_version(conn) == LATEST
        assert conn.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 2  # deduplicated
        columns = [r[1] for r in conn.execute("PRAGMA table_info(rendered)")]
        assert columns == ["release_id", "path", "sha256"]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def _open(state_dir: str, results: Any) -> None:
    try:
        with ReleaseStore.open(Path(state_dir)) as store:
            results.put(len(store.get_release(V1_RELEASE).rendered))
    except BaseException as exc:
        results.put(repr(exc))
    finally:
        results.close()
        results.join_thread()


def test_processes_opening_an_old_database_together_migrate_it_once(state_dir: Path) -> None:
    make_v1(state_dir / DB_FILE)
    results = CTX.Queue()
    procs = [CTX.Process(target=_open, args=(str(state_dir), results)) for _ in range(4)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(60)
    assert outcomes == [3, 3, 3, 3]


def test_a_failing_migration_changes_nothing(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = state_dir / DB_FILE
    ReleaseStore.open(state_dir).close()

    def _v3(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("disk full")

    monkeypatch.setattr(schema_mod, "MIGRATIONS", (*MIGRATIONS, _v3))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            schema_mod.migrate(conn, path, target=LATEST + 1)
        assert user_version(conn) == LATEST
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "half_done" not in tables
    finally:
        conn.close()


def test_a_newer_database_is_refused_and_left_alone(state_dir: Path) -> None:
    path = state_dir / DB_FILE
    ReleaseStore.open(state_dir).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StateError, match=r"version \d+, this KopNet knows up to") as info:
        ReleaseStore.open(state_dir)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before
