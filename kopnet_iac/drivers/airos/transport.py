"""Byte movers of the airOS driver: one SSH connection (exec channels) and one HTTP(S)
keep-alive connection to the radio's web API. No decisions here, only I/O and error wrapping.

Timeouts and keepalives are sized for a satellite hop (600 ms round trip, loss bursts).
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import paramiko

from kopnet_iac.drivers.airos.errors import AirOSAuthError, AirOSConnectError
from kopnet_iac.transport.hostkeys import HostKeyStore

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 20


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom to log in; ``name`` is the inventory host name used in errors."""

    name: str
    address: str
    username: str
    password: str = field(repr=False)  # never in a repr, log or error
    ssh_port: int = 22
    http_port: int | None = None
    https_port: int | None = 443
    timeout: float = 60.0
    village: str | None = None
    # pinned SSH host keys (default: the store in the state directory, trust on first use)
    host_keys: HostKeyStore | None = field(default=None, repr=False, compare=False)
    # private key for SSH public-key login, tried before the password (which stays the fallback)
    key_file: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ExecResult:
    stdout: str
    stderr: str
    status: int


class SSHSession:
    """One paramiko SSH connection; each :meth:`run` is one exec channel (one shell script)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._client: paramiko.SSHClient | None = None
        #: (type, base64) of the public key this session logged in with; None: by password
        self.login_key: tuple[str, str] | None = None

    def open(self) -> None:
        """Log in with the endpoint's key when one is given, else (or when the radio refuses
        the key) with the password."""
        ep = self.endpoint
        self.login_key = None
        if ep.key_file is not None:
            pkey = _load_key(ep)
            try:
                self._connect(pkey=pkey)
            except AirOSAuthError:
                log.info("%s: SSH key login refused, trying the password", ep.name)
            else:
                self.login_key = (pkey.get_name(), pkey.get_base64())
                return
        self._connect(password=ep.password)

    def _connect(self, **auth: Any) -> None:
        ep = self.endpoint
        client = paramiko.SSHClient()
        # Trust on first use, then the pinned key only: a radio reset to factory state gets a
        # new key and is refused until `kopnet hostkey forget` (HostKeyError, before login).
        store = ep.host_keys if ep.host_keys is not None else HostKeyStore.open()
        try:
            store.connect(
                client,
                ep.address,
                ep.ssh_port,
                device=ep.name,
                username=ep.username,
                look_for_keys=False,
                allow_agent=False,
                timeout=ep.timeout,
                banner_timeout=ep.timeout,
                auth_timeout=ep.timeout,
                **auth,
            )
        except paramiko.AuthenticationException as exc:
            client.close()
            raise AirOSAuthError(
                f"SSH login as {ep.username!r} refused by {ep.address}:{ep.ssh_port}",
                village=ep.village,
                host=ep.name,
                step="login",
            ) from exc
        except (OSError, paramiko.SSHException, EOFError) as exc:
            client.close()
            raise AirOSConnectError(
                f"cannot open SSH to {ep.address}:{ep.ssh_port}: {_reason(exc)}",
                village=ep.village,
                host=ep.name,
                step="connect",
            ) from exc
        transport = client.get_transport()
        if transport is not None:
            transport.set_keepalive(KEEPALIVE_SECONDS)
        self._client = client
        log.debug("%s: SSH open to %s:%s", ep.name, ep.address, ep.ssh_port)

    @property
    def alive(self) -> bool:
        transport = self._client.get_transport() if self._client else None
        return bool(transport and transport.is_active())

    def run(self, script: str, *, stdin: str | None = None, step: str) -> ExecResult:
        """Run ``script`` in one exec channel, feeding ``stdin``; raises on a broken session."""
        ep = self.endpoint
        if self._client is None:
            raise AirOSConnectError("not connected", village=ep.village, host=ep.name, step=step)
        try:
            channel = self._client.get_transport().open_session(timeout=ep.timeout)  # type: ignore[union-attr]
            channel.settimeout(ep.timeout)
            channel.exec_command(script)
            try:
                if stdin is not None:
                    channel.sendall(stdin.encode())
                channel.shutdown_write()
            except OSError:
                # the radio may answer (e.g. refuse) before reading its input; a broken
                # session shows as a missing exit status below
                log.debug("%s: %s: input not fully sent", ep.name, step)
            stdout = channel.makefile("rb").read().decode(errors="replace")
            stderr = channel.makefile_stderr("rb").read().decode(errors="replace")
            status = channel.recv_exit_status()
            channel.close()
        except (OSError, paramiko.SSHException, EOFError, AttributeError) as exc:
            raise AirOSConnectError(
                f"SSH session to {ep.address}:{ep.ssh_port} broke: {_reason(exc)}",
                village=ep.village,
                host=ep.name,
                step=step,
            ) from exc
        if status == -1:  # the channel closed without an exit status: the session broke
            raise AirOSConnectError(
                f"SSH session to {ep.address}:{ep.ssh_port} closed before the command finished",
                village=ep.village,
                host=ep.name,
                step=step,
            )
        return ExecResult(stdout, stderr, status)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class HTTPSession:
    """The airOS web API over one keep-alive connection: ``/api/auth`` then GETs with the
    session cookie (and ``X-CSRF-ID`` on POSTs). Self-signed device certificates are accepted
    unless a CA bundle is given."""

    def __init__(self, endpoint: Endpoint, *, ca_file: str | None = None) -> None:
        self.endpoint = endpoint
        self.ca_file = ca_file
        self._conn: http.client.HTTPConnection | None = None
        self._cookie = ""
        self._csrf = ""

    def _connection(self) -> http.client.HTTPConnection:
        ep = self.endpoint
        if ep.http_port is not None and ep.https_port is None:
            return http.client.HTTPConnection(ep.address, ep.http_port, timeout=ep.timeout)
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.ca_file is None:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(
            ep.address, ep.https_port or 443, timeout=ep.timeout, context=context
        )

    def _request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str], step: str
    ) -> tuple[int, dict[str, str], bytes]:
        ep = self.endpoint
        if self._conn is None:
            self._conn = self._connection()
        try:
            self._conn.request(method, path, body=body, headers=headers)
            response = self._conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise AirOSConnectError(
                f"HTTP {method} {path} to {ep.address} failed: {_reason(exc)}",
                village=ep.village,
                host=ep.name,
                step=step,
            ) from exc
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def login(self) -> None:
        ep = self.endpoint
        form = urllib.parse.urlencode({"username": ep.username, "password": ep.password})
        status, headers, _ = self._request(
            "POST",
            "/api/auth",
            form.encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
            "login",
        )
        if status in (401, 403):
            raise AirOSAuthError(
                f"HTTP login as {ep.username!r} refused by {ep.address}",
                village=ep.village,
                host=ep.name,
                step="login",
            )
        if status != 200:
            raise AirOSConnectError(
                f"HTTP login to {ep.address} answered {status}",
                village=ep.village,
                host=ep.name,
                step="login",
            )
        cookie = headers.get("set-cookie", "")
        self._cookie = cookie.split(";", 1)[0]
        self._csrf = headers.get("x-csrf-id", "")

    def get_json(self, path: str, *, step: str) -> Any:
        """GET a JSON document, logging in first (or again once, when the session expired)."""
        if not self._cookie:
            self.login()
        status, _, data = self._request("GET", path, None, {"Cookie": self._cookie}, step)
        if status == 401:
            self.login()
            status, _, data = self._request("GET", path, None, {"Cookie": self._cookie}, step)
        if status != 200:
            raise AirOSConnectError(
                f"HTTP GET {path} answered {status}",
                village=self.endpoint.village,
                host=self.endpoint.name,
                step=step,
            )
        try:
            return json.loads(data)
        except ValueError as exc:
            raise AirOSConnectError(
                f"HTTP GET {path} did not answer JSON",
                village=self.endpoint.village,
                host=self.endpoint.name,
                step=step,
            ) from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._cookie = ""


def _load_key(ep: Endpoint) -> paramiko.PKey:
    """The private key of ``ep.key_file`` (unencrypted; never logged)."""
    try:
        return paramiko.PKey.from_path(ep.key_file or "")
    except (OSError, ValueError, paramiko.SSHException) as exc:
        raise AirOSConnectError(
            f"cannot use the SSH key file given as key_file: {_reason(exc)}",
            village=ep.village,
            host=ep.name,
            step="login",
        ) from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
