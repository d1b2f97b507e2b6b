"""Fixture folders: plan and revert scripts match the recorded ones and round-trip.

Each ``tests/fixtures/routeros/<case>/`` holds ``running.rsc``, ``intended.rsc``, ``plan.rsc``
and ``revert.rsc``; adding a case means adding a folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kopnet_iac.platforms.routeros.apply import apply_script
from kopnet_iac.platforms.routeros.normalize import equivalent
from kopnet_iac.platforms.routeros.parser import parse_export
from kopnet_iac.platforms.routeros.planner import plan, target_state
from tests.platforms.routeros.conftest import FIXTURES, read

CASES = sorted(p for p in FIXTURES.iterdir() if (p / "running.rsc").exists())


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 6


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_fixture_case(case: Path) -> None:
    running = parse_export(read(case / "running.rsc"), "running.rsc")
    intended = parse_export(read(case / "intended.rsc"), "intended.rsc")
    result = plan(running, intended)
    assert result.script() == read(case / "plan.rsc")
    assert result.revert_script() == read(case / "revert.rsc")
    after = apply_script(running, read(case / "plan.rsc"))
    assert equivalent(after, target_state(running, intended))
    back = apply_script(after, read(case / "revert.rsc"))
    assert equivalent(back, running)
    # Idempotence on both ends.
    assert not plan(running, running)
    assert not plan(intended, intended)
    assert not plan(after, intended)


def test_unmanaged_paths_are_untouched() -> None:
    case = FIXTURES / "unmanaged_untouched"
    script = read(case / "plan.rsc") + read(case / "revert.rsc")
    for path in ("/queue simple", "/interface wireguard", "/system note"):
        assert path not in script


def test_equivalent_spellings_plan_nothing() -> None:
    case = FIXTURES / "equivalent_spellings"
    assert read(case / "plan.rsc") == ""
    assert read(case / "revert.rsc") == ""


def test_dependency_order_in_core_case() -> None:
    lines = read(FIXTURES / "core_vlan_pppoe" / "plan.rsc").splitlines()

    def first(prefix: str) -> int:
        return next(i for i, line in enumerate(lines) if line.startswith(prefix))

    assert first("/interface vlan add") < first("/ip address add")
    assert first("/ip pool add") < first("/ppp profile add")
    assert first("/ppp profile add") < first("/interface pppoe-server server add")
    revert = read(FIXTURES / "core_vlan_pppoe" / "revert.rsc").splitlines()
    order = [line.split(" remove")[0] for line in revert if " remove " in line]
    assert order == [
        "/interface pppoe-server server",
        "/ppp profile",
        "/ip address",
        "/ip pool",
        "/interface vlan",
    ]
