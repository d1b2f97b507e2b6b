"""Scheduler, backups, resets, persistence, faults and live menus of the emulated router."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import librouteros
import pytest
from librouteros.exceptions import TrapError

from kopnet_iac.lab.faults import Faults
from kopnet_iac.lab.routeros.device import RouterOSDevice
from kopnet_iac.lab.spec import DeviceSpec
from kopnet_iac.platforms.routeros.normalize import equivalent
from kopnet_iac.platforms.routeros.parser import parse_export
from kopnet_iac.platforms.routeros.planner import plan

from .conftest import TEST_PASSWORD, Lab


def wait_for(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def api_of(device: RouterOSDevice, password: str = TEST_PASSWORD) -> Any:
    return librouteros.connect(device.spec.host, "admin", password, port=8728, timeout=5)


def run(lab: Lab, device: RouterOSDevice, text: str) -> list[str]:
    assert device.router.interpreter is not None
    return lab.loop.run(device.router.interpreter.run_text(text, source="test"))


SEED = """/interface vlan add name=vlan10 vlan-id=10 interface=ether2
/ip address add address=10.10.0.1/24 interface=vlan10
/ip pool add name=subs ranges=100.64.0.2-100.64.3.254
/system identity set name=core-seed
"""
CHANGED = """/interface vlan add name=vlan10 vlan-id=10 interface=ether2
/interface vlan add name=vlan20 vlan-id=20 interface=ether2
/ip address add address=10.20.0.1/24 interface=vlan20
/ip pool add name=subs ranges=100.64.0.2-100.64.7.254
/system identity set name=core-new
"""


def test_revert_job_restores_config_after_dropped_session(lab: Lab) -> None:
    """KopNet's commit-confirm: revert script + scheduler job; the controller loses the session."""
    faults = Faults()
    device = lab.start(faults=faults)
    run(lab, device, SEED)
    running = parse_export(device.export(show_sensitive=True))
    the_plan = plan(running, parse_export(CHANGED))
    assert the_plan.script()
    api = api_of(device)
    api.path("file").add(name="kopnet-revert.rsc", contents=the_plan.revert_script())
    tuple(
        api(
            "/system/scheduler/add",
            name="kopnet-revert",
            interval="2s",
            **{
                "on-event": "/import file-name=kopnet-revert.rsc; "
                "/system scheduler remove [ find name=kopnet-revert ]"
            },
        )
    )
    api.config().apply(the_plan.script())
    assert device.router.identity() == "core-new"
    faults.drop_after_commands = 0  # the next command kills the controller's session
    with pytest.raises((librouteros.exceptions.ConnectionClosed, OSError)):
        tuple(api("/system/identity/print"))
    assert wait_for(lambda: device.router.identity() == "core-seed", 6)
    assert equivalent(parse_export(device.export(show_sensitive=True)), running)
    assert device.router.store.entries("system scheduler") == []
    assert device.state == "running"


def test_confirmed_job_never_fires(lab: Lab) -> None:
    device = lab.start()
    run(
        lab,
        device,
        '/system scheduler add name=guard interval=1s on-event="/system identity set name=reverted"',
    )
    api = api_of(device)
    ids = [r[".id"] for r in api.path("system", "scheduler")]
    api.path("system", "scheduler").remove(*ids)
    time.sleep(1.5)
    assert device.router.identity() == "MikroTik"
    api.close()


def test_startup_absolute_and_disabled_schedules(lab: Lab) -> None:
    faults = Faults()
    device = lab.start(faults=faults)
    soon = time.gmtime(time.time() + 1.5)
    run(
        lab,
        device,
        "\n".join(
            [
                '/system scheduler add name=boot start-time=startup on-event=":log info booted"',
                f"/system scheduler add name=at start-date={time.strftime('%Y-%m-%d', soon)} "
                f'start-time={time.strftime("%H:%M:%S", soon)} on-event="/ip pool add name=at ranges=10.0.0.1"',
            ]
        ),
    )
    assert wait_for(
        lambda: [e.get("name") for e in device.router.store.entries("ip pool")] == ["at"], 5
    )
    lab.loop.run(device.reboot(0.1))
    assert wait_for(lambda: any(r["message"] == "booted" for r in device.router.log_buffer), 3)
    rows = {r["name"]: r for r in api_of(device).path("system", "scheduler")}
    assert rows["boot"]["run-count"] == 1
    faults.scheduler_disabled = True
    assert next(iter(api_of(device)("/system/device-mode/print")))["scheduler"] is False
    with pytest.raises(Exception, match="not allowed by device-mode"):
        run(
            lab,
            device,
            '/system scheduler add name=off interval=1s on-event="/system identity set name=x"',
        )
    # jobs that exist do not run either: the startup job stays at one run after a reboot
    lab.loop.run(device.reboot(0.1))
    assert wait_for(lambda: device.state == "running", 3)
    time_limit = time.monotonic() + 1.0
    while time.monotonic() < time_limit:  # give a wrongly firing job its chance
        assert not any(r["message"] == "booted" for r in device.router.log_buffer)
        time.sleep(0.05)
    assert device.router.identity() == "MikroTik"


def test_script_words_delay_log_and_unsupported(lab: Lab) -> None:
    device = lab.start()
    started = time.monotonic()
    run(lab, device, ':delay 300ms\n:log info "after delay"\n/ip pool add name=p ranges=10.0.0.1')
    assert time.monotonic() - started >= 0.3
    assert device.router.log_buffer[-1]["message"] == "after delay"
    with pytest.raises(Exception, match="not supported"):
        run(lab, device, ":foreach i in=[/ip pool find] do={ :put $i }")
    with pytest.raises(Exception, match="line 2 column 1"):
        run(
            lab,
            device,
            "/ip pool add name=q ranges=10.0.0.2\n/ip pool remove nonexistent\n/ip pool add name=r",
        )
    # changes before the failing line stay, as on a router
    assert [e.get("name") for e in device.router.store.entries("ip pool")] == ["p", "q"]


def test_backup_save_load_reboots_into_snapshot(lab: Lab) -> None:
    device = lab.start()
    run(lab, device, SEED)
    api = api_of(device)
    tuple(api("/system/backup/save", name="before", **{"dont-encrypt": True}))
    run(lab, device, "/system identity set name=after")
    assert [r["type"] for r in api.path("file") if r["name"] == "before.backup"] == ["backup"]
    tuple(api("/system/backup/load", name="before", password=""))
    assert wait_for(lambda: device.state == "booting", 3)
    assert wait_for(lambda: device.state == "running", 5)
    assert device.router.identity() == "core-seed"
    with pytest.raises(TrapError, match="no such backup"):
        tuple(api_of(device)("/system/backup/load", name="missing", password=""))


def test_reset_configuration_variants(lab: Lab) -> None:
    device = lab.start()
    run(lab, device, SEED + "/user add name=ops group=read password=ops-fake-pw\n")
    api = api_of(device)
    api.path("file").add(name="day0.rsc", contents="/system identity set name=day0")
    tuple(
        api(
            "/system/reset-configuration",
            **{"no-defaults": True, "keep-users": True, "run-after-reset": "day0.rsc"},
        )
    )
    assert wait_for(lambda: device.state == "running" and device.router.identity() == "day0", 6)
    assert device.router.store.entries("ip address") == []
    assert device.user_password("ops") == "ops-fake-pw"
    tuple(api_of(device)("/system/reset-configuration"))
    assert wait_for(
        lambda: device.state == "running" and "192.168.88.1" in device.configured_addresses(), 6
    )
    assert device.user_password("ops") is None


def test_factory_default_device(lab: Lab) -> None:
    device = lab.start(lab.spec(factory_default=True, password=""))
    api = librouteros.connect(device.spec.host, "admin", "", port=8728, timeout=5)
    rows = list(api.path("ip", "address"))
    assert [(r["address"], r["interface"]) for r in rows] == [("192.168.88.1/24", "bridge")]
    assert len(list(api.path("ip", "firewall", "filter"))) == 7
    export = device.export()
    assert "/ip dhcp-server\nadd address-pool=default-dhcp interface=bridge name=defconf" in export
    api.close()


def test_state_survives_stop_and_start(lab: Lab) -> None:
    device = lab.start()
    run(lab, device, SEED)
    device.after_command()
    spec = device.spec
    lab.loop.run(device.stop())
    assert device.state == "stopped"
    again = RouterOSDevice(spec, lab.tmp, lab.network)
    lab.loop.run(again.start())
    lab.devices.append(again)
    assert again.router.identity() == "core-seed"
    assert again.configured_addresses() == ["10.10.0.1"]


def test_disk_full_links_down_and_wireless(lab: Lab) -> None:
    faults = Faults()
    spec: DeviceSpec = lab.spec(wireless=True, model="LHG XL 5 ac", ports=("ether1",))
    device = lab.start(spec, faults)
    api = api_of(device)
    faults.disk_full = True
    with pytest.raises(TrapError, match="not enough disk space"):
        api.path("file").add(name="x.rsc", contents="x")
    faults.disk_full = False
    running = {r["name"]: r["running"] for r in api.path("interface")}
    assert running == {"ether1": True, "wlan1": False}  # wlan1 is disabled from the factory
    tuple(api("/interface/wireless/set", numbers="wlan1", disabled="no"))
    reg = list(api("/interface/wireless/registration-table/print"))
    assert reg[0]["signal-strength"].startswith("-58dBm")
    faults.links_down.add("ether1")
    assert {r["name"]: r["running"] for r in api.path("interface")}["ether1"] is False
    assert next(iter(api("/system/routerboard/print")))["model"] == "LHG XL 5 ac"
    routes = list(api("/ip/route/print"))
    assert routes == []
    tuple(api("/ip/address/add", address="10.7.0.1/24", interface="wlan1"))
    assert [r["dst-address"] for r in api("/ip/route/print")] == ["10.7.0.0/24"]
    api.close()


def test_clock_console_reboot_and_file_remove_in_script(lab: Lab) -> None:
    device = lab.start()
    api = api_of(device)
    tuple(api("/system/clock/set", **{"time-zone-name": "Asia/Jakarta"}))
    assert next(iter(api("/system/clock/print")))["time-zone-name"] == "Asia/Jakarta"
    assert "/system clock\nset time-zone-name=Asia/Jakarta" in device.export()
    with pytest.raises(TrapError, match="no such command"):
        tuple(api("/system/resource/set", cpu="fast"))
    api.path("file").add(name="old.rsc", contents="# nothing")
    run(lab, device, "/file remove old.rsc\n/system reboot")
    assert "old.rsc" not in device.router.store.files
    assert wait_for(lambda: device.state == "booting", 3)
    assert wait_for(lambda: device.state == "running", 5)
    assert device.router.store.files == {}


def test_stop_before_start_keeps_saved_state(lab: Lab) -> None:
    device = lab.start()
    run(lab, device, "/system identity set name=kept")
    lab.loop.run(device.stop())
    never_started = RouterOSDevice(device.spec, lab.tmp, lab.network)
    lab.loop.run(never_started.stop())
    again = RouterOSDevice(device.spec, lab.tmp, lab.network)
    lab.loop.run(again.start())
    lab.devices.append(again)
    assert again.router.identity() == "kept"


def test_lab_reboot_uses_fault_boot_time(lab: Lab) -> None:
    faults = Faults(boot_seconds=0.6)
    device = lab.start(faults=faults)
    run(lab, device, "/system identity set name=persisted")
    task = asyncio.run_coroutine_threadsafe(device.reboot(), lab.loop.loop)
    assert wait_for(lambda: device.state == "booting", 2)
    with pytest.raises(OSError):
        api_of(device)
    task.result(5)
    assert device.state == "running"
    assert device.router.identity() == "persisted"


def test_console_backup_and_reset_commands(lab: Lab) -> None:
    from netmiko import ConnectHandler

    device = lab.start()
    conn = ConnectHandler(
        device_type="mikrotik_routeros",
        host=device.spec.host,
        port=8022,
        username="admin",
        password=TEST_PASSWORD,
    )
    conn.send_command("/system backup save name=b1")
    assert "b1.backup" in device.router.store.files
    conn.send_command("/system identity set name=changed", expect_string=r"changed\] >")
    conn.write_channel('/system backup load name=b1 password=""\r\n')
    assert wait_for(lambda: device.state == "booting", 3)
    assert wait_for(lambda: device.state == "running", 5)
    assert device.router.identity() == "MikroTik"
    conn.disconnect()
    conn = ConnectHandler(
        device_type="mikrotik_routeros",
        host=device.spec.host,
        port=8022,
        username="admin",
        password=TEST_PASSWORD,
    )
    conn.write_channel("/system reset-configuration no-defaults=yes\r\n")
    assert wait_for(lambda: device.state == "booting", 3)
    assert wait_for(lambda: device.state == "running", 5)
    assert device.configured_addresses() == []
    assert "b1.backup" in device.router.store.files  # files survive a reset
    conn.disconnect()
