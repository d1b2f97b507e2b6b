"""The release store's API: releases, devices, verification, journal, queries."""

from __future__ import annotations

import doctest
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from kopnet_iac.cli import state_cmds
from kopnet_iac.errors import KopnetError, StateError
from kopnet_iac.state import (
    DB_FILE,
    Release,
    ReleaseStore,
    StateMissingError,
    UnknownReleaseError,
    default_state_dir,
)
from kopnet_iac.state import models as models_mod
from kopnet_iac.state import redact as redact_mod
from kopnet_iac.state import store as store_mod
from tests.state.conftest import CFG, RSC, begin


def test_a_release_round_trips_everything(store: ReleaseStore) -> None:
    rid = begin(store)
    store.journal(rid, "plan", host="core-desa-x", detail={"operations": 3})
    store.record_device(
        rid,
        "core-desa-x",
        platform="routeros",
        running_before="/system identity\nset name=MikroTik\n",
        plan="/system identity\nset name=core-desa-x\n",
        revert_plan="/system identity\nset name=MikroTik\n",
    )
    store.journal(rid, "apply", host="core-desa-x")
    store.record_device(rid, "core-desa-x", platform="routeros", outcome="applied", operations=1)
    store.record_verification(
        rid,
        [
            {"host": "core-desa-x", "check": "identity", "ok": True, "detail": "core-desa-x"},
            {"host": None, "check": "village-reachable", "ok": True, "detail": {"rtt_ms": 600}},
        ],
    )
    store.journal(rid, "confirm", host="core-desa-x")
    store.finish_release(rid, "confirmed")

    release = store.get_release(rid)
    assert isinstance(release, Release)
    assert (release.id, release.village, release.kind, release.operator) == (
        rid,
        "desa-x",
        "deploy",
        "ana",
    )
    assert release.git_revision == "0123abcd" and release.git_dirty is False
    assert release.outcome == "confirmed" and release.error is None
    assert release.finished is not None and release.finished >= release.started
    assert not release.in_doubt
    assert release.rendered == {"core-desa-x.rsc": RSC, "sec-desa-x-1.cfg": CFG}
    assert release.controller == f"{os.uname().nodename}:{os.getpid()}"
    (device,) = release.devices
    assert device["hostname"] == "core-desa-x" and device["platform"] == "routeros"
    assert device["running_before"] == "/system identity\nset name=MikroTik\n"
    assert device["plan"] == "/system identity\nset name=core-desa-x\n"
    assert device["outcome"] == "applied" and device["operations"] == 1  # upsert kept the texts
    assert release.device("core-desa-x") == device and release.device("nope") is None
    assert [(v["check"], v["ok"]) for v in release.verification] == [
        ("identity", True),
        ("village-reachable", True),
    ]
    assert release.verification[1]["detail"] == {"rtt_ms": 600}
    assert [(j["step"], j["host"]) for j in release.journal] == [
        ("plan", "core-desa-x"),
        ("apply", "core-desa-x"),
        ("confirm", "core-desa-x"),
    ]
    assert release.journal[0]["detail"] == {"operations": 3}
    seqs = [j["seq"] for j in release.journal]
    assert seqs == sorted(seqs)
    assert [j["at"] for j in release.journal] == sorted(j["at"] for j in release.journal)


def test_release_ids_are_human_and_sortable(store: ReleaseStore) -> None:
    rid = begin(store, village="sukadana")
    village, stamp, suffix = rid.rsplit("-", 2)
    assert village == "sukadana"
    assert len(stamp) == 16 and stamp[8] == "T" and stamp.endswith("Z")
    assert len(suffix) == 4 and int(suffix, 16) >= 0
    ids = [begin(store, village="sukadana") for _ in range(3)]
    assert len({rid, *ids}) == 4


def test_releases_newest_first_and_per_village(store: ReleaseStore) -> None:
    a1 = begin(store, village="a")
    b1 = begin(store, village="b")
    a2 = begin(store, village="a")
    assert [r.id for r in store.releases("a")] == [a2, a1]
    assert [r.id for r in store.releases()] == [a2, b1, a1]
    assert [r.id for r in store.releases(limit=1)] == [a2]
    assert store.releases("nobody") == []
    assert store.villages() == ["a", "b"]
    summaries = store.history("a")
    assert [s.id for s in summaries] == [a2, a1]
    assert summaries[0].in_doubt and summaries[0].duration is None


def test_history_counts_devices_and_operations(store: ReleaseStore) -> None:
    rid = begin(store)
    store.record_device(rid, "core-desa-x", platform="routeros", operations=4)
    store.record_device(rid, "sec-desa-x-1", platform="airos", operations=2)
    store.finish_release(rid, "confirmed")
    (summary,) = store.history("desa-x")
    assert (summary.devices, summary.operations, summary.outcome) == (2, 6, "confirmed")
    assert summary.duration is not None and summary.as_dict()["operations"] == 6


def test_last_successful_skips_failures_and_empty_no_change(store: ReleaseStore) -> None:
    assert store.last_successful("desa-x") is None
    good = begin(store)
    store.finish_release(good, "confirmed")
    bad = begin(store)
    store.finish_release(bad, "reverted", error="verify: bgp-established failed")
    empty = begin(store, rendered={})
    store.finish_release(empty, "no-change")
    last = store.last_successful("desa-x")
    assert last is not None and last.id == good
    same = begin(store)
    store.finish_release(same, "no-change")
    last = store.last_successful("desa-x")
    assert last is not None and last.id == same
    assert store.get_release(bad).error == "verify: bgp-established failed"


def test_unfinished_releases_are_in_doubt(store: ReleaseStore) -> None:
    done = begin(store)
    store.finish_release(done, "confirmed")
    crashed = begin(store)
    store.journal(crashed, "apply", host="core-desa-x")
    other = begin(store, village="elsewhere")
    (doubt,) = store.unfinished("desa-x")
    assert doubt.id == crashed and doubt.in_doubt and doubt.outcome is None
    assert [r.id for r in store.unfinished("elsewhere")] == [other]
    store.finish_release(crashed, "in-doubt", error="controller lost")
    assert store.get_release(crashed).in_doubt and store.unfinished("desa-x") == []
    store.finish_release(crashed, "reverted")  # recovery records what really happened
    assert store.get_release(crashed).outcome == "reverted"
    with pytest.raises(StateError, match="already finished"):
        store.finish_release(crashed, "confirmed")


def test_rollback_names_its_source_release(store: ReleaseStore) -> None:
    first = begin(store)
    store.finish_release(first, "confirmed")
    back = begin(store, kind="rollback", source_release=first)
    assert store.get_release(back).source_release == first
    assert store.get_release(back).kind == "rollback"
    with pytest.raises(UnknownReleaseError):
        begin(store, kind="rollback", source_release="desa-x-19990101T000000Z-0000")


def test_bad_arguments_are_refused(store: ReleaseStore) -> None:
    with pytest.raises(StateError, match="unknown release kind"):
        begin(store, kind="upgrade")
    rid = begin(store)
    with pytest.raises(StateError, match="unknown outcome"):
        store.finish_release(rid, "great")
    with pytest.raises(StateError, match="needs 'check' and 'ok'"):
        store.record_verification(rid, [{"host": "h"}])


def test_unknown_release_everywhere(store: ReleaseStore) -> None:
    rid = begin(store)
    missing = rid[:-1] + ("0" if rid[-1] != "0" else "1")
    with pytest.raises(UnknownReleaseError, match=f"did you mean {rid}"):
        store.get_release(missing)
    for call in (
        lambda: store.journal("nope", "apply"),
        lambda: store.record_device("nope", "h", platform="routeros"),
        lambda: store.record_verification("nope", [{"check": "c", "ok": True}]),
        lambda: store.finish_release("nope", "confirmed"),
    ):
        with pytest.raises(UnknownReleaseError, match="unknown release 'nope'"):
            call()
    assert isinstance(UnknownReleaseError("x"), KopnetError)


def test_journal_is_append_only_in_the_database(store: ReleaseStore, state_dir: Path) -> None:
    rid = begin(store)
    store.journal(rid, "apply")
    conn = sqlite3.connect(state_dir / DB_FILE)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE journal SET step = 'nothing happened'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM journal")
    finally:
        conn.close()
    assert [j["step"] for j in store.get_release(rid).journal] == ["apply"]


def test_journal_entry_is_committed_before_the_call_returns(
    store: ReleaseStore, state_dir: Path
) -> None:
    """Another process reading the file sees the entry at once (it is written before the step)."""
    rid = begin(store)
    store.journal(rid, "arm-revert", host="core-desa-x", detail={"revert_in": 300})
    with ReleaseStore.open(state_dir) as other:
        (entry,) = other.get_release(rid).journal
    assert entry["step"] == "arm-revert" and entry["detail"] == {"revert_in": 300}


def test_rendered_configs_are_stored_once_by_content(store: ReleaseStore, state_dir: Path) -> None:
    for _ in range(5):
        begin(store)
    conn = sqlite3.connect(state_dir / DB_FILE)
    try:
        assert conn.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 2
        assert conn.execute("SELECT COUNT(*) FROM rendered").fetchone()[0] == 10
    finally:
        conn.close()


def test_wal_mode_and_busy_timeout(store: ReleaseStore, state_dir: Path) -> None:
    conn = sqlite3.connect(state_dir / DB_FILE)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    assert store._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_threads_share_one_store(store: ReleaseStore) -> None:
    """Deploy tasks run in threads (Nornir): every write lands, none is lost."""
    rid = begin(store)
    hosts = [f"sec-desa-x-{i}" for i in range(8)]

    def work(host: str) -> None:
        for step in ("plan", "arm", "apply", "verify"):
            store.journal(rid, step, host=host)
        store.record_device(rid, host, platform="airos", outcome="applied", operations=2)

    threads = [threading.Thread(target=work, args=(h,)) for h in hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    release = store.get_release(rid)
    assert len(release.journal) == 32
    assert sorted(d["hostname"] for d in release.devices) == sorted(hosts)


def test_default_state_dir_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KOPNET_STATE", raising=False)
    assert default_state_dir() == Path(".kopnet/state")
    monkeypatch.setenv("KOPNET_STATE", str(tmp_path / "elsewhere"))
    assert default_state_dir() == tmp_path / "elsewhere"
    with ReleaseStore.open(None) as store:
        assert store.path == tmp_path / "elsewhere" / DB_FILE
    assert (tmp_path / "elsewhere" / DB_FILE).is_file()


def test_a_new_state_directory_is_private(store: ReleaseStore, state_dir: Path) -> None:
    assert state_dir.stat().st_mode & 0o077 == 0


def test_open_without_create_does_not_create(tmp_path: Path) -> None:
    with pytest.raises(StateMissingError, match="no state database"):
        ReleaseStore.open(tmp_path / "none", create=False)
    assert not (tmp_path / "none").exists()


def test_as_dict_is_json_ready(store: ReleaseStore) -> None:
    rid = begin(store)
    data = store.get_release(rid).as_dict(rendered=False)
    assert data["rendered_files"] == ["core-desa-x.rsc", "sec-desa-x-1.cfg"]
    assert "rendered" not in data and data["in_doubt"] is True
    assert store.get_release(rid).as_dict()["rendered"]["sec-desa-x-1.cfg"] == CFG


@pytest.mark.parametrize("module", [store_mod, models_mod, redact_mod, state_cmds])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0
