"""A rollout recorded in the release store: the v3 migration (additive), the records, the
executor's stop (running villages finish, no new one starts) and the resume, with village
deploys that record real releases in a real store (the device side is in test_fleet_lab.py)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from kopnet_iac.deploy.planning import DeployOptions
from kopnet_iac.deploy.report import DeployReport
from kopnet_iac.fleet.rollout import RolloutOptions, resume_rollout, start_rollout
from kopnet_iac.fleet.waves import RolloutUsageError
from kopnet_iac.state import ReleaseStore
from kopnet_iac.state.rollouts import UnknownRolloutError, iter_statuses
from kopnet_iac.state.schema import LATEST, MIGRATIONS, migrate, user_version
from tests.conftest import EXAMPLE_FLEET

VILLAGES = ["a", "b", "c", "d", "e"]


class RecordingDeploy:
    """A village deploy that records a real release with the outcome given per village, and
    notes how many villages ran at once."""

    def __init__(self, state: Path, outcomes: dict[str, str], seconds: float = 0.05) -> None:
        self.state = state
        self.outcomes = outcomes
        self.seconds = seconds
        self.started: list[str] = []
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def __call__(self, options: DeployOptions) -> DeployReport:
        with self.lock:
            self.started.append(options.village)
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            outcome = self.outcomes.get(options.village, "confirmed")
            if outcome == "raise":
                from kopnet_iac.errors import LockError

                raise LockError("held by ana", village=options.village)
            with ReleaseStore.open(self.state) as store:
                rid = store.begin_release(
                    options.village,
                    "deploy",
                    operator="t",
                    git_revision=None,
                    git_dirty=False,
                    rendered={},
                )
                time.sleep(self.seconds)  # the transaction takes a moment
                store.finish_release(rid, outcome)
            return DeployReport(options.village, release=rid, outcome=outcome)
        finally:
            with self.lock:
                self.running -= 1


def options(state: Path, **kwargs: object) -> RolloutOptions:
    template = DeployOptions(village="", inventory_dir=EXAMPLE_FLEET, state_dir=state)
    return RolloutOptions(deploy=template, **kwargs)  # type: ignore[arg-type]


def test_migration_to_v3_keeps_every_release(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, path, target=2)
    conn.execute(
        "INSERT INTO releases (id, village, kind, operator, controller_host, controller_pid, "
        "started) VALUES ('x-1', 'x', 'deploy', 'ana', 'h', 1, '2026-01-01T00:00:00.000000Z')"
    )
    conn.close()
    with ReleaseStore.open(tmp_path) as store:
        assert [r.id for r in store.releases("x")] == ["x-1"]
        assert store.rollouts() == []
    conn = sqlite3.connect(path)
    assert user_version(conn) == LATEST == len(MIGRATIONS) >= 3
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"rollouts", "rollout_runs", "releases", "journal"} <= tables


def test_a_rollout_within_its_failure_limit_runs_every_village(tmp_path: Path) -> None:
    deploy = RecordingDeploy(tmp_path, {"a": "reverted"})
    report = start_rollout(
        VILLAGES, options(tmp_path, canary=1, max_parallel=2, max_fail=1), known=VILLAGES,
        deploy=deploy,
    )  # fmt: skip
    assert report.outcome == "partial" and not report.stopped
    assert [(v.village, v.status) for v in report.villages] == [
        ("a", "reverted"), ("b", "confirmed"), ("c", "confirmed"), ("d", "confirmed"),
        ("e", "confirmed"),
    ]  # fmt: skip
    assert deploy.started[0] == "a" and deploy.most <= 2
    with ReleaseStore.open(tmp_path) as store:
        recorded = store.get_rollout(report.rollout)
        assert recorded.outcome == "partial" and "a" in (recorded.error or "")
        assert recorded.waves == report.waves == [["a"], ["b", "c"], ["d", "e"]]
        releases = recorded.releases()
        assert len(releases) == 5
        assert {store.get_release(r).village for r in releases} == set(VILLAGES)
        assert recorded.options["max_fail"] == 1


def test_past_the_limit_no_new_village_starts_and_running_ones_finish(tmp_path: Path) -> None:
    deploy = RecordingDeploy(tmp_path, {"b": "failed", "c": "reverted"}, seconds=0.2)
    report = start_rollout(
        VILLAGES, options(tmp_path, canary=1, growth=3.0, max_parallel=3, max_fail=1),
        known=VILLAGES, deploy=deploy,
    )  # fmt: skip
    # wave 1 = b, c, d started together; b and c fail -> stop; d finishes its own transaction
    assert report.stopped and report.outcome == "stopped"
    statuses = {v.village: v.status for v in report.villages}
    assert statuses == {
        "a": "confirmed", "b": "failed", "c": "reverted", "d": "confirmed", "e": "not-started",
    }  # fmt: skip
    assert "e" not in deploy.started
    with ReleaseStore.open(tmp_path) as store:
        recorded = store.get_rollout(report.rollout)
        assert dict(iter_statuses(recorded))["e"] == "not-started"
        assert recorded.pending() == [["b", "c"], ["e"]]
        assert all(store.get_release(r).finished for r in recorded.releases())


def test_resume_deploys_only_what_did_not_succeed(tmp_path: Path) -> None:
    first = RecordingDeploy(tmp_path, {"a": "reverted"})
    stopped = start_rollout(
        VILLAGES, options(tmp_path, canary=1, max_fail=0), known=VILLAGES, deploy=first
    )
    assert stopped.outcome == "stopped" and first.started == ["a"]
    again = RecordingDeploy(tmp_path, {})
    template = DeployOptions(village="", inventory_dir=EXAMPLE_FLEET, state_dir=tmp_path)
    resumed = resume_rollout(stopped.rollout, template, deploy=again)
    assert resumed.rollout == stopped.rollout and resumed.outcome == "complete"
    assert sorted(again.started) == VILLAGES and again.started[0] == "a"
    with ReleaseStore.open(tmp_path) as store:
        recorded = store.get_rollout(stopped.rollout)
        assert recorded.pending() == []
        assert [r.attempt for r in recorded.runs if r.village == "a"] == [1, 2]
        assert len(recorded.releases()) == 6  # a twice
    # resuming a complete rollout deploys nothing more
    third = RecordingDeploy(tmp_path, {})
    done = resume_rollout(stopped.rollout, template, deploy=third)
    assert third.started == [] and done.outcome == "complete"
    assert {v.status for v in done.villages} == {"confirmed"}


def test_a_village_whose_deploy_raises_counts_as_failed(tmp_path: Path) -> None:
    deploy = RecordingDeploy(tmp_path, {"b": "raise"})
    report = start_rollout(
        ["a", "b", "c"], options(tmp_path, canary=1, max_parallel=1, max_fail=0),
        known=["a", "b", "c"], deploy=deploy,
    )  # fmt: skip
    b = next(v for v in report.villages if v.village == "b")
    assert b.status == "failed" and "held by ana" in b.error and b.release is None
    assert report.stopped and report.villages[-1].status == "not-started"


def test_unknown_villages_and_rollouts_are_refused_before_anything_is_recorded(
    tmp_path: Path,
) -> None:
    deploy = RecordingDeploy(tmp_path, {})
    with pytest.raises(RolloutUsageError, match=r"unknown village.*nowhere"):
        start_rollout(["a", "nowhere"], options(tmp_path), known=["a"], deploy=deploy)
    with pytest.raises(RolloutUsageError, match="more than the 1"):
        start_rollout(["a"], options(tmp_path, canary=2), known=["a"], deploy=deploy)
    assert deploy.started == []
    assert not (tmp_path / "state.db").exists()
    with (
        ReleaseStore.open(tmp_path) as store,
        pytest.raises(UnknownRolloutError, match="none recorded"),
    ):
        store.get_rollout("rollout-x")
