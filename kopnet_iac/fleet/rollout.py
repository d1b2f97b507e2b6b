"""A fleet rollout: villages deployed in waves (:mod:`kopnet_iac.fleet.waves`), each village
through its own deploy transaction (:func:`kopnet_iac.deploy.transaction.deploy_village`),
recorded in the release store as one rollout that can be resumed.

::

    plan waves -> begin rollout (store) -> for each wave: start villages (<= max_parallel),
      each: run row 'running' -> deploy_village -> run row with outcome + release
      -> failures > max_fail: stop (running villages finish, no new one starts)
    -> villages never started recorded 'not-started' -> finish rollout -> summary

A resume (:func:`resume_rollout`) deploys again every village of the rollout that did not end
confirmed / no change, in the original wave order, with the recorded options; the failure
count starts from zero (the operator fixed what stopped it).
"""

from __future__ import annotations

import getpass
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kopnet_iac.deploy.planning import DeployOptions
from kopnet_iac.deploy.report import DeployReport
from kopnet_iac.errors import KopnetError
from kopnet_iac.fleet.waves import RolloutUsageError, WaveScheduler, plan_waves

log = logging.getLogger(__name__)

#: a village's deploy outcome that counts as success
SUCCESS = ("confirmed", "no-change")


@dataclass(frozen=True)
class RolloutOptions:
    """How to roll out (the wave and failure limits) and how to deploy each village."""

    canary: int = 1
    growth: float = 2.0
    max_parallel: int = 4
    max_fail: int = 0
    deploy: DeployOptions | None = None  # template: village is replaced per village

    def to_json(self) -> dict[str, Any]:
        d = self.deploy
        return {
            "canary": self.canary,
            "growth": self.growth,
            "max_parallel": self.max_parallel,
            "max_fail": self.max_fail,
            "lab_dir": str(d.lab_dir) if d is not None and d.lab_dir is not None else None,
            "revert_in": d.revert_in if d is not None else 300,
            "settle_s": d.settle_s if d is not None else 90.0,
        }


@dataclass
class VillageOutcome:
    """How one village ended in the rollout."""

    village: str
    wave: int
    status: str  # confirmed, no-change, reverted, failed, not-started
    release: str | None = None
    error: str = ""
    failed_checks: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in SUCCESS

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RolloutReport:
    """The summary of a rollout: every village's outcome, in plan order."""

    rollout: str
    waves: list[list[str]]
    max_fail: int
    villages: list[VillageOutcome] = field(default_factory=list)
    stopped: bool = False
    outcome: str = "running"

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for v in self.villages:
            out[v.status] = out.get(v.status, 0) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "rollout": self.rollout,
            "outcome": self.outcome,
            "stopped": self.stopped,
            "max_fail": self.max_fail,
            "waves": self.waves,
            "counts": self.counts(),
            "villages": [v.to_json() for v in self.villages],
        }


#: progress of a rollout: (village, status, detail); status start / a final status / stopped
RolloutProgress = Callable[[str, str, str], None]
DeployFunc = Callable[[DeployOptions], DeployReport]


def _default_deploy(options: DeployOptions) -> DeployReport:
    from kopnet_iac.deploy.transaction import deploy_village

    return deploy_village(options)


def start_rollout(
    villages: Sequence[str],
    options: RolloutOptions,
    *,
    known: Sequence[str],
    progress: RolloutProgress | None = None,
    deploy: DeployFunc = _default_deploy,
    operator: str = "",
) -> RolloutReport:
    """Plan the waves of ``villages`` (each must be in ``known``), record the rollout and run
    it. Raises :class:`RolloutUsageError` for impossible options or unknown villages before
    anything is recorded or contacted."""
    from kopnet_iac.state import ReleaseStore
    from kopnet_iac.state.gitinfo import git_state

    unknown = [v for v in villages if v not in known]
    if unknown:
        raise RolloutUsageError(
            f"unknown village(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    if not villages:
        raise RolloutUsageError("no village to roll out")
    if options.deploy is None:
        raise RolloutUsageError("no deploy options")
    waves = plan_waves(villages, canary=options.canary, growth=options.growth)
    WaveScheduler(waves, options.max_parallel, options.max_fail)  # validates
    store = ReleaseStore.open(options.deploy.state_dir)
    try:
        git = git_state(options.deploy.inventory_dir)
        rid = store.begin_rollout(
            operator=operator or getpass.getuser(),
            waves=waves,
            options=options.to_json(),
            git_revision=git.revision,
        )
        log.info("rollout %s: %d village(s) in %d wave(s)", rid, len(villages), len(waves))
        return _run(store, rid, waves, options, 1, progress, deploy)
    finally:
        store.close()


def resume_rollout(
    rollout: str,
    template: DeployOptions,
    *,
    progress: RolloutProgress | None = None,
    deploy: DeployFunc = _default_deploy,
) -> RolloutReport:
    """Deploy the villages of a recorded rollout that did not succeed yet (see the module
    docstring), with its recorded wave and failure options; ``template`` gives the rest."""
    from kopnet_iac.state import ReleaseStore
    from kopnet_iac.state.rollouts import DONE

    store = ReleaseStore.open(template.state_dir, create=False)
    try:
        recorded = store.get_rollout(rollout)
        opts = recorded.options
        lab_dir = opts.get("lab_dir")
        deploy_template = replace(
            template,
            lab_dir=Path(lab_dir) if lab_dir else template.lab_dir,
            revert_in=int(opts.get("revert_in", template.revert_in)),
            settle_s=float(opts.get("settle_s", template.settle_s)),
        )
        options = RolloutOptions(
            canary=int(opts.get("canary", 1)),
            growth=float(opts.get("growth", 2.0)),
            max_parallel=int(opts.get("max_parallel", 4)),
            max_fail=int(opts.get("max_fail", 0)),
            deploy=deploy_template,
        )
        attempt = max((r.attempt for r in recorded.runs), default=0) + 1
        pending = recorded.pending()
        done = {v: r for v, r in recorded.latest().items() if r.status in DONE}
        report = _run(store, rollout, pending, options, attempt, progress, deploy)
        # villages already done keep their earlier outcome in the summary
        earlier = [
            VillageOutcome(v, run.wave, run.status, run.release)
            for v, run in done.items()
            if v not in {o.village for o in report.villages}
        ]
        order = {v: i for i, v in enumerate(v for w in recorded.waves for v in w)}
        report.villages = sorted(report.villages + earlier, key=lambda o: order[o.village])
        report.waves = recorded.waves
        return report
    finally:
        store.close()


def _run(
    store: Any,
    rid: str,
    waves: list[list[str]],
    options: RolloutOptions,
    attempt: int,
    progress: RolloutProgress | None,
    deploy: DeployFunc,
) -> RolloutReport:
    assert options.deploy is not None
    template = options.deploy
    scheduler = WaveScheduler(waves, options.max_parallel, options.max_fail)
    report = RolloutReport(rid, waves, options.max_fail)
    outcomes: dict[str, VillageOutcome] = {}

    def emit(village: str, status: str, detail: str = "") -> None:
        if progress is not None:
            progress(village, status, detail)

    def one(village: str) -> VillageOutcome:
        wave = scheduler.wave_of[village]
        run = store.start_run(rid, village, wave=wave, attempt=attempt)
        emit(village, "start", f"wave {wave}")
        started = time.monotonic()
        outcome = VillageOutcome(village, wave, "failed")
        try:
            result = deploy(replace(template, village=village, approve=None, progress=None))
            outcome.status = result.outcome if result.outcome != "planned" else "failed"
            outcome.release = result.release
            outcome.error = result.error or ""
            outcome.failed_checks = [f"{c.host}/{c.check}" for c in result.failed_checks]
        except KopnetError as exc:
            outcome.error = str(exc)
        except Exception as exc:  # one village's bug must not kill the others' transactions
            log.exception("%s: deploy raised", village)
            outcome.error = f"{type(exc).__name__}: {exc}"
        if outcome.status not in ("confirmed", "no-change", "reverted", "failed"):
            outcome.status = "failed"
        outcome.seconds = round(time.monotonic() - started, 1)
        store.finish_run(run, outcome.status, release=outcome.release, error=outcome.error or None)
        emit(village, outcome.status, outcome.error)
        return outcome

    with ThreadPoolExecutor(max_workers=options.max_parallel) as pool:
        running: dict[Future[VillageOutcome], str] = {}
        while not scheduler.done:
            for village in scheduler.next_ready():
                running[pool.submit(one, village)] = village
            if not running:
                break
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                village = running.pop(future)
                result = future.result()
                outcomes[village] = result
                was_stopped = scheduler.stopped
                scheduler.ended(village, result.ok)
                if scheduler.stopped and not was_stopped:
                    emit(village, "stopped", f"{len(scheduler.failed)} failure(s)")
    for village in scheduler.not_started():
        wave = scheduler.wave_of[village]
        store.skip_village(rid, village, wave=wave, attempt=attempt)
        outcomes[village] = VillageOutcome(village, wave, "not-started")
    report.villages = [outcomes[v] for wave in waves for v in wave]
    report.stopped = scheduler.stopped
    failed = [o for o in report.villages if not o.ok and o.status != "not-started"]
    if scheduler.stopped:
        report.outcome = "stopped"
    elif failed:
        report.outcome = "partial"
    else:
        report.outcome = "complete"
    store.finish_rollout(
        rid,
        report.outcome,
        error=None if not failed else "failed: " + ", ".join(o.village for o in failed),
    )
    return report


__all__ = [
    "SUCCESS",
    "RolloutOptions",
    "RolloutReport",
    "VillageOutcome",
    "resume_rollout",
    "start_rollout",
]
