"""SSH console driven by netmiko ``mikrotik_routeros`` and exec channels (paramiko)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import paramiko
import pytest
from netmiko import ConnectHandler

from kopnet_iac.lab.faults import Faults
from kopnet_iac.lab.routeros.device import RouterOSDevice

from .conftest import TEST_PASSWORD, Lab


@pytest.fixture
def device(lab: Lab) -> RouterOSDevice:
    return lab.start(faults=Faults())


@pytest.fixture
def conn(device: RouterOSDevice) -> Iterator[Any]:
    handler = ConnectHandler(
        device_type="mikrotik_routeros",
        host=device.spec.host,
        port=8022,
        username="admin",
        password=TEST_PASSWORD,
        fast_cli=False,
    )
    yield handler
    handler.disconnect()


def exec_command(device: RouterOSDevice, command: str, password: str = TEST_PASSWORD) -> str:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        device.spec.host,
        port=8022,
        username="admin",
        password=password,
        look_for_keys=False,
        allow_agent=False,
        timeout=5,
    )
    try:
        _, stdout, _ = client.exec_command(command)
        return str(stdout.read().decode())
    finally:
        client.close()


def test_prompt_commands_and_export(conn: Any, device: RouterOSDevice) -> None:
    assert conn.find_prompt() == "[admin@MikroTik] >"
    assert conn.send_command("/ip address add address=10.1.1.1/24 interface=ether1") == ""
    out = conn.send_config_set(
        [
            "/interface vlan add name=vlan10 vlan-id=10 interface=ether2",
            "/ip address add address=10.10.0.1/24 interface=vlan10",
        ]
    )
    assert "failure" not in out
    export = conn.send_command("/export")
    assert "/interface vlan\nadd interface=ether2 name=vlan10 vlan-id=10" in export.replace(
        "add name=vlan10 vlan-id=10 interface=ether2", "add interface=ether2 name=vlan10 vlan-id=10"
    )
    assert "add address=10.10.0.1/24 interface=vlan10" in export
    printed = conn.send_command("/ip address print")
    assert "10.1.1.1/24" in printed and "10.10.0.1/24" in printed
    assert "/ip address add address=10.1.1.1/24 interface=ether1" in device.commands_log


def test_prompt_follows_identity_and_menu(conn: Any, device: RouterOSDevice) -> None:
    conn.send_command("/system identity set name=core-a", expect_string=r"core-a\] >")
    assert conn.set_base_prompt() == "[admin@core-a]"
    out = conn.send_command("/ip address", expect_string=r"/ip address>")
    assert out == ""
    assert conn.send_command("print", expect_string=r"/ip address>").startswith("Flags")
    conn.send_command("/", expect_string=r"core-a\] >")
    assert device.router.identity() == "core-a"


def test_errors_look_like_a_router(conn: Any, device: RouterOSDevice) -> None:
    assert conn.send_command("/ip address add address=bad interface=ether1") == (
        "failure: invalid value for argument address"
    )
    assert conn.send_command("/foo bar").startswith("bad command name")
    assert conn.send_command('/ip address add address="unterminated').startswith("syntax error")
    assert conn.send_command("/ip address remove 7") == "no such item"
    assert device.state == "running"


def test_ping_and_system_menus(conn: Any) -> None:
    conn.send_command("/ip address add address=10.2.2.1/24 interface=ether1")
    out = conn.send_command("/ping 10.2.2.1 count=2")
    assert "sent=2 received=2 packet-loss=0%" in out
    out = conn.send_command("/ping 10.9.9.9 count=2")
    assert "received=0" in out and "timeout" in out
    assert "board-name: RB5009UG+S+" in conn.send_command("/system resource print")


def test_import_file_and_script_run(conn: Any, device: RouterOSDevice) -> None:
    conn.send_command(
        '/file add name=setup.rsc contents="/ip pool add name=p1 ranges=10.5.0.2-10.5.0.254"'
    )
    out = conn.send_command("/import file-name=setup.rsc dry-run")
    assert "successfully" in out
    assert device.router.store.entries("ip pool") == []
    conn.send_command("/import file-name=setup.rsc")
    assert [e.get("name") for e in device.router.store.entries("ip pool")] == ["p1"]
    conn.send_command('/system script add name=hello source=":log info \\"hello from script\\""')
    conn.send_command("/system script run hello")
    assert any(row["message"] == "hello from script" for row in device.router.log_buffer)


def test_exec_channel_runs_one_command(device: RouterOSDevice) -> None:
    out = exec_command(device, "/system identity print")
    assert "name: MikroTik" in out
    exec_command(device, "/ppp secret add name=ops password=ops-fake-pw service=pppoe")
    exec_command(device, "/user add name=ops group=read password=ops-fake-pw")
    hidden = exec_command(device, "/export")
    shown = exec_command(device, "export terse show-sensitive")
    assert "ops-fake-pw" not in hidden and "/ppp secret\nadd name=ops service=pppoe" in hidden
    assert "/ppp secret add name=ops password=ops-fake-pw service=pppoe" in shown
    assert "/user" not in shown  # RouterOS never exports users


def test_wrong_password_and_dropped_session(device: RouterOSDevice) -> None:
    with pytest.raises(paramiko.AuthenticationException):
        exec_command(device, "/export", password="wrong-fake-pw")
    device.faults.drop_at_pattern = "/system reboot*"
    handler = ConnectHandler(
        device_type="mikrotik_routeros",
        host=device.spec.host,
        port=8022,
        username="admin",
        password=TEST_PASSWORD,
    )
    with pytest.raises((OSError, EOFError, Exception)):
        handler.send_command("/system reboot", read_timeout=3)
    assert device.state == "running"
    assert "/system reboot" in device.commands_log


def test_host_key_is_persisted(lab: Lab, device: RouterOSDevice) -> None:
    key_file = device.state_dir / "ssh_host_ed25519_key"
    assert key_file.exists()
    before = key_file.read_bytes()
    lab.loop.run(device.reboot(0.1))
    assert key_file.read_bytes() == before
