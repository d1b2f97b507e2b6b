"""The SSH runner (paramiko) against a real SSH server: a small asyncssh server on 127.0.0.1
run by the test (no root needed). Exit status, stdin, stderr, large output, timeouts, refused
logins (not retried) and unreachable ports (retried with backoff)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import asyncssh
import pytest

from kopnet_iac.errors import ConnectError
from kopnet_iac.platforms.linux.sshrun import SshTarget, connect

USER, PASSWORD = "kopnet", "fake-lab-pw"


@dataclass
class Server:
    port: int
    logins: list[tuple[str, str]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)


class _Auth(asyncssh.SSHServer):
    def __init__(self, server: Server) -> None:
        self._server = server

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        self._server.logins.append((username, password))
        return (username, password) == (USER, PASSWORD)


async def _handle(process: asyncssh.SSHServerProcess[str], server: Server) -> None:
    command = process.command or ""
    server.commands.append(command)
    if command == "cat":
        process.stdout.write(await process.stdin.read())
        process.exit(0)
    elif command == "fail":
        process.stdout.write("partial\n")
        process.stderr.write("it broke\n")
        process.exit(3)
    elif command == "big":
        process.stdout.write("x" * 1_000_000 + "\n")
        process.exit(0)
    elif command.startswith("sleep "):
        await asyncio.sleep(float(command.split()[1]))
        process.exit(0)
    else:
        process.stderr.write(f"{command}: not found\n")
        process.exit(127)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    loop = asyncio.new_event_loop()
    key = asyncssh.generate_private_key("ssh-ed25519")
    state = Server(port=0)

    async def start() -> asyncssh.SSHAcceptor:
        return await asyncssh.create_server(
            lambda: _Auth(state),
            "127.0.0.1",
            0,
            server_host_keys=[key],
            process_factory=lambda p: _handle(p, state),
        )

    acceptor = loop.run_until_complete(start())
    state.port = acceptor.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield state
    loop.call_soon_threadsafe(acceptor.close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def _target(server: Server, **changes: object) -> SshTarget:
    base = SshTarget(
        host="127.0.0.1", port=server.port, username=USER, password=PASSWORD,
        hostname="gw-test", village="desa-test", connect_timeout=3.0, command_timeout=10.0,
    )  # fmt: skip
    return SshTarget(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_stdin_stdout_and_exit_status(server: Server) -> None:
    with connect(_target(server), attempts=1) as session:
        echoed = session.run("cat", stdin="line one\nline two\n")
        failed = session.run("fail")
    assert (echoed.exit_status, echoed.stdout, echoed.stderr) == (0, "line one\nline two\n", "")
    assert (failed.exit_status, failed.stdout, failed.stderr) == (3, "partial\n", "it broke\n")


def test_large_output_arrives_complete(server: Server) -> None:
    with connect(_target(server), attempts=1) as session:
        result = session.run("big")
    assert result.exit_status == 0 and len(result.stdout) == 1_000_001


def test_several_commands_share_one_connection(server: Server) -> None:
    logins = len(server.logins)
    with connect(_target(server), attempts=1) as session:
        outputs = [session.run("cat", stdin=str(i)).stdout for i in range(5)]
    assert outputs == ["0", "1", "2", "3", "4"]
    assert len(server.logins) == logins + 1


def test_a_command_over_its_timeout_is_abandoned(server: Server) -> None:
    with connect(_target(server), attempts=1) as session:
        with pytest.raises(ConnectError) as err:
            session.run("sleep 10", timeout=0.5)
        assert session.run("cat", stdin="still usable").stdout == "still usable"
    assert str(err.value) == "desa-test/gw-test/ssh: command did not finish within 0.5s"


def test_refused_login_is_not_retried(server: Server) -> None:
    before = len(server.logins)
    with pytest.raises(ConnectError) as err:
        connect(_target(server, password="wrong-fake-pw"), attempts=3, backoff=0.01)
    assert "SSH authentication failed for user 'kopnet'" in str(err.value)
    assert str(err.value).startswith("desa-test/gw-test/ssh: ")
    assert PASSWORD not in str(err.value) and "wrong-fake-pw" not in str(err.value)
    assert server.logins[before:] == [(USER, "wrong-fake-pw")]


def test_unreachable_port_is_retried_with_backoff() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = SshTarget(host="127.0.0.1", port=port, username=USER, password=PASSWORD)
    started = time.monotonic()
    with pytest.raises(ConnectError) as err:
        connect(target, attempts=3, backoff=0.2)
    waited = time.monotonic() - started
    assert f"unreachable at 127.0.0.1:{port} after 3 attempt(s)" in str(err.value)
    assert waited >= 0.2 + 0.4  # two pauses between three attempts: backoff, then doubled
