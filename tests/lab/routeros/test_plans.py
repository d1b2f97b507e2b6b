"""The emulator runs the engine's plan and revert scripts to the states the engine predicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from kopnet_iac.platforms.routeros.model import RouterOSConfig
from kopnet_iac.platforms.routeros.normalize import equivalent
from kopnet_iac.platforms.routeros.parser import parse_export
from kopnet_iac.platforms.routeros.planner import plan, target_state
from tests.conftest import REPO_ROOT

from .conftest import Lab

# CCR2004-1G-12S+2XS, the core router the fixtures were exported from
CCR2004_PORTS = ("ether1", *(f"sfp-sfpplus{i}" for i in range(1, 13)), "sfp28-1", "sfp28-2")
NOT_EXPORTED = {("user",), ("user", "ssh-keys")}  # RouterOS never exports users or their keys


def exported_part(config: RouterOSConfig) -> RouterOSConfig:
    """The part of a config an export can show (users are read through the API instead)."""
    config.sections = {p: e for p, e in config.sections.items() if p not in NOT_EXPORTED}
    config.managed = tuple(p for p in config.managed if p not in NOT_EXPORTED)
    return config


CASES = sorted(  # plan cases are the folders with a running.rsc (as in test_fixtures.py)
    p
    for p in (Path(REPO_ROOT) / "tests" / "fixtures" / "routeros").glob("*")
    if (p / "running.rsc").is_file()
)


@pytest.mark.skipif(not CASES, reason="no plan fixtures")
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_plan_and_revert_on_the_emulator(lab: Lab, case: Path) -> None:
    device = lab.start(lab.spec(factory_default=False, ports=CCR2004_PORTS))
    interpreter = device.router.interpreter
    assert interpreter is not None
    running_text = (case / "running.rsc").read_text(encoding="utf-8")
    running = exported_part(parse_export(running_text))
    intended = exported_part(parse_export((case / "intended.rsc").read_text(encoding="utf-8")))
    lab.loop.run(interpreter.run_text(running_text, source="running.rsc"))
    start = parse_export(device.export(show_sensitive=True))
    assert equivalent(start, running)
    the_plan = plan(start, intended)
    lab.loop.run(interpreter.run_text(the_plan.script(), source="plan.rsc"))
    after = parse_export(device.export(show_sensitive=True))
    assert equivalent(after, target_state(start, intended)), the_plan.script()
    lab.loop.run(interpreter.run_text(the_plan.revert_script(), source="revert.rsc"))
    assert equivalent(parse_export(device.export(show_sensitive=True)), running)
