"""The kopnet_airos NAPALM driver against the emulated radio, through
``napalm.get_network_driver``: compare, commit with revert, confirm, rollback, refusals.

Every wait polls a condition with a deadline (never a fixed sleep).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import paramiko
import pytest
from napalm.base.exceptions import (
    CommitError,
    ConnectAuthError,
    ConnectionException,
    MergeConfigException,
)

from kopnet_iac.drivers.airos.errors import AirOSRollbackError, ModelMismatchError
from kopnet_iac.lab.airos.config import SystemConfig, check_password
from tests.drivers.airos.conftest import MODEL, PASSWORD, USER, driver_for
from tests.lab.airos.conftest import RadioHarness

CANARY = "CANARY-airos-pw-5d1e"
CONFIG_COMMANDS = ("cfgmtd", "softrestart", "cat >", "cp ", "mv ", "kill $", "writecfg", "rm ")


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@contextmanager
def opened(radio: RadioHarness, **kwargs: Any) -> Iterator[Any]:
    driver = driver_for(radio, **kwargs)
    driver.open()
    try:
        yield driver
    finally:
        driver.close()


def snapshot(radio: RadioHarness) -> tuple[str, str, dict[str, str]]:
    device = radio.device
    return device.files["/tmp/system.cfg"], device.flash, dict(device.active.values)


def config_commands(log: list[str]) -> list[str]:
    return [line for line in log if any(word in line for word in CONFIG_COMMANDS)]


def test_getters_from_status(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    with opened(radio) as driver:
        facts = driver.get_facts()
        assert facts["hostname"] == "bh-a" and facts["vendor"] == "Ubiquiti"
        assert facts["model"] == MODEL and facts["os_version"].startswith("v8.")
        assert facts["interface_list"] == ["eth0", "ath0"]
        interfaces = driver.get_interfaces()
        assert interfaces["ath0"]["is_up"] and interfaces["ath0"]["speed"] == 1000.0
        link = driver.get_wireless_link()
        assert link["mode"] == "ap-ptp" and link["access_point"] and link["ptp"]
        assert link["frequency_mhz"] == 5765 and link["country_code"] == 360
        (station,) = link["stations"]
        assert station["signal_dbm"] == -57 and station["remote_hostname"] == "bh-b"
        assert 0 < station["ccq_percent"] <= 100
        radio.network.down.add("ath0")
        assert driver.get_wireless_link()["stations"] == []
        assert driver.is_alive() == {"is_alive": True}
    assert "HTTP POST /api/auth" in radio.device.commands_log


def test_merge_is_key_level_and_empty_when_converged(
    make_radio: Callable[..., RadioHarness],
) -> None:
    radio = make_radio()
    before = snapshot(radio)
    with opened(radio) as driver:
        driver.load_merge_candidate(config="wireless.1.ssid=NEW\nsnmp.location=Hut 3\n")
        assert driver.compare_config() == (
            "+snmp.location=Hut 3\n-wireless.1.ssid=testvillage-bh-a\n+wireless.1.ssid=NEW\n"
        )
        candidate = driver.get_config(retrieve="candidate")["candidate"]
        assert "wireless.1.ssid=NEW\n" in candidate and "users.1.password=********" in candidate
        driver.discard_config()
        assert driver.compare_config() == ""
        assert snapshot(radio) == before  # loading and comparing change nothing
        current = SystemConfig.parse(radio.device.export())
        driver.load_merge_candidate(config=f"radio.1.freq={current.get('radio.1.freq')}\n")
        assert driver.compare_config() == ""


def test_revert_by_itself_after_the_session_drops(
    make_radio: Callable[..., RadioHarness],
) -> None:
    radio = make_radio()
    before = snapshot(radio)
    driver = driver_for(radio)
    driver.open()
    driver.load_merge_candidate(config="wireless.1.ssid=TESTING\nradio.1.freq=5805\n")
    driver.commit_config(revert_in=2)
    committed = time.monotonic()
    assert radio.device.active.get("wireless.1.ssid") == "TESTING"
    assert radio.device.flash == before[1]  # test mode: nothing on flash
    assert driver.has_pending_commit()
    transport = driver._ssh._client.get_transport()
    transport.sock.close()  # the controller's link dies without a goodbye
    assert wait_for(lambda: snapshot(radio) == before, timeout=2 + 10)
    assert time.monotonic() - committed >= 2 - 0.1  # not before its time
    assert radio.device.status()["wireless"]["essid"] == "testvillage-bh-a"
    assert wait_for(lambda: not radio.device.jobs, timeout=5)
    driver.close()
    with opened(radio) as fresh:
        assert not fresh.has_pending_commit()
        with pytest.raises(CommitError) as info:
            fresh.confirm_commit()
        assert "bh-a" in str(info.value) and "confirm_commit" in str(info.value)
        assert "old configuration" in str(info.value)


def test_confirm_makes_it_permanent(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    with opened(radio) as driver:
        driver.load_merge_candidate(config="wireless.1.ssid=KEPT\n")
        driver.commit_config(revert_in=2)
        assert driver.has_pending_commit()
        driver.confirm_commit()
        assert not driver.has_pending_commit()
    assert not radio.device.jobs  # the armed job was killed, not left to fire
    assert "wireless.1.ssid=KEPT" in radio.device.flash
    radio.loop.run(radio.device.reboot(0.1))
    assert radio.device.active.get("wireless.1.ssid") == "KEPT"


def test_reboot_before_confirm_brings_back_the_old_config(
    make_radio: Callable[..., RadioHarness],
) -> None:
    radio = make_radio()
    before = snapshot(radio)
    with opened(radio) as driver:
        driver.load_merge_candidate(config="wireless.1.ssid=UNCONFIRMED\n")
        driver.commit_config(revert_in=300)
        assert radio.device.active.get("wireless.1.ssid") == "UNCONFIRMED"
    radio.loop.run(radio.device.reboot(0.1))
    assert snapshot(radio) == before
    assert not radio.device.jobs  # the reboot ended the armed job
    with opened(radio) as driver:
        assert not driver.has_pending_commit()
        driver.load_merge_candidate(config="wireless.1.ssid=UNCONFIRMED\n")
        assert driver.compare_config() != ""


def test_committing_again_sends_no_configuration_command(
    make_radio: Callable[..., RadioHarness],
) -> None:
    radio = make_radio()
    change = "wireless.1.ssid=ONCE\nsnmp.location=Balai desa\n"
    with opened(radio) as driver:
        driver.load_merge_candidate(config=change)
        driver.commit_config(revert_in=60)
        driver.confirm_commit()
    mark = len(radio.device.commands_log)
    with opened(radio) as driver:
        driver.load_merge_candidate(config=change)
        assert driver.compare_config() == ""
        driver.commit_config(revert_in=60)
        assert not driver.has_pending_commit()
    sent = radio.device.commands_log[mark:]
    assert config_commands(sent) == []
    assert sent[0] == f"ssh login {USER}" and len(sent) == 3  # login, one read, one probe


def test_rollback_restores_the_previous_config_without_reboot(
    make_radio: Callable[..., RadioHarness],
) -> None:
    radio = make_radio()
    before = snapshot(radio)
    boot_time = radio.device._boot_time
    with opened(radio) as driver:
        driver.load_merge_candidate(config="wireless.1.ssid=ROLLME\n")
        driver.commit_config(revert_in=60)
        driver.confirm_commit()
        after_change = snapshot(radio)
        driver.rollback()
    assert snapshot(radio) == before  # running file, flash and applied state
    assert radio.device._boot_time == boot_time and radio.device.state == "running"
    with opened(radio) as driver:
        driver.rollback()  # a second rollback undoes the first
    assert snapshot(radio) == after_change


def test_rollback_while_pending_disarms(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    before = snapshot(radio)
    with opened(radio) as driver:
        driver.load_merge_candidate(config="wireless.1.ssid=PENDING\n")
        driver.commit_config(revert_in=300)
        driver.rollback()
        assert not driver.has_pending_commit()
    assert snapshot(radio) == before
    assert not radio.device.jobs


def test_rollback_without_a_previous_commit(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    with opened(radio) as driver, pytest.raises(AirOSRollbackError) as info:
        driver.rollback()
    assert str(info.value).startswith("testvillage/bh-a/rollback: nothing to roll back")


def test_wrong_model_is_refused_before_anything_changes(
    make_radio: Callable[..., RadioHarness],
) -> None:
    radio = make_radio(model="PowerBeam-5AC-Gen2")
    before = snapshot(radio)
    mark = len(radio.device.commands_log)
    with opened(radio, model=MODEL) as driver:
        with pytest.raises(ModelMismatchError) as info:
            driver.load_replace_candidate(config="wireless.1.ssid=X\n")
        assert isinstance(info.value, MergeConfigException | CommitError)
        assert driver.compare_config() == ""
        with pytest.raises(CommitError):
            driver.commit_config(revert_in=30)
    message = str(info.value)
    assert "bh-a" in message and "PowerBeam" in message and "LiteBeam" in message
    assert snapshot(radio) == before
    assert config_commands(radio.device.commands_log[mark:]) == []
    with opened(radio, model="PowerBeam 5AC Gen2") as driver:  # spelling differences are fine
        driver.load_merge_candidate(config="wireless.1.ssid=X\n")
        assert driver.compare_config()


def test_wrong_credentials_and_unreachable(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    with pytest.raises(ConnectAuthError) as info:
        driver_for(radio, password="wrong-fake-pw").open()
    assert str(info.value).startswith("testvillage/bh-a/login: SSH login as 'kopnet' refused")
    assert "wrong-fake-pw" not in str(info.value)
    nobody = radio.spec.host.rsplit(".", 1)[0] + ".254"
    driver = driver_for(radio)
    driver.endpoint = driver.endpoint.__class__(
        **{**driver.endpoint.__dict__, "address": nobody, "timeout": 5.0}
    )
    driver._ssh.endpoint = driver.endpoint
    with pytest.raises(ConnectionException) as refused:
        driver.open()
    assert "bh-a/connect: cannot open SSH to " + nobody in str(refused.value)


def test_password_is_pushed_as_a_hash_and_unchanged_is_no_change(
    make_radio: Callable[..., RadioHarness], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    radio = make_radio()
    same = {"radio-admin": PASSWORD}
    with opened(radio, secrets=same) as driver:
        driver.load_merge_candidate(config="users.1.password=@@secret:radio-admin@@\n")
        assert driver.compare_config() == ""
    with opened(radio, secrets={"radio-admin": CANARY}) as driver:
        driver.load_merge_candidate(config="users.1.password=@@secret:radio-admin@@\n")
        diff = driver.compare_config()
        assert diff == "-users.1.password=********\n+users.1.password=********\n"
        driver.commit_config(revert_in=60)
        driver.confirm_commit()
        running = driver.get_config(retrieve="running")["running"]
        assert "users.1.password=********" in running
        shown = driver.get_config(retrieve="running", show_secrets=True)["running"]
        assert "users.1.password=$1$" in shown
    stored = SystemConfig.parse(radio.device.flash).get("users.1.password")
    assert stored.startswith("$1$") and check_password(CANARY, stored)
    assert CANARY not in radio.device.flash
    with opened(radio, password=CANARY, secrets={"radio-admin": CANARY}) as driver:
        driver.load_merge_candidate(config="users.1.password=@@secret:radio-admin@@\n")
        assert driver.compare_config() == ""
    with pytest.raises(ConnectAuthError):
        driver_for(radio).open()
    assert CANARY not in caplog.text and PASSWORD not in caplog.text


def test_missing_secret_and_bad_candidate(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    with opened(radio) as driver:
        with pytest.raises(MergeConfigException) as info:
            driver.load_merge_candidate(config="snmp.community=@@secret:snmp-ro@@\n")
        assert "secret 'snmp-ro'" in str(info.value) and "bh-a" in str(info.value)
        with pytest.raises(MergeConfigException) as bad:
            driver.load_merge_candidate(config="ok.key=1\nno equals sign\n")
        assert "candidate:2:1: expected key=value" in str(bad.value)
        with pytest.raises(MergeConfigException):
            driver.load_merge_candidate(config="a=1\na=2\n")


def test_a_second_commit_waits_for_the_first(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    with opened(radio) as first, opened(radio) as second:
        first.load_merge_candidate(config="wireless.1.ssid=FIRST\n")
        second.load_merge_candidate(config="wireless.1.ssid=SECOND\n")
        first.commit_config(revert_in=300)
        with pytest.raises(CommitError) as info:
            second.commit_config(revert_in=300)  # its read was before; the radio refuses
        assert "waiting for its confirm" in str(info.value) and "nothing changed" in str(info.value)
        assert radio.device.active.get("wireless.1.ssid") == "FIRST"
        second.load_merge_candidate(config="wireless.1.ssid=SECOND\n")
        with pytest.raises(CommitError):
            second.commit_config(revert_in=300)  # known from its own read now
        first.confirm_commit()


def test_unsaved_edits_on_the_radio_are_not_lost(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    with opened(radio) as driver:
        driver._ssh.run("echo snmp.location=by-hand >> /tmp/system.cfg", step="test")
        driver.load_merge_candidate(config="wireless.1.ssid=X\n")
        with pytest.raises(CommitError) as info:
            driver.commit_config(revert_in=60)
    assert "unsaved changes" in str(info.value)
    assert radio.device.active.get("wireless.1.ssid") != "X" and not radio.device.jobs


def test_failed_save_puts_the_old_config_back(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    before = snapshot(radio)
    with opened(radio) as driver:
        driver.load_merge_candidate(config="wireless.1.ssid=NOSPACE\n")
        radio.device.faults.disk_full = True
        with pytest.raises(CommitError) as info:
            driver.commit_config()  # no revert_in: apply and save at once
    message = str(info.value)
    assert "bh-a/commit: apply failed" in message and "No space left" in message
    assert "back on its old configuration" in message
    assert snapshot(radio) == before


def test_refused_script_and_dropped_session(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    before = snapshot(radio)
    with opened(radio) as driver:
        driver.load_merge_candidate(config="wireless.1.ssid=TRAPPED\n")
        radio.device.faults.trap_pattern = "set -e*"
        with pytest.raises(CommitError) as info:
            driver.commit_config(revert_in=30)
        assert "nothing changed" in str(info.value)
        radio.device.faults.trap_pattern = None
        radio.device.faults.drop_at_pattern = "set -e*"
        with pytest.raises(CommitError) as dropped:
            driver.commit_config(revert_in=30)
        assert "bh-a/commit: session lost during commit" in str(dropped.value)
    assert snapshot(radio) == before


def test_sessions_are_plain_paramiko(make_radio: Callable[..., RadioHarness]) -> None:
    """The radio sees ordinary SSH exec channels: one per operation."""
    radio = make_radio()
    with opened(radio) as driver:
        assert isinstance(driver._ssh._client, paramiko.SSHClient)
        mark = len(radio.device.commands_log)
        driver.load_merge_candidate(config="wireless.1.ssid=ONE\n")
        driver.commit_config(revert_in=60)
        driver.confirm_commit()
        assert len(radio.device.commands_log) - mark == 3  # read, commit, confirm


def test_plain_commit_saves_at_once_and_leaves_no_job(
    make_radio: Callable[..., RadioHarness],
) -> None:
    radio = make_radio()
    with opened(radio) as driver:
        driver.load_merge_candidate(config="wireless.1.ssid=SAVED\n")
        driver.commit_config()
        assert not driver.has_pending_commit()
        startup = driver.get_config(retrieve="startup")["startup"]
        assert "wireless.1.ssid=SAVED" in startup and "users.1.password=********" in startup
    assert not radio.device.jobs  # the safety job was killed once the save was done
    assert "wireless.1.ssid=SAVED" in radio.device.flash
    assert "/tmp/kopnet.flash.cfg" not in radio.device.files


def test_secret_sources_mapping_callable_and_inventory_resolver(
    make_radio: Callable[..., RadioHarness],
) -> None:
    from kopnet_iac.inventory.loader import load_inventory
    from kopnet_iac.inventory.secrets import SecretResolver
    from tests.conftest import EXAMPLE_FLEET

    radio = make_radio()
    inv = load_inventory(EXAMPLE_FLEET)
    resolver = SecretResolver(inv, env={"KOPNET_SECRET_SNMP_COMMUNITY": "CANARY-snmp-3c2b"})
    line = "snmp.community=@@secret:snmp-community@@\n"
    for source in (resolver, {"snmp-community": "CANARY-snmp-3c2b"}, lambda n: "CANARY-snmp-3c2b"):
        with opened(radio, secrets=source) as driver:
            driver.load_merge_candidate(config=line)
            assert driver.compare_config() == "+snmp.community=********\n"
    with opened(radio, secrets={"loc": "CANARY-loc-1a"}) as driver:
        driver.load_merge_candidate(config="snmp.location=@@secret:loc@@\n")
        assert driver.compare_config() == "+snmp.location=********\n"
        assert "CANARY" not in driver.get_config(retrieve="candidate")["candidate"]
    empty = SecretResolver(inv, env={})
    with opened(radio, secrets=empty) as driver, pytest.raises(MergeConfigException) as info:
        driver.load_merge_candidate(config=line)
    assert "secret 'snmp-community'" in str(info.value) and "KOPNET_SECRET_SNMP_COMMUNITY" in str(
        info.value
    )


def test_slow_radio_within_timeouts(make_radio: Callable[..., RadioHarness]) -> None:
    """A radio that takes a GEO round trip to answer each command still commits cleanly."""
    from kopnet_iac.lab.faults import Faults

    radio = make_radio(faults=Faults(latency_ms=600.0, jitter_ms=200.0))
    with opened(radio) as driver:
        driver.load_merge_candidate(config="wireless.1.ssid=SLOW\n")
        driver.commit_config(revert_in=30)
        driver.confirm_commit()
        assert driver.get_wireless_link()["ssid"] == "SLOW"
    assert "wireless.1.ssid=SLOW" in radio.device.flash and not radio.device.jobs


def test_confirm_never_saves_a_file_other_than_the_committed_one(
    make_radio: Callable[..., RadioHarness],
) -> None:
    radio = make_radio()
    before = snapshot(radio)
    with opened(radio) as driver:
        driver.load_merge_candidate(config="wireless.1.ssid=MINE\n")
        driver.commit_config(revert_in=300)
        driver._ssh.run("echo snmp.location=someone-else >> /tmp/system.cfg", step="test")
        with pytest.raises(CommitError) as info:
            driver.confirm_commit()
    assert "bh-a/confirm_commit: confirm failed" in str(info.value)
    assert "on its old configuration" in str(info.value)
    assert snapshot(radio) == before and not radio.device.jobs
