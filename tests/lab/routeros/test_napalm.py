"""napalm-ros 1.6.1 (unmodified) against the emulator: getters and the config flow."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from napalm import get_network_driver
from napalm.base import models
from napalm.base.test.helpers import test_model as check_model

from kopnet_iac.lab.faults import Faults
from kopnet_iac.lab.routeros.device import RouterOSDevice

from .conftest import TEST_PASSWORD, Lab


def wait_for(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def router(lab: Lab) -> RouterOSDevice:
    spec = lab.spec(serial="HF0TEST0001", model="CCR2004-1G-12S+2XS")
    device = lab.start(spec, Faults())
    lab.loop.run(
        device.router.interpreter.run_text(  # type: ignore[union-attr]
            "/ip address add address=10.20.0.1/24 interface=ether2\n"
            "/system identity set name=core-test\n"
            "/system ntp client set enabled=yes servers=pool.ntp.org\n"
            "/snmp community add name=noc addresses=10.99.0.0/24\n"
            "/user add name=ops group=read password=ops-fake-pw\n"
            "/ppp secret add name=sub1 password=sub1-fake-pw service=pppoe\n",
            source="setup",
        )
    )
    return device


@pytest.fixture
def driver(router: RouterOSDevice) -> Iterator[Any]:
    drv = get_network_driver("ros")(
        router.spec.host, "admin", TEST_PASSWORD, optional_args={"port": 8728, "ssh_port": 8022}
    )
    drv.open()
    yield drv
    drv.close()


def test_getters_are_schema_valid(driver: Any) -> None:
    facts = driver.get_facts()
    assert check_model(models.FactsDict, facts)
    assert facts["hostname"] == "core-test" and facts["serial_number"] == "HF0TEST0001"
    assert facts["model"] == "CCR2004-1G-12S+2XS" and facts["os_version"].startswith("7.15.3")
    assert facts["interface_list"][:2] == ["ether1", "ether2"]
    interfaces = driver.get_interfaces()
    assert all(check_model(models.InterfaceDict, v) for v in interfaces.values())
    assert interfaces["ether2"]["is_up"] is True and interfaces["ether2"]["mtu"] == 1500
    ips = driver.get_interfaces_ip()
    assert ips == {"ether2": {"ipv4": {"10.20.0.1": {"prefix_length": 24}}}}
    env = driver.get_environment()
    assert set(env) == {"fans", "temperature", "power", "cpu", "memory"}
    assert all(check_model(models.FanDict, v) for v in env["fans"].values())
    assert all(check_model(models.TemperatureDict, v) for v in env["temperature"].values())
    assert all(check_model(models.PowerDict, v) for v in env["power"].values())
    assert all(check_model(models.CPUDict, v) for v in env["cpu"].values())
    assert check_model(models.MemoryDict, env["memory"])
    assert env["memory"]["available_ram"] > env["memory"]["used_ram"] > 0
    neighbors = driver.get_lldp_neighbors()
    assert all(check_model(models.LLDPNeighborDict, n) for v in neighbors.values() for n in v)
    assert neighbors["ether1"][0]["port"] == "ether1"
    snmp = driver.get_snmp_information()
    assert check_model(models.SNMPDict, snmp)
    assert snmp["community"]["noc"] == {"acl": "10.99.0.0/24", "mode": "ro"}
    users = driver.get_users()
    assert (
        set(users) == {"admin", "ops"}
        and users["admin"]["level"] == 15
        and users["ops"]["level"] == 0
    )
    assert all(check_model(models.UsersDict, u) for u in users.values())
    assert driver.get_ntp_servers() == {"pool.ntp.org": {}}
    assert driver.get_arp_table() == []
    assert driver.is_alive() == {"is_alive": True}
    ping = driver.ping("10.20.0.1", count=3)
    assert ping["success"]["probes_sent"] == 3 and ping["success"]["packet_loss"] == 0
    config = driver.get_config()
    assert check_model(models.ConfigDict, config)
    assert "/system identity set name=core-test" in config["running"]
    assert "sub1-fake-pw" in config["running"]  # napalm exports with show-sensitive
    assert config["running"].startswith("# by RouterOS 7.15.3")


def test_cli_runs_console_commands(driver: Any) -> None:
    out = driver.cli([":put hello", "/system identity print"])
    assert out[":put hello"] == "hello"
    assert "core-test" in out["/system identity print"]


def test_merge_commit_confirm(driver: Any, router: RouterOSDevice) -> None:
    driver.load_merge_candidate(config="/ip address add address=10.30.0.1/24 interface=ether3\n")
    assert "10.30.0.1/24" in driver.compare_config()
    driver.commit_config(revert_in=60)
    assert driver.has_pending_commit() is True
    assert "10.30.0.1" in router.configured_addresses()
    driver.confirm_commit()
    assert driver.has_pending_commit() is False
    assert "10.30.0.1" in router.configured_addresses()
    assert "napalm-commit-confirm.backup" not in router.router.store.files


def test_missing_confirm_reverts_by_scheduler(driver: Any, router: RouterOSDevice) -> None:
    driver.load_merge_candidate(
        config="/system identity set name=broken\n"
        "/ip address add address=10.40.0.1/24 interface=ether4\n"
    )
    driver.commit_config(revert_in=1)
    assert router.router.identity() == "broken"
    # nobody confirms: the job loads the backup, the router reboots into the old config
    assert wait_for(lambda: router.state == "booting", 5)
    assert wait_for(lambda: router.state == "running", 5)
    assert router.router.identity() == "core-test"
    assert "10.40.0.1" not in router.configured_addresses()
    driver.close()
    driver.open()
    assert driver.has_pending_commit() is False
    assert driver.get_facts()["hostname"] == "core-test"


def test_rollback_restores_snapshot(driver: Any, router: RouterOSDevice) -> None:
    driver.load_merge_candidate(config="/system identity set name=oops\n")
    driver.commit_config()
    assert router.router.identity() == "oops"
    driver.rollback()
    assert wait_for(
        lambda: router.state == "running" and router.router.identity() == "core-test", 5
    )


def test_bad_candidate_raises_merge_error(driver: Any, router: RouterOSDevice) -> None:
    from napalm.base.exceptions import MergeConfigException

    driver.load_merge_candidate(
        config="/ip address add address=10.50.0.1/24 interface=ether5\n"
        "/ip address add address=bogus interface=ether5\n"
    )
    with pytest.raises(MergeConfigException, match="line 2"):
        driver.commit_config()
    # like a real router: the first line stayed
    assert "10.50.0.1" in router.configured_addresses()


def test_dry_run_validation_on_7_16(lab: Lab) -> None:
    """From 7.16 napalm-ros dry-runs the candidate first: a bad line changes nothing at all."""
    from napalm.base.exceptions import MergeConfigException

    device = lab.start(lab.spec(version="7.16.2"))
    drv = get_network_driver("ros")(
        device.spec.host, "admin", TEST_PASSWORD, optional_args={"port": 8728}
    )
    drv.open()
    drv.load_merge_candidate(
        config="/ip address add address=10.60.0.1/24 interface=ether5\n"
        "/ip address add address=bogus interface=ether5\n"
    )
    with pytest.raises(MergeConfigException, match="dry-run"):
        drv.commit_config()
    assert device.configured_addresses() == []
    assert not any(name.endswith(".backup") for name in device.router.store.files)
    drv.load_merge_candidate(config="/ip address add address=10.60.0.1/24 interface=ether5\n")
    drv.commit_config()
    assert device.configured_addresses() == ["10.60.0.1"]
    assert any("dry-run=yes" in line for line in device.commands_log)
    drv.close()
