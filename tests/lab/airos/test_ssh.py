"""airOS SSH with paramiko (netmiko's transport): exec channels and the interactive shell."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import paramiko
import pytest

from kopnet_iac.lab.airos.config import SystemConfig
from kopnet_iac.lab.faults import Faults
from tests.lab.airos.conftest import RadioHarness


@contextmanager
def ssh(
    radio: RadioHarness, user: str = "kopnet", password: str = "lab-fake-pw"
) -> Iterator[paramiko.SSHClient]:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        radio.spec.host,
        radio.spec.ssh_port,
        username=user,
        password=password,
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    try:
        yield client
    finally:
        client.close()


def run(client: paramiko.SSHClient, command: str, stdin: str | None = None) -> tuple[str, str, int]:
    chan_in, out, err = client.exec_command(command, timeout=10)
    if stdin is not None:
        chan_in.write(stdin)
        chan_in.channel.shutdown_write()
    status = out.channel.recv_exit_status()
    return out.read().decode(), err.read().decode(), status


def read_until(channel: paramiko.Channel, marker: str, timeout: float = 10.0) -> str:
    buffer = ""
    deadline = time.monotonic() + timeout
    while marker not in buffer:
        if time.monotonic() > deadline:
            raise AssertionError(f"{marker!r} not seen in {buffer!r}")
        if channel.recv_ready():
            buffer += channel.recv(65536).decode()
        else:
            time.sleep(0.02)
    return buffer


def test_read_write_persist_apply_over_exec(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    with ssh(radio) as client:
        text, _, status = run(client, "cat /tmp/system.cfg")
        assert status == 0
        config = SystemConfig.parse(text)
        assert config.get("resolv.host.1.name") == "bh-a"
        config.set("wireless.1.ssid", "SSH-WRITTEN")
        out, err, status = run(client, "cat > /tmp/system.cfg", stdin=config.text)
        assert (out, err, status) == ("", "", 0)
        assert (
            run(client, "grep wireless.1.ssid /tmp/system.cfg")[0]
            == "wireless.1.ssid=SSH-WRITTEN\n"
        )
        # written but not applied yet
        assert radio.device.status()["wireless"]["essid"] != "SSH-WRITTEN"
        assert run(client, "cfgmtd -w -p /etc/")[2] == 0
        assert run(client, "/usr/etc/rc.d/rc.softrestart save")[2] == 0
        assert radio.device.status()["wireless"]["essid"] == "SSH-WRITTEN"
        assert "essid=SSH-WRITTEN" in run(client, "mca-status")[0]
        assert "wlanOpmode=ap-ptp" in run(client, "ubntbox mca-status")[0]
    # the change is on flash: a reboot keeps it
    radio.loop.run(radio.device.reboot(0.1))
    with ssh(radio) as client:
        assert "wireless.1.ssid=SSH-WRITTEN" in run(client, "cat /tmp/system.cfg")[0]


def test_echo_redirects_chains_and_reload(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    with ssh(radio) as client:
        out, err, status = run(
            client,
            "echo snmp.location=Test-Site >> /tmp/system.cfg && cfgmtd -w -p /etc/ && "
            "/usr/etc/rc.d/rc.softrestart save; grep snmp.location /tmp/system.cfg",
        )
        assert (out, err, status) == ("snmp.location=Test-Site\n", "", 0)
        assert "snmp.location=Test-Site\n" in radio.device.flash
        assert radio.device.active.get("snmp.location") == "Test-Site"
        out, _, status = run(client, "cat /tmp/system.cfg | grep -v snmp | grep snmp")
        assert (out, status) == ("", 1)
        assert run(client, "false || echo fallback")[0] == "fallback\n"
        assert run(client, "false && echo never")[0] == ""
        # garbage is refused and the file is unchanged
        before = run(client, "cat /tmp/system.cfg")[0]
        out, err, status = run(client, "echo 'no equals sign here' >> /tmp/system.cfg")
        assert status == 1 and "expected key=value" in err
        assert run(client, "cat /tmp/system.cfg")[0] == before
        # cfgmtd -r brings back the flash copy
        run(client, "echo x.y=1 > /tmp/system.cfg")
        assert run(client, "cat /tmp/system.cfg")[0] == "x.y=1\n"
        assert run(client, "cfgmtd -r -p /etc/")[2] == 0
        assert run(client, "cat /tmp/system.cfg")[0] == radio.device.flash
        assert run(client, "echo hi > /etc/passwd")[2] == 1  # read-only root
        out, err, status = run(client, "frobnicate --now")
        assert status == 127 and "not found" in err
        assert run(client, "echo 'unterminated")[2] == 2
        assert run(client, "cat /tmp/system.cfg &&")[2] == 2


def test_duplicate_key_from_echo_is_rejected(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    with ssh(radio) as client:
        _out, err, status = run(client, "echo radio.1.freq=5805 >> /tmp/system.cfg")
        assert status == 1 and "duplicate key" in err


def test_interactive_shell_heredoc_and_exit(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    with ssh(radio) as client:
        channel = client.invoke_shell()
        banner = read_until(channel, "# ")
        assert "WA.v8.7.11# " in banner
        channel.send("hostname\n")
        assert "bh-a" in read_until(channel, "bh-a\r\n")
        config = SystemConfig.parse(radio.device.export())
        config.set("wireless.1.ssid", "HEREDOC")
        channel.send("cat > /tmp/system.cfg <<EOF\n" + config.text + "EOF\n")
        read_until(channel, "EOF")
        channel.send("/usr/etc/rc.d/rc.softrestart save\n")
        read_until(channel, "save\r\n")
        channel.send("exit\n")
        deadline = time.monotonic() + 5
        while not channel.exit_status_ready() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert channel.exit_status_ready()
    assert radio.device.status()["wireless"]["essid"] == "HEREDOC"
    assert "hostname" in radio.device.commands_log
    assert "/usr/etc/rc.d/rc.softrestart save" in radio.device.commands_log


def test_factory_passwd_in_shell(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio(factory_default=True)
    assert radio.device.must_change_password
    with ssh(radio, "ubnt", "ubnt") as client:
        channel = client.invoke_shell()
        read_until(channel, "# ")
        channel.send("passwd\n")
        read_until(channel, "New password: ")
        channel.send("fake-shell-pw\n")
        read_until(channel, "Retype password: ")
        channel.send("fake-shell-pw\n")
        assert "changed" in read_until(channel, "# ")
    assert not radio.device.must_change_password
    with pytest.raises(paramiko.AuthenticationException), ssh(radio, "ubnt", "ubnt"):
        pass
    with ssh(radio, "ubnt", "fake-shell-pw") as client:
        assert run(client, "hostname")[2] == 0


def test_wrong_password_and_refused_login(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    with pytest.raises(paramiko.AuthenticationException), ssh(radio, "kopnet", "nope"):
        pass
    radio.device.faults.refuse_login = True
    with pytest.raises(paramiko.AuthenticationException), ssh(radio):
        pass


def test_trap_and_drop_faults(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio(faults=Faults(trap_pattern="cfgmtd -w*", trap_message="flash busy"))
    with ssh(radio) as client:
        _out, err, status = run(client, "cfgmtd -w -p /etc/")
        assert status == 1 and "flash busy" in err
        assert run(client, "hostname")[2] == 0
        radio.device.faults.drop_after_commands = 1
        assert run(client, "hostname")[0] == "bh-a\n"  # one more command is allowed
        with pytest.raises((paramiko.SSHException, EOFError, OSError)):
            run(client, "hostname")
            run(client, "hostname")
    assert radio.device.state == "running"
    with ssh(radio) as client:  # the device still serves new sessions
        assert run(client, "hostname")[0] == "bh-a\n"


def test_reboot_drops_sessions_and_comes_back(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    with ssh(radio) as client:
        run(client, "reboot")
    deadline = time.monotonic() + 5
    seen_booting = False
    while time.monotonic() < deadline:
        seen_booting |= radio.device.state == "booting"
        if seen_booting and radio.device.state == "running":
            break
        time.sleep(0.02)
    assert seen_booting and radio.device.state == "running"
    with ssh(radio) as client:
        assert run(client, "hostname")[0] == "bh-a\n"


def test_garbage_on_the_ssh_port_does_not_hurt(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    for payload in (b"\x00" * 64, b"GET / HTTP/1.0\r\n\r\n", b"SSH-2.0-x\r\n" + b"\xff" * 4000):
        with socket.create_connection((radio.spec.host, radio.spec.ssh_port), timeout=5) as sock:
            sock.sendall(payload)
            sock.settimeout(2)
            with suppress(OSError):
                sock.recv(1024)
    with ssh(radio) as client:
        assert run(client, "hostname")[0] == "bh-a\n"


def test_disk_full_and_latency_faults(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    with ssh(radio) as client:
        radio.device.faults.disk_full = True
        _out, err, status = run(client, "cfgmtd -w -p /etc/")
        assert status == 1 and "No space left on device" in err
        radio.device.faults.disk_full = False
        assert run(client, "cfgmtd -w -p /etc/")[2] == 0
        radio.device.faults.latency_ms = 400.0
        start = time.monotonic()
        assert run(client, "hostname")[0] == "bh-a\n"
        assert time.monotonic() - start >= 0.4  # the injected delay is a lower bound
