"""The wave scheduler (pure): waves, the failure limit, parallelism and the stop."""

from __future__ import annotations

import pytest

from kopnet_iac.fleet.waves import RolloutUsageError, WaveScheduler, parse_max_fail, plan_waves

VILLAGES = [f"v{i:02d}" for i in range(20)]


def test_waves_start_with_the_canary_and_grow() -> None:
    waves = plan_waves(VILLAGES, canary=2, growth=2.0)
    assert [len(w) for w in waves] == [2, 4, 8, 6]
    assert [v for w in waves for v in w] == VILLAGES  # every village once, order kept


def test_growth_one_keeps_the_batch_size_and_no_canary_starts_at_one() -> None:
    assert [len(w) for w in plan_waves(VILLAGES[:7], canary=3, growth=1.0)] == [3, 3, 1]
    assert [len(w) for w in plan_waves(VILLAGES[:7], canary=0, growth=2.0)] == [1, 2, 4]
    assert [len(w) for w in plan_waves(VILLAGES[:7], canary=0, growth=1.0)] == [1] * 7


def test_fractional_growth_still_grows() -> None:
    sizes = [len(w) for w in plan_waves(VILLAGES, canary=1, growth=1.1)]
    assert sizes[:4] == [1, 2, 3, 4] and sum(sizes) == len(VILLAGES)


def test_duplicate_villages_are_deployed_once() -> None:
    assert plan_waves(["a", "b", "a"], canary=1) == [["a"], ["b"]]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"canary": -1}, "negative"),
        ({"canary": 21}, "more than the 20"),
        ({"growth": 0.5}, "at least 1.0"),
    ],
)
def test_impossible_wave_options(kwargs: dict[str, float], words: str) -> None:
    with pytest.raises(RolloutUsageError, match=words):
        plan_waves(VILLAGES, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "villages", "expected"),
    [("0", 3, 0), ("3", 3, 3), ("50%", 3, 1), ("100%", 3, 3), ("0%", 9, 0), ("34%", 3, 1)],
)
def test_max_fail_as_count_or_percentage(text: str, villages: int, expected: int) -> None:
    assert parse_max_fail(text, villages) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("4", "more than the 3"),
        ("-1", "negative"),
        ("-5%", "negative"),
        ("101%", "100%"),
        ("1.5", "whole number"),
        ("many", "expected a number"),
        ("", "expected a number"),
    ],
)
def test_max_fail_that_cannot_be_met_is_a_usage_error(text: str, words: str) -> None:
    with pytest.raises(RolloutUsageError, match=words) as caught:
        parse_max_fail(text, 3)
    assert caught.value.step == "select"


def drain(scheduler: WaveScheduler, failing: set[str]) -> list[list[str]]:
    """Run the scheduler to the end, ending villages one at a time in start order; returns
    the batches it started."""
    started: list[list[str]] = []
    running: list[str] = []
    while not scheduler.done:
        batch = scheduler.next_ready()
        if batch:
            started.append(batch)
        running.extend(batch)
        if not running:
            break
        village = running.pop(0)
        scheduler.ended(village, village not in failing)
    return started


def test_a_wave_starts_only_after_the_one_before_ended() -> None:
    scheduler = WaveScheduler([["a"], ["b", "c"], ["d"]], max_parallel=4, max_fail=0)
    assert scheduler.next_ready() == ["a"]
    assert scheduler.next_ready() == []  # the canary runs alone
    scheduler.ended("a", True)
    assert scheduler.next_ready() == ["b", "c"]
    scheduler.ended("b", True)
    assert scheduler.next_ready() == []  # c of the same wave still runs
    scheduler.ended("c", True)
    assert scheduler.next_ready() == ["d"]
    scheduler.ended("d", True)
    assert scheduler.done and not scheduler.stopped and scheduler.not_started() == []


def test_max_parallel_caps_the_villages_running_at_once() -> None:
    scheduler = WaveScheduler([list("abcdef")], max_parallel=2)
    assert scheduler.next_ready() == ["a", "b"]
    assert scheduler.next_ready() == []
    scheduler.ended("a", True)
    assert scheduler.next_ready() == ["c"]
    assert len(scheduler.running) == 2


def test_failures_past_the_limit_stop_new_starts_but_running_villages_finish() -> None:
    scheduler = WaveScheduler([["a"], ["b", "c", "d", "e"]], max_parallel=2, max_fail=1)
    assert scheduler.next_ready() == ["a"]
    scheduler.ended("a", False)  # one failure: allowed
    assert not scheduler.stopped
    assert scheduler.next_ready() == ["b", "c"]
    scheduler.ended("b", False)  # two: past the limit
    assert scheduler.stopped and not scheduler.done  # c still runs its transaction
    assert scheduler.next_ready() == []
    scheduler.ended("c", True)
    assert scheduler.done
    assert scheduler.failed == ["a", "b"] and scheduler.succeeded == ["c"]
    assert scheduler.not_started() == ["d", "e"]


def test_a_failing_canary_with_no_failure_allowed_stops_the_rollout() -> None:
    scheduler = WaveScheduler(plan_waves(["x", "y", "z"], canary=1), max_fail=0)
    assert drain(scheduler, failing={"x"}) == [["x"]]
    assert scheduler.stopped and scheduler.not_started() == ["y", "z"]


def test_within_the_limit_the_rollout_runs_to_the_end() -> None:
    scheduler = WaveScheduler(plan_waves(VILLAGES, canary=1), max_parallel=3, max_fail=2)
    batches = drain(scheduler, failing={"v00", "v07"})
    assert not scheduler.stopped and scheduler.done
    assert sorted(v for b in batches for v in b) == VILLAGES
    assert all(len(b) <= 3 for b in batches)
    assert scheduler.failed == ["v00", "v07"]


def test_no_village_at_all_is_done_at_once() -> None:
    scheduler = WaveScheduler([], max_parallel=1)
    assert scheduler.done and scheduler.next_ready() == []


def test_max_parallel_below_one_is_refused() -> None:
    with pytest.raises(RolloutUsageError):
        WaveScheduler([["a"]], max_parallel=0)
