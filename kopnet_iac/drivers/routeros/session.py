"""RouterOS API session with pipelined, tagged sentences: one round trip per batch.

librouteros' :class:`~librouteros.api.Api` answers one command per round trip. A
:class:`Session` keeps that object (napalm-ros getters use it) and adds :meth:`Session.batch`:
every sentence of a batch is written with its own ``.tag`` before anything is read, then the
replies are collected per tag. Sentences of one batch must not depend on each other's outcome;
a long-running command (``/import``) goes last in its batch.

Links: GEO satellite hops add ~600 ms per round trip and LEO handovers drop packets in bursts,
so the TCP connect gets its own generous timeout with retries and backoff, every read waits up
to ``timeout`` seconds, and TCP keepalives keep NAT and firewall state alive across long
``/import`` runs.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from librouteros.api import Api
from librouteros.connections import SocketTransport
from librouteros.exceptions import FatalError, LibRouterosError, ProtocolError
from librouteros.protocol import ApiProtocol, encode_sentence

from kopnet_iac.drivers.routeros.errors import DeviceConnectError, LoginRefusedError

log = logging.getLogger(__name__)

Sentence = tuple[str, dict[str, str]]
"""A command word (``/ip/address/print``) and its attributes (``{"numbers": "*1"}``); keys
starting with ``?`` are query words, ``.proplist`` and other ``.`` keys are sent as written."""


@dataclass
class Reply:
    """Answer to one sentence: ``!re`` rows, the ``!done`` attributes, the first ``!trap``."""

    rows: list[dict[str, str]] = field(default_factory=list)
    done: dict[str, str] = field(default_factory=dict)
    trap: str | None = None

    @property
    def ok(self) -> bool:
        return self.trap is None

    @property
    def ret(self) -> str:
        return self.done.get("ret", "")


@dataclass
class LinkSettings:
    """Timeouts sized for slow links (seconds)."""

    connect_timeout: float = 30.0
    timeout: float = 60.0
    connect_retries: int = 2
    backoff: float = 1.0
    keepalive_idle: int = 20
    keepalive_interval: int = 10
    keepalive_count: int = 6


def _words(attrs: dict[str, str]) -> list[str]:
    out = []
    for key, value in attrs.items():
        if key.startswith(("?", ".")):
            out.append(f"{key}={value}")
        else:
            out.append(f"={key}={value}")
    return out


def _attr(word: str) -> tuple[str, str]:
    key, _, value = word[1:].partition("=")
    return key, value


class Session:
    """One logged-in API connection to ``host`` (see the module docstring)."""

    def __init__(self, host: str, port: int, settings: LinkSettings, label: str) -> None:
        self.host = host
        self.port = port
        self.settings = settings
        self.label = label  # host name for errors and logs
        self.api: Api | None = None
        self.round_trips = 0

    # -- connection ---------------------------------------------------------------------

    def _socket(self) -> socket.socket:
        s = self.settings
        last: OSError | None = None
        for attempt in range(s.connect_retries + 1):
            try:
                sock = socket.create_connection((self.host, self.port), timeout=s.connect_timeout)
            except OSError as exc:
                last = exc
                if attempt < s.connect_retries:
                    time.sleep(s.backoff * (2**attempt))
                continue
            sock.settimeout(s.timeout)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            for name, value in (
                ("TCP_KEEPIDLE", s.keepalive_idle),
                ("TCP_KEEPINTVL", s.keepalive_interval),
                ("TCP_KEEPCNT", s.keepalive_count),
            ):
                if hasattr(socket, name):
                    sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
            return sock
        raise DeviceConnectError(
            f"cannot reach {self.host}:{self.port} after {s.connect_retries + 1} attempt(s): "
            f"{last}",
            host=self.label,
            step="connect",
        ) from last

    def open(self, username: str, password: str) -> Api:
        """Connect and log in (one round trip after the TCP handshake).

        Sentences are written and read here without librouteros' protocol logging, which
        logs every word at DEBUG level (passwords, uploaded scripts, exports with secrets).
        """
        sock = self._socket()
        protocol = ApiProtocol(transport=SocketTransport(sock=sock), encoding="utf-8")
        api = Api(protocol=protocol)
        self.api = api
        try:
            self._write(["/login", f"=name={username}", f"=password={password}"])
            trap = None
            while True:
                reply_word, words = self._read()
                if reply_word == "!trap" and trap is None:
                    trap = dict(_attr(w) for w in words if w.startswith("=")).get("message", "")
                if reply_word == "!done":
                    break
        except (LibRouterosError, OSError) as exc:
            self.close()
            raise DeviceConnectError(
                f"session lost during login: {exc}", host=self.label, step="login"
            ) from exc
        if trap is not None:
            self.close()
            raise LoginRefusedError(
                f"login as {username!r} refused: {trap}", host=self.label, step="login"
            )
        self.round_trips += 1
        log.debug("%s: logged in over the API", self.label)
        return api

    def _write(self, words: list[str]) -> None:
        assert self.api is not None
        self.api.protocol.transport.write(encode_sentence(*words, encoding="utf-8"))

    def _read(self) -> tuple[str, list[str]]:
        assert self.api is not None
        words = list(iter(self.api.protocol.readWord, ""))
        if not words:
            raise ProtocolError("empty sentence")
        if words[0] == "!fatal":
            raise FatalError(words[1] if len(words) > 1 else "fatal")
        return words[0], words[1:]

    def close(self) -> None:
        if self.api is not None:
            with contextlib.suppress(OSError):
                self.api.close()
            self.api = None

    @property
    def is_open(self) -> bool:
        return self.api is not None

    # -- pipelined batches --------------------------------------------------------------

    def batch(
        self, sentences: Sequence[Sentence], *, step: str, timeout: float | None = None
    ) -> list[Reply]:
        """Send every sentence, then read all replies: one round trip.

        Raises :class:`DeviceConnectError` (step ``step``) when the session drops or times
        out; traps are returned per sentence, not raised.
        """
        if self.api is None:
            raise DeviceConnectError("not connected", host=self.label, step=step)
        protocol = self.api.protocol
        sock: socket.socket = protocol.transport.sock
        if timeout is not None:
            sock.settimeout(timeout)
        replies = [Reply() for _ in sentences]
        pending = set(range(len(sentences)))
        try:
            data = b"".join(
                encode_sentence(command, *_words(attrs), f".tag={index}", encoding="utf-8")
                for index, (command, attrs) in enumerate(sentences)
            )
            protocol.transport.write(data)
            while pending:
                reply_word, words = self._read()
                tag = -1
                attrs_read: dict[str, str] = {}
                for word in words:
                    if word.startswith((".tag=", "=.tag=")):
                        tag = int(word.rpartition("=")[2])
                    elif word.startswith("="):
                        k, v = _attr(word)
                        attrs_read[k] = v
                if tag not in pending:
                    log.debug("%s: reply for unknown tag %s ignored", self.label, tag)
                    continue
                reply = replies[tag]
                if reply_word == "!re":
                    reply.rows.append(attrs_read)
                elif reply_word == "!trap":
                    if reply.trap is None:
                        reply.trap = attrs_read.get("message", "failure")
                elif reply_word == "!done":
                    reply.done = attrs_read
                    pending.discard(tag)
        except (LibRouterosError, OSError) as exc:
            self.close()
            kind = "timed out" if isinstance(exc, TimeoutError) else "dropped"
            raise DeviceConnectError(
                f"session {kind} waiting for {len(pending)} of {len(sentences)} answer(s): {exc}",
                host=self.label,
                step=step,
            ) from exc
        finally:
            if timeout is not None and self.api is not None:
                sock.settimeout(self.settings.timeout)
        self.round_trips += 1
        return replies
