"""Pinned SSH host keys against real SSH servers: an asyncssh server on this test's own
loopback address, restarted with a different key on the same address and port to play a
replaced (or impersonated) device."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
import paramiko
import pytest
from click.testing import CliRunner

from kopnet_iac.cli.main import cli
from kopnet_iac.errors import HostKeyError
from kopnet_iac.platforms.linux.sshrun import SshTarget, connect
from kopnet_iac.transport.hostkeys import (
    HostKeyStore,
    PinnedKey,
    default_state_dir,
    fingerprint,
    host_id,
    pin_current_keys,
)

USER, PASSWORD = "kopnet", "fake-hostkey-pw"
ADDRESS = "127.85.0.1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((ADDRESS, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """An SSH server that can be restarted on the same address and port with another key."""

    port: int
    key: asyncssh.SSHKey = field(
        default_factory=lambda: asyncssh.generate_private_key("ssh-ed25519")
    )
    logins: list[tuple[str, str]] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _acceptor: asyncssh.SSHAcceptor | None = None
    _thread: threading.Thread | None = None

    def start(self, key: asyncssh.SSHKey | None = None) -> None:
        if key is not None:
            self.key = key
        server = self

        class Auth(asyncssh.SSHServer):
            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                server.logins.append((username, password))
                return (username, password) == (USER, PASSWORD)

        async def handle(process: asyncssh.SSHServerProcess[str]) -> None:
            process.stdout.write("pong\n")
            process.exit(0)

        async def listen() -> asyncssh.SSHAcceptor:
            return await asyncssh.create_server(
                Auth, ADDRESS, self.port, server_host_keys=[self.key], process_factory=handle
            )

        if self._thread is None:
            self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
            self._thread.start()
        self._acceptor = asyncio.run_coroutine_threadsafe(listen(), self._loop).result(10)

    def stop(self) -> None:
        if self._acceptor is not None:
            acceptor = self._acceptor

            async def close() -> None:
                acceptor.close()
                await acceptor.wait_closed()

            asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
            self._acceptor = None

    def shutdown(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    def public(self) -> paramiko.PKey:
        return _public(self.key)


def _public(key: asyncssh.SSHKey) -> paramiko.PKey:
    kind, data = key.export_public_key("openssh").split()[:2]
    return paramiko.PKey.from_type_string(kind.decode(), base64.b64decode(data))


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server(port=_free_port())
    srv.start()
    try:
        yield srv
    finally:
        srv.shutdown()


@pytest.fixture
def store(tmp_path: Path) -> HostKeyStore:
    return HostKeyStore.open(tmp_path / "state")


def _target(server: Server, store: HostKeyStore | None = None) -> SshTarget:
    return SshTarget(
        host=ADDRESS, port=server.port, username=USER, password=PASSWORD,
        hostname="gw-test", village="desa-test", connect_timeout=5.0, host_keys=store,
    )  # fmt: skip


def _run(target: SshTarget) -> str:
    with connect(target, attempts=1) as session:
        return session.run("ping").stdout


def test_first_use_is_recorded_with_the_device(server: Server, store: HostKeyStore) -> None:
    assert not store.path.exists()
    assert _run(_target(server, store)) == "pong\n"
    [pin] = store.entries()
    assert pin.host == f"[{ADDRESS}]:{server.port}" and pin.device == "gw-test"
    assert pin.key_type == "ssh-ed25519" and pin.fingerprint == fingerprint(server.public())
    assert pin.added.endswith("Z")
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"
    assert _run(_target(server, store)) == "pong\n"  # the same key: accepted, not re-recorded
    assert store.entries() == [pin]


def test_changed_key_is_refused_before_any_password_is_sent(
    server: Server, store: HostKeyStore
) -> None:
    _run(_target(server, store))
    old = fingerprint(server.public())
    server.stop()
    server.start(asyncssh.generate_private_key("ssh-ed25519"))  # same address and port
    new = fingerprint(server.public())
    logins = len(server.logins)
    with pytest.raises(HostKeyError) as info:
        _run(_target(server, store))
    message = str(info.value)
    assert f"[{ADDRESS}]:{server.port}" in message
    assert old in message and new in message and old != new
    assert f"kopnet hostkey forget {ADDRESS}" in message
    assert message.startswith("gw-test/")  # names the device
    assert PASSWORD not in message
    assert len(server.logins) == logins, "a password was sent to the impostor"
    assert [p.fingerprint for p in store.entries()] == [old]  # the pin is unchanged


def test_another_key_type_counts_as_changed(server: Server, store: HostKeyStore) -> None:
    _run(_target(server, store))
    server.stop()
    server.start(asyncssh.generate_private_key("ecdsa-sha2-nistp256"))
    with pytest.raises(HostKeyError, match="changed"):
        _run(_target(server, store))
    assert server.logins[-1:] == [(USER, PASSWORD)]  # only the first, genuine login


def test_forget_then_the_new_key_is_accepted(server: Server, tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = HostKeyStore.open(state)
    _run(_target(server, store))
    server.stop()
    server.start(asyncssh.generate_private_key("ssh-ed25519"))
    with pytest.raises(HostKeyError):
        _run(_target(server, store))
    runner = CliRunner()
    listed = runner.invoke(cli, ["hostkey", "list", "--state", str(state)])
    assert listed.exit_code == 0 and "gw-test" in listed.output
    forgot = runner.invoke(cli, ["hostkey", "forget", ADDRESS], env={"KOPNET_STATE": str(state)})
    assert forgot.exit_code == 0, forgot.output
    assert "forgot" in forgot.output
    assert store.entries() == []
    assert _run(_target(server, store)) == "pong\n"
    assert [p.fingerprint for p in store.entries()] == [fingerprint(server.public())]
    again = runner.invoke(cli, ["hostkey", "forget", "no-such-host", "--state", str(state)])
    assert again.exit_code == 3 and "no pinned host key" in again.output


def test_forget_by_device_name_and_port(store: HostKeyStore) -> None:
    keys = [_public(asyncssh.generate_private_key("ssh-ed25519")) for _ in range(3)]
    store.record("10.0.0.1", 22, keys[0], device="core-a")
    store.record("10.0.0.1", 8022, keys[1], device="core-a-console")
    store.record("10.0.0.2", 22, keys[2], device="core-b")
    assert [p.host for p in store.forget("10.0.0.1", 8022)] == ["[10.0.0.1]:8022"]
    assert [p.device for p in store.forget("core-b")] == ["core-b"]
    assert [p.host for p in store.entries()] == ["10.0.0.1"]


def test_file_is_readable_by_paramiko_and_netmiko_options(
    server: Server, store: HostKeyStore
) -> None:
    options = store.netmiko_options(ADDRESS, server.port, device="radio-x")
    assert options == {
        "ssh_strict": True,
        "system_host_keys": False,
        "alt_host_keys": True,
        "alt_key_file": str(store.path),
    }
    assert server.logins == []  # recorded without logging in
    known = paramiko.HostKeys(str(store.path))
    assert known.lookup(host_id(ADDRESS, server.port))["ssh-ed25519"] == server.public()
    # what netmiko does with those options: a strict client with this file
    client = paramiko.SSHClient()
    client.load_host_keys(options["alt_key_file"])
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(ADDRESS, server.port, USER, PASSWORD, look_for_keys=False, allow_agent=False)
    client.close()
    server.stop()
    server.start(asyncssh.generate_private_key("ssh-ed25519"))
    with pytest.raises(HostKeyError, match="changed"):
        store.netmiko_options(ADDRESS, server.port, device="radio-x")


def test_lab_restart_replaces_the_pins(server: Server, store: HostKeyStore) -> None:
    _run(_target(server, store))
    server.stop()
    server.start(asyncssh.generate_private_key("ssh-ed25519"))
    problems = pin_current_keys(store, [(ADDRESS, server.port, "gw-test"), (ADDRESS, 1, "gone")])
    assert set(problems) == {"gone"}
    assert [p.fingerprint for p in store.entries()] == [fingerprint(server.public())]
    assert _run(_target(server, store)) == "pong\n"


def test_default_store_is_the_state_directory(server: Server) -> None:
    # SshTarget without a store pins into $KOPNET_STATE/known_hosts (set per test by conftest)
    assert default_state_dir() == Path(os.environ["KOPNET_STATE"])
    _run(_target(server))
    pins = HostKeyStore.open().entries()
    assert [p.device for p in pins] == ["gw-test"]


def test_unparseable_lines_are_kept_and_skipped(store: HostKeyStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text("# a comment\ngarbage\n")
    assert store.entries() == []
    assert PinnedKey.parse("h ssh-ed25519 AAAA kopnet device=x added=y") == PinnedKey(
        "h", "ssh-ed25519", "AAAA", "x", "y"
    )


def test_an_unwritable_store_is_a_host_key_error_not_a_retry(
    server: Server, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    state.write_text("a file where the state directory should be")
    store = HostKeyStore.open(state)
    with pytest.raises(HostKeyError, match=r"cannot (record|read) the"):
        connect(_target(server, store), attempts=3, backoff=5.0)  # would take 15 s if retried
    assert server.logins == []


def test_airos_driver_transport_pins_host_keys(server: Server, store: HostKeyStore) -> None:
    from kopnet_iac.drivers.airos.transport import Endpoint, SSHSession

    endpoint = Endpoint(
        "sec-x", ADDRESS, USER, PASSWORD, ssh_port=server.port, timeout=5.0, host_keys=store
    )
    assert PASSWORD not in repr(endpoint)
    session = SSHSession(endpoint)
    session.open()
    session.close()
    assert [p.device for p in store.entries()] == ["sec-x"]
    server.stop()
    server.start(asyncssh.generate_private_key("ssh-ed25519"))
    logins = len(server.logins)
    with pytest.raises(HostKeyError, match="changed"):
        SSHSession(endpoint).open()
    assert len(server.logins) == logins
