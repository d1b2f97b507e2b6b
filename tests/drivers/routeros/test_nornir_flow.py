"""The RouterOS driver through the real stacks: Nornir + nornir_napalm tasks + napalm, against
the lab's emulated RouterOS device."""

from __future__ import annotations

from typing import Any

import pytest
from nornir_napalm.plugins.tasks import (
    napalm_configure,
    napalm_confirm_commit,
    napalm_get,
    napalm_rollback,
)

from kopnet_iac.drivers.routeros.errors import NoRevertPathError
from kopnet_iac.errors import KopnetError
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.lab.routeros.device import RouterOSDevice
from kopnet_iac.platforms.routeros import equivalent, parse_export, plan, target_state
from kopnet_iac.render.renderer import render_device
from tests.conftest import EXAMPLE_FLEET

from .conftest import (
    TEST_PASSWORD,
    Lab,
    config_commands,
    export_body,
    make_driver,
    nornir_for,
    wait_for,
)

SECRETS = {
    "core-admin": TEST_PASSWORD,
    "radius-secret": 'fake-ra"d\\ius$ecret',
    "snmp-community": "fake-community-canary",
}
ONE_LINE = "/system identity\nset name=core-renamed\n"


def village_config(village: str = "sukadana", host: str = "core-sukadana") -> str:
    inv = load_inventory(EXAMPLE_FLEET)
    return render_device(inv, village, host)[f"{host}.rsc"]


def filled(text: str) -> str:
    for name, value in SECRETS.items():
        text = text.replace(f'"@@secret:{name}@@"', parse_quote(value))
    return text


def parse_quote(value: str) -> str:
    from kopnet_iac.drivers.routeros.candidate import escape_value

    return escape_value(value)


def run_ok(nr: Any, task: Any, **kwargs: Any) -> Any:
    result = nr.run(task=task, **kwargs)
    host = next(iter(result))
    assert not result.failed, result[host].exception
    return result[host][0]


def test_village_replace_confirm_converges(
    router: RouterOSDevice, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    text = village_config()
    running_before = parse_export(router.export(show_sensitive=True))
    nr = nornir_for(router, secrets=SECRETS)
    first = run_ok(nr, napalm_configure, configuration=text, replace=True, revert_in=120)
    assert first.changed and "operation(s)" in first.diff
    assert all(value not in first.diff for value in SECRETS.values() if value != TEST_PASSWORD)
    run_ok(nr, napalm_confirm_commit)
    # converged: the same config again is no change
    again = run_ok(nr, napalm_configure, configuration=text, replace=True, revert_in=120)
    assert (again.changed, again.diff) == (False, "")
    # the device holds what the engine planned (secrets filled in, users apart)
    intended = parse_export(filled(text))
    intended.sections.pop(("user",), None)
    after = parse_export(router.export(show_sensitive=True))
    assert equivalent(after, target_state(running_before, intended))
    assert not plan(after, intended)
    # RADIUS secret with ", \ and $ arrived exactly
    radius = [e.get("secret") for e in router.router.store.entries("radius")]
    assert radius == [SECRETS["radius-secret"]]
    # the revert job and apply file are gone; the revert script is kept for rollback
    assert router.router.store.entries("system scheduler") == []
    assert set(router.router.store.files) == {"kopnet-revert.rsc"}
    nr.close_connections()
    # no secret in any log record, nor in the emulator's (masked) command log
    for value in ("fake-ra", "fake-community-canary"):
        assert value not in caplog.text
    assert not any("fake-ra" in line for line in router.commands_log)


def test_merge_only_touches_named_entries(lab: Lab, router: RouterOSDevice) -> None:
    assert router.router.interpreter is not None
    lab.loop.run(
        router.router.interpreter.run_text(
            "/ip pool add name=keep ranges=10.5.0.2-10.5.0.9\n"
            "/ip pool add name=change ranges=10.6.0.2-10.6.0.9\n",
            source="setup",
        )
    )
    nr = nornir_for(router)
    merge = "/ip pool\nadd comment=merged name=change ranges=10.6.0.2-10.6.0.9\n"
    result = run_ok(nr, napalm_configure, configuration=merge, revert_in=60)
    assert result.changed and "comment" in result.diff
    run_ok(nr, napalm_confirm_commit)
    pools = {e.get("name"): e.get("comment") for e in router.router.store.entries("ip pool")}
    assert pools == {"keep": "", "change": "merged"}
    nr.close_connections()


def test_unconfirmed_commit_reverts_by_itself(router: RouterOSDevice) -> None:
    before = export_body(router)
    nr = nornir_for(router)
    change = ONE_LINE + "/ip address\nadd address=10.77.0.1/24 interface=ether4\n"
    run_ok(nr, napalm_configure, configuration=change, revert_in=2)
    assert router.router.identity() == "core-renamed"
    nr.close_connections()  # the controller goes away without confirming
    assert wait_for(lambda: export_body(router) == before, timeout=2 + 20)
    assert router.router.store.entries("system scheduler") == []
    assert router.state == "running"


def test_confirmed_change_then_recommit_sends_nothing(router: RouterOSDevice) -> None:
    nr = nornir_for(router)
    run_ok(nr, napalm_configure, configuration=ONE_LINE, revert_in=60)
    confirmed = run_ok(nr, napalm_confirm_commit)
    assert confirmed.changed
    nr.close_connections()
    router.commands_log.clear()
    nr = nornir_for(router)
    again = run_ok(nr, napalm_configure, configuration=ONE_LINE, revert_in=60)
    assert (again.changed, again.diff) == (False, "")
    assert config_commands(router) == []
    assert router.router.identity() == "core-renamed"
    pending = run_ok(nr, napalm_confirm_commit)
    assert not pending.changed  # nothing pending
    nr.close_connections()


def test_round_trip_budget(router: RouterOSDevice) -> None:
    drv = make_driver(router)
    drv.open()
    drv.load_merge_candidate(config=ONE_LINE)
    assert drv.compare_config()
    drv.commit_config(revert_in=60)
    assert drv.has_pending_commit()
    drv.confirm_commit()
    assert drv.round_trips <= 8
    drv.close()
    noop = make_driver(router)
    noop.open()
    router.commands_log.clear()
    noop.load_merge_candidate(config=ONE_LINE)
    assert noop.compare_config() == ""
    noop.discard_config()
    assert noop.round_trips <= 2
    assert config_commands(router) == []
    noop.close()


def test_rollback_after_confirm_without_reboot(router: RouterOSDevice) -> None:
    before = export_body(router)
    boot = router.router.boot_time
    nr = nornir_for(router)
    uptime = run_ok(nr, napalm_get, getters=["facts"]).result["facts"]["uptime"]
    change = ONE_LINE + "/ip pool\nadd name=extra ranges=10.8.0.2-10.8.0.9\n"
    run_ok(nr, napalm_configure, configuration=change, revert_in=60)
    run_ok(nr, napalm_confirm_commit)
    assert export_body(router) != before
    rolled = run_ok(nr, napalm_rollback)
    assert rolled.changed
    assert export_body(router) == before
    assert router.state == "running" and router.router.boot_time == boot  # no reboot
    later = run_ok(nr, napalm_get, getters=["facts"]).result["facts"]["uptime"]
    assert later >= uptime
    nr.close_connections()


def test_scheduler_disabled_refuses_before_any_change(router: RouterOSDevice) -> None:
    router.faults.scheduler_disabled = True
    before = export_body(router)
    nr = nornir_for(router)
    router.commands_log.clear()
    result = nr.run(task=napalm_configure, configuration=ONE_LINE, revert_in=60)
    error = result[router.spec.hostname].exception
    assert isinstance(error, NoRevertPathError)
    assert "device-mode" in str(error) and router.spec.hostname in str(error)
    assert config_commands(router) == []
    assert export_body(router) == before
    nr.close_connections()
    # forced: commits without the job
    forced = nornir_for(router, force_without_revert=True)
    run_ok(forced, napalm_configure, configuration=ONE_LINE, revert_in=60)
    assert router.router.identity() == "core-renamed"
    forced.close_connections()


def test_disk_full_refuses_before_any_change(router: RouterOSDevice) -> None:
    router.faults.disk_full = True
    before = export_body(router)
    drv = make_driver(router)
    drv.open()
    drv.load_merge_candidate(config=ONE_LINE)
    with pytest.raises(NoRevertPathError, match="free on the disk"):
        drv.commit_config(revert_in=30)
    assert export_body(router) == before
    drv.close()


def test_plan_report_is_data_with_secrets_masked(router: RouterOSDevice) -> None:
    drv = make_driver(router, secrets=SECRETS)
    drv.open()
    assert drv.plan_report() == {}
    drv.load_replace_candidate(config=village_config())
    drv.compare_config()
    report = drv.plan_report()
    assert report["changed"] and report["operations"] > 50
    assert report["read"]["board"] == router.spec.model and report["read"]["scheduler_allowed"]
    assert "/system identity set name=core-sukadana" in report["script"]
    assert "/system identity set name=MikroTik" in report["revert_script"]
    text = repr(report)
    assert all(value not in text for value in SECRETS.values() if value != TEST_PASSWORD)
    assert "********" in report["script"]
    drv.discard_config()
    drv.close()


def test_rollback_of_a_pending_commit_disarms_and_reverts(router: RouterOSDevice) -> None:
    before = export_body(router)
    drv = make_driver(router)
    drv.open()
    drv.load_merge_candidate(config=ONE_LINE + "/ip pool\nadd name=x ranges=10.9.0.2-10.9.0.9\n")
    drv.commit_config(revert_in=120)
    assert drv.has_pending_commit()
    drv.rollback()
    assert not drv.has_pending_commit()
    assert export_body(router) == before
    assert not any(name.startswith("kopnet-") for name in router.router.store.files)
    with pytest.raises(KopnetError, match="nothing to roll back to"):
        drv.rollback()  # consumed
    drv.close()
