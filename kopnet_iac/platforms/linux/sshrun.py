"""Run commands on a Linux gateway over SSH (paramiko), with timeouts and retries with backoff.

Connection problems are retried (the link may be a fading radio or a VSAT hop); a refused login
is not (retrying a wrong password only locks the account). Both end as :class:`ConnectError`
naming the village and host.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from types import TracebackType

import paramiko

from kopnet_iac.errors import ConnectError, HostKeyError
from kopnet_iac.transport.hostkeys import HostKeyStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SshTarget:
    """Where and how to log in to a gateway. ``password`` and ``key_file`` may both be given."""

    host: str
    username: str
    port: int = 22
    password: str | None = field(default=None, repr=False)  # never in a repr, log or error
    key_file: str | None = None
    hostname: str = ""
    village: str = ""
    connect_timeout: float = 10.0
    command_timeout: float = 60.0
    # Pinned host keys (default: the store in the state directory, trust on first use).
    host_keys: HostKeyStore | None = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        return self.hostname or self.host


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    stdout: str
    stderr: str


class SshSession:
    """An open SSH connection; use as a context manager (closes on exit)."""

    def __init__(self, target: SshTarget, client: paramiko.SSHClient) -> None:
        self.target = target
        self._client = client

    def run(
        self, command: str, stdin: str | None = None, timeout: float | None = None
    ) -> CommandResult:
        """Run ``command`` (one exec channel), optionally feeding ``stdin``; raises
        ConnectError when the channel fails or the command exceeds its timeout."""
        limit = self.target.command_timeout if timeout is None else timeout
        try:
            transport = self._client.get_transport()
            if transport is None or not transport.is_active():
                raise ConnectError("SSH connection closed", **self._where())
            channel = transport.open_session(timeout=self.target.connect_timeout)
            channel.settimeout(limit)
            channel.exec_command(command)
            if stdin is not None:
                channel.sendall(stdin.encode())
            channel.shutdown_write()
            out, err = bytearray(), bytearray()
            deadline = time.monotonic() + limit
            while True:
                if channel.recv_ready():
                    out += channel.recv(65536)
                elif channel.recv_stderr_ready():
                    err += channel.recv_stderr(65536)
                elif channel.exit_status_ready() and not channel.recv_ready():
                    while channel.recv_stderr_ready():
                        err += channel.recv_stderr(65536)
                    break
                else:
                    if time.monotonic() > deadline:
                        channel.close()
                        raise ConnectError(
                            f"command did not finish within {limit:g}s", **self._where()
                        )
                    time.sleep(0.01)
            status = channel.recv_exit_status()
            channel.close()
        except (paramiko.SSHException, OSError) as exc:
            raise ConnectError(f"SSH command failed: {exc}", **self._where()) from exc
        return CommandResult(status, out.decode(errors="replace"), err.decode(errors="replace"))

    def close(self) -> None:
        self._client.close()

    def _where(self) -> dict[str, str | None]:
        return {"village": self.target.village or None, "host": self.target.label, "step": "ssh"}

    def __enter__(self) -> SshSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def connect(target: SshTarget, attempts: int = 3, backoff: float = 1.0) -> SshSession:
    """Open an SSH session, the host key checked against the pinned ones first (see
    :mod:`kopnet_iac.transport.hostkeys`; a changed key is a :class:`HostKeyError`, never
    retried); unreachable hosts are retried ``attempts`` times with exponential
    backoff (``backoff``, then twice and four times that); a failed authentication is reported at once."""
    where: dict[str, str | None] = {
        "village": target.village or None,
        "host": target.label,
        "step": "ssh",
    }
    store = target.host_keys if target.host_keys is not None else HostKeyStore.open()
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        client = paramiko.SSHClient()
        try:
            store.connect(
                client,
                target.host,
                target.port,
                device=target.hostname,
                username=target.username,
                password=target.password,
                key_filename=target.key_file,
                timeout=target.connect_timeout,
                banner_timeout=target.connect_timeout,
                auth_timeout=target.connect_timeout,
                allow_agent=False,
                look_for_keys=False,
            )
        except HostKeyError:
            client.close()
            raise  # a changed key is not a flaky link: never retried
        except paramiko.AuthenticationException as exc:
            client.close()
            raise ConnectError(
                f"SSH authentication failed for user {target.username!r} "
                f"at {target.host}:{target.port}",
                **where,
            ) from exc
        except (TimeoutError, paramiko.SSHException, OSError) as exc:
            client.close()
            last = exc
            log.info(
                "%s: SSH connect attempt %d/%d to %s:%d failed: %s",
                target.label, attempt, attempts, target.host, target.port, exc,
            )  # fmt: skip
            if attempt < attempts:
                time.sleep(backoff * 2 ** (attempt - 1))
            continue
        return SshSession(target, client)
    raise ConnectError(
        f"unreachable at {target.host}:{target.port} after {attempts} attempt(s): {last}",
        **where,
    )
