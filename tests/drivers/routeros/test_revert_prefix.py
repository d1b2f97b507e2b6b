"""The revert script restores the device from ANY prefix of the applied plan (an import
that stopped at line k, or never ran), on the emulator's interpreter."""

from __future__ import annotations

import pytest

from kopnet_iac.drivers.routeros import transaction
from kopnet_iac.drivers.routeros.candidate import fill_secrets, parse_candidate
from kopnet_iac.drivers.routeros.transaction import guarded_revert_lines
from kopnet_iac.drivers.routeros.users import UserPlan
from kopnet_iac.lab.routeros.device import RouterOSDevice
from kopnet_iac.platforms.routeros import parse_export, plan

from .conftest import Lab, export_body, start_router
from .test_nornir_flow import SECRETS, village_config


@pytest.mark.parametrize("factory_default", [False, True], ids=["blank", "defconf"])
def test_guarded_revert_from_every_prefix(lab: Lab, factory_default: bool) -> None:
    device: RouterOSDevice = start_router(lab, factory_default=factory_default)
    interpreter = device.router.interpreter
    assert interpreter is not None
    baseline = device.router.store.to_json()
    before = export_body(device)
    candidate = parse_candidate(village_config())
    intended = fill_secrets(candidate.config, SECRETS.__getitem__)
    running = parse_export(device.export(show_sensitive=True))
    running.sections = {p: e for p, e in running.sections.items() if p in intended.owned_paths()}
    the_plan = plan(running, intended)
    forward = [op.text() for op in the_plan.operations]
    assert len(forward) > 50
    if factory_default:
        assert any(op.action == "remove" for op in the_plan.operations)
    revert = "\n".join(guarded_revert_lines(the_plan)) + "\n"
    for k in range(len(forward) + 1):
        device.router.store.load_json(baseline)
        if k:
            lab.loop.run(interpreter.run_text("\n".join(forward[:k]) + "\n", source="apply"))
        lab.loop.run(interpreter.run_text(revert, source="revert"))
        assert export_body(device) == before, f"revert after {k} of {len(forward)} lines"


def test_scripts_shape() -> None:
    candidate = parse_candidate("/ip pool\nadd name=p ranges=10.0.0.2-10.0.0.9\n")
    empty = parse_export("")
    the_plan = plan(empty, candidate.config)
    apply = transaction.apply_script(the_plan, UserPlan(), stamp="t")
    assert apply.splitlines()[-1] == "/file remove [ find where name=kopnet-apply.rsc ]"
    revert = transaction.revert_script(the_plan, UserPlan(), stamp="t")
    assert "/ip pool remove [ find where name=p ]" in revert
    on_event = transaction.job_on_event()
    assert on_event.index("/system scheduler remove") < on_event.index("/import")
