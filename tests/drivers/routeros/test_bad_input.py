"""Bad input and bad conditions: a clear KopNet error naming host and step (also NAPALM's own
exception type), and the device in exactly its old or its new configuration."""

from __future__ import annotations

import pytest
from napalm.base.exceptions import (
    CommitError,
    ConnectionException,
    MergeConfigException,
    ReplaceConfigException,
)
from nornir_napalm.plugins.tasks import napalm_configure

from kopnet_iac.drivers.routeros.errors import (
    CandidateError,
    DeviceCommitError,
    DeviceConnectError,
    ReplaceCandidateError,
    WrongModelError,
)
from kopnet_iac.errors import KopnetError
from kopnet_iac.lab.routeros.device import RouterOSDevice

from .conftest import SUBNET, config_commands, export_body, make_driver, nornir_for, wait_for

ONE_LINE = "/system identity\nset name=core-renamed\n"


def test_unreachable_device(router: RouterOSDevice) -> None:
    drv = make_driver(router)
    drv.hostname = f"{SUBNET}.251"  # nothing listens there
    drv.session.host = drv.hostname
    with pytest.raises(DeviceConnectError) as info:
        drv.open()
    assert isinstance(info.value, ConnectionException)
    assert info.value.step == "connect" and router.spec.hostname in str(info.value)


def test_wrong_credentials(router: RouterOSDevice) -> None:
    drv = make_driver(router)
    drv.password = "wrong-fake-pw"
    with pytest.raises(DeviceConnectError, match="login as 'admin' refused") as info:
        drv.open()
    assert info.value.step == "login" and isinstance(info.value, ConnectionException)


def test_wrong_model_is_refused_before_any_change(router: RouterOSDevice) -> None:
    nr = nornir_for(router, expected_model="CCR2004-1G-12S+2XS")
    router.commands_log.clear()
    result = nr.run(task=napalm_configure, configuration=ONE_LINE, revert_in=30)
    error = result[router.spec.hostname].exception
    assert isinstance(error, WrongModelError) and isinstance(error, ConnectionException)
    assert "RB5009UG+S+IN" in str(error) and "CCR2004" in str(error)
    assert error.step == "check-model"
    assert config_commands(router) == []
    nr.close_connections()


def test_unparseable_candidate(driver: object) -> None:
    with pytest.raises(CandidateError) as info:
        driver.load_merge_candidate(config='/ip address\nadd address="unterminated\n')  # type: ignore[attr-defined]
    assert isinstance(info.value, MergeConfigException) and info.value.step == "load"


def test_unplannable_intended_config(driver: object, router: RouterOSDevice) -> None:
    before = export_body(router)
    text = (
        "/ip pool\nadd name=dup ranges=10.1.0.2-10.1.0.9\nadd name=dup ranges=10.2.0.2-10.2.0.9\n"
    )
    driver.load_replace_candidate(config=text)  # type: ignore[attr-defined]
    with pytest.raises(ReplaceCandidateError, match="duplicate entry") as info:
        driver.compare_config()  # type: ignore[attr-defined]
    assert isinstance(info.value, ReplaceConfigException) and info.value.step == "plan"
    assert export_body(router) == before


def test_missing_secret_is_named_not_guessed(driver: object, router: RouterOSDevice) -> None:
    text = '/radius\nadd address=10.9.0.1 secret="@@secret:radius-secret@@" service=ppp\n'
    driver.load_merge_candidate(config=text)  # type: ignore[attr-defined]
    with pytest.raises(CandidateError, match="radius-secret") as info:
        driver.compare_config()  # type: ignore[attr-defined]
    assert info.value.step == "secrets"


def test_import_failing_at_line_k_is_reverted_at_once(router: RouterOSDevice) -> None:
    before = export_body(router)
    drv = make_driver(router)
    drv.open()
    text = (
        ONE_LINE
        + "/ip pool\nadd name=p1 ranges=10.3.0.2-10.3.0.9\n"
        + "/ip address\nadd address=bogus interface=ether5\n"
    )
    drv.load_merge_candidate(config=text)
    assert drv.compare_config()
    with pytest.raises(DeviceCommitError, match=r"line \d+.*reverted at once") as info:
        drv.commit_config(revert_in=60)
    assert isinstance(info.value, CommitError) and info.value.step == "apply"
    assert export_body(router) == before
    assert router.router.store.entries("system scheduler") == []
    assert not drv.has_pending_commit()
    drv.close()


def test_session_dropped_at_import_is_reverted_by_the_job(router: RouterOSDevice) -> None:
    before = export_body(router)
    drv = make_driver(router)
    drv.open()
    drv.load_merge_candidate(config=ONE_LINE)
    drv.compare_config()
    router.faults.drop_at_pattern = "/import*"
    with pytest.raises(DeviceCommitError, match="kopnet-revert restores") as info:
        drv.commit_config(revert_in=2)
    assert info.value.step == "apply" and isinstance(info.value, KopnetError)
    assert wait_for(lambda: not router.router.store.entries("system scheduler"), 2 + 20)
    assert export_body(router) == before
    drv.close()


def test_stalled_import_times_out_and_the_job_reverts(router: RouterOSDevice) -> None:
    before = export_body(router)
    drv = make_driver(router, import_timeout=1)
    drv.open()
    drv.load_merge_candidate(config=ONE_LINE)
    drv.compare_config()
    router.faults.trap_pattern = None
    router.faults.stall_seconds = 0.0
    # the device is slow on the import: the controller gives up, the device applies anyway
    original = router.faults.before_command

    async def slow(command: str, *sentence: str) -> object:
        if command == "/import":
            router.faults.stall_seconds = 2.5
        return await original(command, *sentence)

    router.faults.before_command = slow  # type: ignore[method-assign]
    with pytest.raises(DeviceCommitError, match="session lost during /import") as info:
        drv.commit_config(revert_in=4)
    assert "timed out" in str(info.value)
    router.faults.before_command = original  # type: ignore[method-assign]
    assert wait_for(lambda: router.router.identity() == "core-renamed", 10)
    # nobody confirms: back to exactly the old configuration
    assert wait_for(lambda: export_body(router) == before, 4 + 20)
    drv.close()


def test_slow_link_commit_still_works(router: RouterOSDevice) -> None:
    router.faults.latency_ms = 300
    drv = make_driver(router)
    drv.open()
    drv.load_merge_candidate(config=ONE_LINE)
    assert drv.compare_config()
    drv.commit_config(revert_in=60)
    drv.confirm_commit()
    assert router.router.identity() == "core-renamed"
    assert router.router.store.entries("system scheduler") == []
    drv.close()


def test_session_lost_after_apply_says_the_job_reverts(router: RouterOSDevice) -> None:
    before = export_body(router)
    drv = make_driver(router)
    drv.open()
    drv.load_merge_candidate(config=ONE_LINE)
    drv.compare_config()
    router.faults.drop_at_pattern = "/execute*"  # the read-back after the import
    with pytest.raises(DeviceCommitError, match="applied, then the session was lost") as info:
        drv.commit_config(revert_in=2)
    assert "reverts it within 2s" in str(info.value)
    assert wait_for(lambda: export_body(router) == before, 2 + 20)
    drv.close()


def test_upload_refused_is_no_revert_path(router: RouterOSDevice) -> None:
    from kopnet_iac.drivers.routeros.errors import NoRevertPathError

    before = export_body(router)
    drv = make_driver(router)
    drv.open()
    drv.load_merge_candidate(config=ONE_LINE)
    drv.compare_config()
    router.faults.trap_pattern = "/file/add*"
    router.faults.trap_message = "failure: could not create file"
    with pytest.raises(NoRevertPathError, match="could not create file") as info:
        drv.commit_config(revert_in=30)
    assert "nothing was changed" in str(info.value) and info.value.step == "arm"
    router.faults.trap_pattern = None
    assert export_body(router) == before
    assert router.router.store.entries("system scheduler") == []
    assert not any(name.startswith("kopnet-") for name in router.router.store.files)
    drv.close()


def test_commit_on_top_of_a_pending_one_is_refused(router: RouterOSDevice) -> None:
    first = make_driver(router)
    first.open()
    first.load_merge_candidate(config=ONE_LINE)
    first.commit_config(revert_in=120)
    first.close()  # left pending
    second = make_driver(router)
    second.open()
    assert second.has_pending_commit()
    second.load_merge_candidate(config="/ip pool\nadd name=p ranges=10.1.0.2-10.1.0.9\n")
    with pytest.raises(DeviceCommitError, match="still pending"):
        second.commit_config(revert_in=120)
    assert router.router.store.entries("ip pool") == []
    second.confirm_commit()
    assert not second.has_pending_commit()
    assert router.router.identity() == "core-renamed"
    second.close()


def test_terse_candidate(driver: object, router: RouterOSDevice) -> None:
    text = "/system identity set name=core-terse\n/ip pool add name=t ranges=10.2.0.2-10.2.0.9\n"
    driver.load_replace_candidate(config=text)  # type: ignore[attr-defined]
    assert "core-terse" in driver.compare_config()  # type: ignore[attr-defined]
    driver.commit_config()  # type: ignore[attr-defined]
    assert router.router.identity() == "core-terse"
    assert not driver.has_pending_commit()  # type: ignore[attr-defined]
    driver.load_replace_candidate(config=text)  # type: ignore[attr-defined]
    assert driver.compare_config() == ""  # type: ignore[attr-defined]


def test_scheduler_refused_at_arm_time_changes_nothing(router: RouterOSDevice) -> None:
    """device-mode switched off between the read and the commit: the job add is refused."""
    from kopnet_iac.drivers.routeros.errors import NoRevertPathError

    before = export_body(router)
    drv = make_driver(router)
    drv.open()
    drv.load_merge_candidate(config=ONE_LINE)
    drv.compare_config()
    router.faults.scheduler_disabled = True
    with pytest.raises(NoRevertPathError, match="not allowed by device-mode"):
        drv.commit_config(revert_in=30)
    assert export_body(router) == before
    assert not any(name.startswith("kopnet-") for name in router.router.store.files)
    drv.close()
