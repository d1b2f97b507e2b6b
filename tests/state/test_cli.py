"""``kopnet history``, ``kopnet show``, ``kopnet lock list|break``: output and exit codes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kopnet_iac.cli import state_cmds
from kopnet_iac.cli.main import cli
from kopnet_iac.state import DB_FILE, ReleaseStore
from kopnet_iac.state.schema import LATEST
from tests.conftest import REPO_ROOT
from tests.state.conftest import CANARY, begin
from tests.state.test_locks import _insert_lock


def kopnet(*args: str, state: Path | None = None, input: str | None = None) -> Result:
    extra = ["--state", str(state)] if state is not None else []
    return CliRunner().invoke(cli, [*args, *extra], input=input)


def _recorded(store: ReleaseStore) -> tuple[str, str]:
    """A confirmed deploy and an unfinished one (in doubt) of desa-x."""
    good = begin(store, git_revision="589bad1e5fe0d2", git_dirty=True)
    store.journal(good, "read-running", host="core-desa-x", detail={"bytes": 2048})
    store.journal(good, "arm-revert", host="core-desa-x", detail={"revert_in": 300})
    store.journal(good, "apply", host="core-desa-x")
    store.record_device(
        good,
        "core-desa-x",
        platform="routeros",
        running_before="/system identity\nset name=MikroTik\n",
        plan=f'/user\nset [ find name=noc ] password="{CANARY}"\n/system identity\nset name=core-desa-x\n',
        revert_plan="/system identity\nset name=MikroTik\n",
        outcome="confirmed",
        operations=2,
    )
    store.record_device(good, "sec-desa-x-1", platform="airos", outcome="no-change", operations=0)
    store.record_verification(
        good, [{"host": "core-desa-x", "check": "identity", "ok": True, "detail": "core-desa-x"}]
    )
    store.finish_release(good, "confirmed")
    doubt = begin(store)
    store.journal(doubt, "apply", host="core-desa-x")
    return good, doubt


def test_commands_are_registered() -> None:
    result = kopnet("--help")
    for name in ("history", "show", "lock"):
        assert f"  {name} " in result.output
    assert "--state DIR" in kopnet("history", "--help").output
    assert "KOPNET_STATE" in kopnet("lock", "list", "--help").output


def test_history_lists_releases_newest_first(store: ReleaseStore, state_dir: Path) -> None:
    good, doubt = _recorded(store)
    result = kopnet("history", "desa-x", state=state_dir)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["release", "kind", "started", "(UTC)", "took", "operator", "git",
                                "devices", "ops", "outcome"]  # fmt: skip
    assert lines[1].startswith(doubt) and lines[1].endswith("IN-DOUBT")
    assert lines[2].startswith(good) and lines[2].endswith("confirmed")
    assert "589bad1e5fe0 +dirty" in lines[2] and "  2  " in lines[2]  # devices
    assert "1 release(s) in doubt" in result.output

    data = json.loads(kopnet("history", "desa-x", "--json", state=state_dir).output)
    assert [r["id"] for r in data] == [doubt, good]
    assert data[1]["outcome"] == "confirmed" and data[1]["operations"] == 2
    assert data[0]["in_doubt"] is True and data[0]["finished"] is None
    limited = json.loads(
        kopnet("history", "desa-x", "--json", "--limit", "1", state=state_dir).output
    )
    assert [r["id"] for r in limited] == [doubt]
    other = kopnet("history", "elsewhere", state=state_dir)
    assert other.exit_code == 0 and "no releases of elsewhere recorded" in other.output
    far = begin(store, village="far-away")
    every = json.loads(kopnet("history", "--json", state=state_dir).output)
    assert [r["id"] for r in every] == [far, doubt, good]


def test_show_tells_the_whole_story_with_secrets_masked(
    store: ReleaseStore, state_dir: Path
) -> None:
    good, _ = _recorded(store)
    result = kopnet("show", good, state=state_dir)
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith(f"release {good}: deploy of desa-x: confirmed\n")
    assert "589bad1e5fe0d2 (dirty tree)" in out and "ana (controller " in out
    steps = [line.split()[4] for line in out.split("timeline")[1].split("devices:")[0]
             .splitlines()[2:] if line.strip()]  # fmt: skip
    assert steps == ["read-running", "arm-revert", "apply"]
    assert "revert_in=300" in out
    assert "core-desa-x   routeros  confirmed  2" in out
    assert "sec-desa-x-1  airos     no-change  0" in out
    assert "core-desa-x  identity  ok      core-desa-x" in out
    assert "--- plan of core-desa-x\n/user\nset [ find name=noc ] password=***\n" in out
    assert "--- revert plan of core-desa-x" in out
    assert CANARY not in out
    assert "--- rendered" not in out
    assert (
        "--- rendered core-desa-x.rsc" in kopnet("show", good, "--rendered", state=state_dir).output
    )
    assert "--- plan" not in kopnet("show", good, "--no-plans", state=state_dir).output


def test_show_json(store: ReleaseStore, state_dir: Path) -> None:
    good, doubt = _recorded(store)
    data = json.loads(kopnet("show", good, "--json", state=state_dir).output)
    assert data["id"] == good and data["outcome"] == "confirmed" and data["git_dirty"] is True
    assert [j["step"] for j in data["journal"]] == ["read-running", "arm-revert", "apply"]
    assert {d["hostname"]: d["operations"] for d in data["devices"]} == {
        "core-desa-x": 2,
        "sec-desa-x-1": 0,
    }
    assert data["verification"][0]["ok"] is True
    assert data["rendered_files"] == ["core-desa-x.rsc", "sec-desa-x-1.cfg"]
    assert "rendered" not in data
    assert CANARY not in json.dumps(data)
    full = json.loads(kopnet("show", doubt, "--json", "--rendered", state=state_dir).output)
    assert (
        full["in_doubt"] is True and "@@secret:core-admin@@" in full["rendered"]["core-desa-x.rsc"]
    )


def test_show_unknown_release_exits_3(store: ReleaseStore, state_dir: Path) -> None:
    good, _ = _recorded(store)
    result = kopnet("show", "desa-x-20000101T000000Z-beef", state=state_dir)
    assert result.exit_code == 3
    assert "error: unknown release 'desa-x-20000101T000000Z-beef'" in result.output
    near = kopnet("show", good[:-1] + ("0" if good[-1] != "0" else "1"), state=state_dir)
    assert near.exit_code == 3 and f"did you mean {good}?" in near.output


def test_read_commands_create_nothing(tmp_path: Path) -> None:
    state = tmp_path / "never"
    assert kopnet("history", "desa-x", state=state).exit_code == 0
    assert kopnet("lock", "list", state=state).output.startswith("no village is locked")
    assert kopnet("lock", "break", "desa-x", state=state).output == "desa-x is not locked\n"
    missing = kopnet("show", "desa-x-20000101T000000Z-beef", state=state)
    assert missing.exit_code == 3 and "no state database" in missing.output
    assert not state.exists()


def test_state_directory_from_the_environment(
    store: ReleaseStore, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good, _ = _recorded(store)
    monkeypatch.setenv("KOPNET_STATE", str(state_dir))
    assert good in kopnet("history", "desa-x").output


def test_usage_errors_exit_2(state_dir: Path) -> None:
    assert kopnet("show", state=state_dir).exit_code == 2
    assert kopnet("history", "desa-x", "--limit", "0", state=state_dir).exit_code == 2
    assert kopnet("lock", "steal", "desa-x", state=state_dir).exit_code == 2


def test_lock_list_shows_holders_and_stale_ones(store: ReleaseStore, state_dir: Path) -> None:
    _insert_lock(state_dir, village="far", host="noc-laptop-7", pid=4242)
    _insert_lock(state_dir, village="gone", host=os.uname().nodename, pid=2**22 + 12345)
    with store.lock("desa-x", operator="ana", purpose="rollback"):
        result = kopnet("lock", "list", state=state_dir)
        assert result.exit_code == 0, result.output
        rows = {line.split()[0]: line for line in result.output.splitlines()[1:] if line}
        assert "ana" in rows["desa-x"] and f" {os.getpid()} " in rows["desa-x"]
        assert rows["desa-x"].endswith("held") and "rollback" in rows["desa-x"]
        assert rows["far"].endswith("held") and "2h5m" in rows["far"]
        assert rows["gone"].endswith("STALE (holder gone)")
        assert "kopnet lock break VILLAGE" in result.output
        data = json.loads(kopnet("lock", "list", "--json", state=state_dir).output)
        assert [(d["village"], d["stale"]) for d in data] == [
            ("desa-x", False),
            ("far", False),
            ("gone", True),
        ]
        assert data[1]["age_seconds"] > 7000


def test_lock_break_needs_yes_off_a_terminal(store: ReleaseStore, state_dir: Path) -> None:
    _insert_lock(state_dir, village="desa-x")
    refused = kopnet("lock", "break", "desa-x", state=state_dir)
    assert refused.exit_code == 2 and "add --yes" in refused.output
    assert store.lock_of("desa-x") is not None
    done = kopnet("lock", "break", "desa-x", "--yes", state=state_dir)
    assert done.exit_code == 0, done.output
    assert "held by citra on noc-laptop-7 (pid 4242)" in done.output
    assert "lock of desa-x broken" in done.output
    assert store.lock_of("desa-x") is None


def test_lock_break_asks_on_a_terminal(
    store: ReleaseStore, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state_cmds, "_interactive", lambda: True)
    _insert_lock(state_dir, village="desa-x")
    declined = kopnet("lock", "break", "desa-x", state=state_dir, input="n\n")
    assert declined.exit_code == 1 and "Break the lock of desa-x?" in declined.output
    assert store.lock_of("desa-x") is not None
    accepted = kopnet("lock", "break", "desa-x", state=state_dir, input="y\n")
    assert accepted.exit_code == 0 and store.lock_of("desa-x") is None


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kopnet_iac.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )


def test_lock_held_by_another_process_seen_and_broken_from_the_command_line(
    state_dir: Path,
) -> None:
    from tests.state.test_locks import CTX, _hold_lock

    ready, release = CTX.Event(), CTX.Event()
    holder = CTX.Process(target=_hold_lock, args=(state_dir, "desa-x", ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        listed = _run("lock", "list", "--json", "--state", str(state_dir))
        assert listed.returncode == 0, listed.stderr
        (lock,) = json.loads(listed.stdout)
        assert (lock["village"], lock["operator"], lock["pid"]) == ("desa-x", "dewi", holder.pid)
        broke = _run("lock", "break", "desa-x", "--yes", "--state", str(state_dir))
        assert broke.returncode == 0 and "broken" in broke.stdout
    finally:
        release.set()
        holder.join(60)
    with ReleaseStore.open(state_dir) as store:
        assert store.list_locks() == []  # the old holder's exit did not re-create or remove any


# ------------------------------------------------------------------ a damaged state database


def test_a_file_that_is_not_a_database_is_named_and_left_alone(state_dir: Path) -> None:
    state_dir.mkdir(parents=True)
    path = state_dir / DB_FILE
    path.write_bytes(b"this is my shopping list, not a database\n" * 100)
    before = path.read_bytes()
    for args in (("history", "desa-x"), ("show", "x"), ("lock", "list"),
                 ("lock", "break", "desa-x", "--yes")):  # fmt: skip
        result = kopnet(*args, state=state_dir)
        assert result.exit_code == 4, (args, result.output)
        assert f"error: {path}: not an SQLite database" in result.output
        assert "Traceback" not in result.output
    with pytest.raises(Exception, match="not an SQLite database"):
        ReleaseStore.open(state_dir)
    assert path.read_bytes() == before
    assert sorted(p.name for p in state_dir.iterdir()) == [DB_FILE]


def test_damaged_pages_are_reported_naming_the_file(state_dir: Path) -> None:
    with ReleaseStore.open(state_dir) as store:
        for _ in range(20):
            begin(store)
        rid = store.releases()[0].id
    path = state_dir / DB_FILE
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = b"\xa5" * (len(data) - page)  # every page but the first (the schema)
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    for args in (("history", "desa-x"), ("show", rid)):
        result = kopnet(*args, state=state_dir)
        assert result.exit_code == 4, (args, result.output)
        assert f"error: {path}: the state database is damaged" in result.output
    assert path.read_bytes() == before


def test_a_newer_schema_exits_4_naming_the_file(state_dir: Path) -> None:
    ReleaseStore.open(state_dir).close()
    conn = sqlite3.connect(state_dir / DB_FILE)
    conn.execute(f"PRAGMA user_version = {LATEST + 3}")
    conn.close()
    result = kopnet("history", "desa-x", state=state_dir)
    assert result.exit_code == 4 and str(state_dir / DB_FILE) in result.output
    assert "upgrade KopNet" in result.output
