"""plan_many: the same plans as planning each device alone, in order, errors kept per device."""

from __future__ import annotations

import itertools
import multiprocessing
import threading

import pytest

from kopnet_iac.errors import KopnetError, PlanError
from kopnet_iac.platforms.routeros.fleet import PlanResult, plan_many
from kopnet_iac.platforms.routeros.parser import parse_export
from kopnet_iac.platforms.routeros.planner import plan
from tests.platforms.routeros.conftest import FIXTURES, corpus_files, read

_Expected = tuple[str, str, int, str | None, str | None]

BAD_PAIRS = [
    ('/ip pool\nadd name="open-quote\n', "/ip pool\nadd name=a\n"),  # ParseError
    ("/ip pool\nadd name=a\nadd name=a\n", "/ip pool\nadd name=a ranges=10.0.0.2-10.0.0.9\n"),
    ("/system identity\nset name=a\n", ":delay 1s\n"),  # NotAnExportError
]


def _pairs() -> list[tuple[str, str]]:
    """Fixture cases both ways, real exports turned into each other and built from nothing
    (some of them ambiguous: PlanError), the export-shaped script in the corpus, bad text."""
    out: list[tuple[str, str]] = []
    for case in sorted(p for p in FIXTURES.iterdir() if (p / "running.rsc").exists()):
        running, intended = read(case / "running.rsc"), read(case / "intended.rsc")
        out += [(running, intended), (intended, running), (running, running)]
    texts = [read(p) for p in corpus_files()]
    out += list(itertools.pairwise(texts))
    out += [("", t) for t in texts]
    for i, bad in enumerate(BAD_PAIRS):
        out.insert(3 + 7 * i, bad)
    return out


def _alone(index: int, running: str, intended: str, host: str | None = None) -> _Expected:
    """What planning the device on its own gives (names as plan_many documents them)."""
    label = host or f"device #{index}"
    try:
        result = plan(
            parse_export(running, f"{label} running"),
            parse_export(intended, f"{label} intended"),
            host=label,
        )
    except KopnetError as exc:
        return "", "", 0, str(exc), type(exc).__name__
    return result.script(), result.revert_script(), len(result.operations), None, None


def _row(r: PlanResult) -> _Expected:
    return r.script, r.revert_script, r.operations, r.error, r.error_kind


PAIRS = _pairs()
EXPECTED = [_alone(i, a, b) for i, (a, b) in enumerate(PAIRS)]


def test_the_batch_is_varied() -> None:
    kinds = {e[4] for e in EXPECTED}
    assert {None, "ParseError", "PlanError", "NotAnExportError"} <= kinds
    assert sum(1 for e in EXPECTED if e[2] > 0) >= 20  # real plans, not just empty ones
    assert sum(1 for e in EXPECTED if e[4] is None and e[2] == 0) >= 3  # and a few no-ops


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_results_equal_planning_each_device_alone(workers: int) -> None:
    results = plan_many(iter(PAIRS), workers=workers)
    assert [r.index for r in results] == list(range(len(PAIRS)))
    assert [_row(r) for r in results] == EXPECTED


def test_default_workers_give_the_same_results() -> None:
    assert [_row(r) for r in plan_many(PAIRS)] == EXPECTED


def test_workers_started_fresh_while_other_threads_run() -> None:
    # Forking next to a running thread is unsafe: plan_many must start clean workers instead.
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        subset = PAIRS[:40]
        results = plan_many(subset, workers=2)
    finally:
        stop.set()
        thread.join()
    assert [_row(r) for r in results] == EXPECTED[:40]


def _plan_in_daemon(pairs: list[tuple[str, str]], out: multiprocessing.Queue[object]) -> None:
    out.put([_row(r) for r in plan_many(pairs, workers=2)])


def test_a_daemon_process_plans_in_process() -> None:
    # Daemon processes may not start children: plan_many plans there itself.
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[object] = ctx.Queue()
    proc = ctx.Process(target=_plan_in_daemon, args=(PAIRS[:20], out), daemon=True)
    proc.start()
    try:
        rows = out.get(timeout=60)
    finally:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()
            proc.join()
    assert rows == EXPECTED[:20]


def test_errors_name_the_host_and_do_not_stop_the_batch() -> None:
    good = PAIRS[0]
    pairs = [good, *BAD_PAIRS, good]
    hosts = [f"desa-{i}-core" for i in range(len(pairs))]
    results = plan_many(pairs, workers=2, hosts=hosts)
    assert [r.host for r in results] == hosts
    assert [r.ok for r in results] == [True, False, False, False, True]
    assert [r.error_kind for r in results[1:4]] == ["ParseError", "PlanError", "NotAnExportError"]
    assert results[1].error is not None and "desa-1-core running:2:" in results[1].error
    assert results[2].error is not None and results[2].error.startswith("desa-2-core/plan: ")
    assert all(r.script == r.revert_script == "" and r.operations == 0 for r in results[1:4])
    assert _row(results[0]) == _row(results[4]) == _alone(0, *good, host="desa-0-core")
    assert results[0].script and results[0].operations > 0


def test_hosts_must_match_the_pairs() -> None:
    with pytest.raises(PlanError, match="2 hosts for 1 config pairs"):
        plan_many([PAIRS[0]], hosts=["a", "b"])


def test_empty_batch() -> None:
    assert plan_many([]) == []
