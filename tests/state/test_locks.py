"""Village locks across threads and real processes: one holder, named; stale reported, not taken."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import sqlite3
import threading
import time
from contextlib import ExitStack
from datetime import timedelta
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import pytest

from kopnet_iac.errors import LockError
from kopnet_iac.state import DB_FILE, ReleaseStore, VillageLockedError
from kopnet_iac.state.locks import process_alive, process_start
from kopnet_iac.state.models import to_text, utcnow

CTX = multiprocessing.get_context("fork")


def test_second_taker_is_refused_with_the_holder_named(store: ReleaseStore) -> None:
    with store.lock("desa-x", operator="ana", purpose="deploy") as held:
        assert (held.village, held.operator, held.pid) == ("desa-x", "ana", os.getpid())
        assert held.host == socket.gethostname() and not held.stale
        with (
            pytest.raises(VillageLockedError) as info,
            store.lock("desa-x", operator="budi", purpose="rollback"),
        ):
            pytest.fail("second holder")
        assert isinstance(info.value, LockError)
        message = str(info.value)
        assert message.startswith("desa-x/lock: locked: held by ana on ")
        assert f"(pid {os.getpid()}) for deploy" in message and "ago)" in message
        assert "STALE" not in message
        assert info.value.holder.operator == "ana"
        (listed,) = store.list_locks()
        assert listed == held
        with store.lock("other-village", operator="budi", purpose="deploy"):
            assert [lock.village for lock in store.list_locks()] == ["desa-x", "other-village"]
    assert store.list_locks() == []
    with store.lock("desa-x", operator="budi", purpose="rollback"):
        assert store.lock_of("desa-x") is not None


def test_lock_is_released_when_the_block_raises(store: ReleaseStore) -> None:
    with pytest.raises(RuntimeError), store.lock("desa-x", operator="ana", purpose="deploy"):
        raise RuntimeError("apply failed")
    assert store.list_locks() == []


def _insert_lock(state_dir: Path, **values: Any) -> None:
    row = {
        "village": "desa-x",
        "operator": "citra",
        "host": "noc-laptop-7",
        "pid": 4242,
        "pid_start": None,
        "purpose": "deploy",
        "started": to_text(utcnow() - timedelta(hours=2, minutes=5)),
        "token": "t",
    }
    row.update(values)
    conn = sqlite3.connect(state_dir / DB_FILE)
    try:
        with conn:
            conn.execute(
                f"INSERT INTO locks ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                tuple(row.values()),
            )
    finally:
        conn.close()


def test_a_lock_held_on_another_host_names_host_and_age(
    store: ReleaseStore, state_dir: Path
) -> None:
    _insert_lock(state_dir)
    with (
        pytest.raises(VillageLockedError) as info,
        store.lock("desa-x", operator="ana", purpose="deploy"),
    ):
        pass
    message = str(info.value)
    assert "held by citra on noc-laptop-7 (pid 4242) for deploy" in message
    assert "(2h5m ago)" in message
    assert not info.value.holder.stale  # another host: cannot tell, so never called stale


def _hold_lock(state_dir: Path, village: str, ready: Event, then: Event) -> None:
    with ReleaseStore.open(state_dir) as store, store.lock(village, "dewi", "deploy"):
        ready.set()
        then.wait(60)
    os._exit(0)


def test_a_dead_holder_is_reported_stale_and_never_taken(
    store: ReleaseStore, state_dir: Path
) -> None:
    ready, never = CTX.Event(), CTX.Event()
    child = CTX.Process(target=_hold_lock, args=(state_dir, "desa-x", ready, never))
    child.start()
    assert ready.wait(60)
    assert child.pid is not None
    holder = store.lock_of("desa-x")
    assert holder is not None and holder.pid == child.pid and not holder.stale
    os.kill(child.pid, signal.SIGKILL)  # the controller dies holding the lock
    child.join(60)

    for _ in range(2):  # asking twice changes nothing: a stale lock is not taken over
        with (
            pytest.raises(VillageLockedError) as info,
            store.lock("desa-x", operator="ana", purpose="deploy"),
        ):
            pytest.fail("took a stale lock")
        assert info.value.holder.stale and info.value.holder.pid == child.pid
        message = str(info.value)
        assert f"STALE: pid {child.pid} is no longer running" in message
        assert "kopnet lock break desa-x" in message
    (listed,) = store.list_locks()
    assert listed.stale and listed.as_dict()["stale"] is True

    broken = store.break_lock("desa-x")
    assert broken is not None and broken.pid == child.pid and broken.operator == "dewi"
    assert store.break_lock("desa-x") is None
    with store.lock("desa-x", operator="ana", purpose="deploy"):
        pass


def test_a_zombie_or_reused_pid_counts_as_gone() -> None:
    start = process_start(os.getpid())
    assert start is not None and process_alive(os.getpid(), start)
    assert not process_alive(os.getpid(), start + 1)  # same pid, another process
    child = CTX.Process(target=os._exit, args=(0,))
    child.start()
    assert child.pid is not None
    # not joined yet: once it exits it is a zombie until reaped, which must read as gone
    stat = Path(f"/proc/{child.pid}/stat")
    deadline = time.monotonic() + 60
    while stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "child did not exit"
        threading.Event().wait(0.01)
    assert not process_alive(child.pid, None)
    child.join(60)
    assert not process_alive(child.pid, None)


def test_breaking_a_held_lock_does_not_let_the_old_holder_free_the_new_one(
    store: ReleaseStore, state_dir: Path
) -> None:
    with ReleaseStore.open(state_dir) as other, ExitStack() as ana:
        ana.enter_context(store.lock("desa-x", operator="ana", purpose="deploy"))
        broken = other.break_lock("desa-x")
        assert broken is not None and broken.operator == "ana"
        with other.lock("desa-x", operator="budi", purpose="deploy"):
            ana.close()  # ana's deploy ends after its lock was broken and retaken
            holder = other.lock_of("desa-x")
            assert holder is not None and holder.operator == "budi"
        assert other.list_locks() == []


def test_taking_a_lock_waits_for_another_writer(store: ReleaseStore, state_dir: Path) -> None:
    conn = sqlite3.connect(state_dir / DB_FILE, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    outcome: list[str] = []

    def take() -> None:
        with store.lock("desa-x", operator="ana", purpose="deploy"):
            outcome.append("taken")

    worker = threading.Thread(target=take)
    worker.start()
    conn.execute("COMMIT")
    conn.close()
    worker.join(60)
    assert outcome == ["taken"]


def _race(state_dir: str, village: str, start: Event, release: Event, results: Any) -> None:
    try:
        with ReleaseStore.open(Path(state_dir)) as store:
            start.wait(60)
            try:
                with store.lock(village, operator=f"op-{os.getpid()}", purpose="deploy"):
                    results.put(("won", os.getpid(), None))
                    release.wait(60)
            except VillageLockedError as exc:
                results.put(("refused", os.getpid(), exc.holder.pid))
    except BaseException as exc:  # report, never hang the parent
        results.put(("error", os.getpid(), repr(exc)))
    finally:
        results.close()
        results.join_thread()


@pytest.mark.parametrize("round_", range(3))
def test_processes_racing_for_a_lock_exactly_one_wins(state_dir: Path, round_: int) -> None:
    ReleaseStore.open(state_dir).close()  # created (and migrated) once, as a real fleet's is
    start, release = CTX.Event(), CTX.Event()
    results = CTX.Queue()
    racers = [
        CTX.Process(target=_race, args=(str(state_dir), "desa-x", start, release, results))
        for _ in range(6)
    ]
    for racer in racers:
        racer.start()
    try:
        start.set()
        outcomes = [results.get(timeout=120) for _ in racers]
    finally:
        release.set()
        for racer in racers:
            racer.join(60)
    assert [o for o in outcomes if o[0] == "error"] == []
    winners = [o for o in outcomes if o[0] == "won"]
    assert len(winners) == 1, outcomes
    winner_pid = winners[0][1]
    refused = [o for o in outcomes if o[0] == "refused"]
    assert len(refused) == 5 and {o[2] for o in refused} == {winner_pid}
    with ReleaseStore.open(state_dir) as store:
        assert store.list_locks() == []  # the winner released it


def _crash_mid_deploy(state_dir: Path, applied: Event) -> None:
    store = ReleaseStore.open(state_dir)
    lock = store.lock("desa-x", operator="eka", purpose="deploy")
    lock.__enter__()
    rid = store.begin_release(
        "desa-x",
        "deploy",
        operator="eka",
        git_revision="f00",
        git_dirty=False,
        rendered={"core-desa-x.rsc": "/system note\n"},
    )
    store.journal(rid, "arm-revert", host="core-desa-x", detail={"revert_in": 300})
    store.journal(rid, "apply", host="core-desa-x")
    applied.set()
    threading.Event().wait(120)  # "applying" until killed


def test_a_controller_killed_mid_deploy_leaves_the_release_in_doubt(
    store: ReleaseStore, state_dir: Path
) -> None:
    """What the next deploy finds: the release unfinished, its journal up to the last step
    announced, and the village lock of a dead process, reported stale."""
    applied = CTX.Event()
    child = CTX.Process(target=_crash_mid_deploy, args=(state_dir, applied))
    child.start()
    assert applied.wait(60) and child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(60)
    (doubt,) = store.unfinished("desa-x")
    assert doubt.in_doubt and doubt.operator == "eka"
    assert doubt.controller.endswith(f":{child.pid}")
    assert [(j["step"], j["host"]) for j in doubt.journal] == [
        ("arm-revert", "core-desa-x"),
        ("apply", "core-desa-x"),
    ]
    holder = store.lock_of("desa-x")
    assert holder is not None and holder.stale and holder.operator == "eka"
    store.break_lock("desa-x", only=holder)
    with store.lock("desa-x", operator="ana", purpose="recover"):
        store.finish_release(doubt.id, "reverted", error="device-side revert fired")
    assert store.unfinished("desa-x") == []
