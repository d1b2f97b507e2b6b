"""Wire cost accounting of one emulated device: TCP connections, round trips, bytes, commands.

Every service of a lab device (RouterOS API and API-SSL, SSH, airOS HTTP and HTTPS) is reached
through the device's link relay (:mod:`kopnet_iac.lab.wire`), which reports here what crosses the
wire, counted at the client's end of the link:

* a **connection** is one accepted TCP connection (a bare connect-and-close probe counts too);
* **bytes** are counted each way as they cross the wire, TLS and SSH framing included:
  ``bytes_to_device`` (client to device) and ``bytes_from_device``;
* a **round trip** is one request/response exchange: a burst of bytes from the client followed by
  a burst from the device. It is counted when the device's answer reaches the client and the
  client has sent something since the previous answer reached it. Requests sent back to back
  without waiting for an answer (pipelined, e.g. tagged API sentences) therefore count once, a
  client that waits for each answer pays one per request, and bytes the device sends on its own
  (an SSH banner before the client spoke) open no exchange. Client bytes still unread by the
  relay when an answer is delivered were sent before the client could see it, so they join the
  exchange that answer ends (this keeps pipelining counted once even without link delay, when
  the device may answer the first request before the relay has read the next). Without link
  delay a client that writes a pipelined batch as separate writes, slower than the device
  answers, is indistinguishable from one that waits: give the link a little delay (e.g.
  ``link_rtt_ms=20``) to count such batches exactly. The TCP handshake is not a round trip
  here (it is a connection); the link model charges its time.

Counters are kept in total, per service (``by_service``) and per client IP address
(``by_client``, so a measurement can leave out a poller of its own), and per connection.

The emulators also classify every command they receive (:func:`classify_routeros_api`,
:func:`classify_routeros_console`, :func:`classify_airos_shell`, :func:`classify_airos_http`):
``config`` for anything that changes the device's state (configuration, files, scheduler,
password, reboot; anything unknown counts as ``config`` so "zero configuration commands" is a
safe claim), ``read`` for pure reads and ``session`` for login, logout, quit and cancel.

All methods are thread-safe: tests that run emulators on a loop in another thread read
``device.wire.stats.snapshot()`` directly.
"""

from __future__ import annotations

import re
import shlex
import threading
import time
from dataclasses import dataclass
from typing import Any

CONFIG = "config"
READ = "read"
SESSION = "session"
KINDS = (CONFIG, READ, SESSION)
CLOSED_KEPT = 200  # closed connections remembered per device (the counters keep everything)

# RouterOS: verbs that only read. Anything with ``file=`` writes a file, so it is not a read.
ROUTEROS_READ_VERBS = frozenset(
    {"print", "getall", "get", "listen", "export", "find", "monitor", "monitor-traffic", "ping"}
)
ROUTEROS_SESSION_VERBS = frozenset({"login", "quit", "cancel", "exit"})
ROUTEROS_CONFIG_WORDS = frozenset(
    {
        "add",
        "set",
        "remove",
        "unset",
        "enable",
        "disable",
        "comment",
        "move",
        "import",
        "run",
        "reboot",
        "shutdown",
        "reset-configuration",
        "save",
        "load",
        "edit",
        "execute",
        "fetch",
    }
)
# airOS busybox programs that only read (when their output goes nowhere but the session)
AIROS_READ_PROGRAMS = frozenset(
    {
        "cat",
        "grep",
        "egrep",
        "head",
        "tail",
        "wc",
        "md5sum",
        "sha1sum",
        "sha256sum",
        "cut",
        "sort",
        "uniq",
        "ls",
        "ps",
        "uptime",
        "date",
        "uname",
        "id",
        "pwd",
        "echo",
        "printf",
        "true",
        "test",
        "[",
        "mca-status",
        "ubntbox",
        "ifconfig",
        "iwconfig",
        "wstalist",
        "hostname",
        "free",
        "df",
        "dmesg",
    }
)
AIROS_SESSION_PROGRAMS = frozenset({"exit", "logout"})
AIROS_HTTP_SESSION_PATHS = frozenset({"/api/auth", "/api/auth/logout", "/login.cgi", "/logout.cgi"})


@dataclass
class ConnStats:
    """Counters of one TCP connection."""

    id: int
    service: str
    peer: str
    opened: float  # wall clock (time.time())
    closed: float | None = None
    bytes_to_device: int = 0
    bytes_from_device: int = 0
    round_trips: int = 0
    config_commands: int = 0
    read_commands: int = 0
    session_commands: int = 0
    client_spoke: bool = False  # client bytes seen since the last answer reached the client
    sent_before: int = 0  # client bytes not read yet that were sent before the last answer

    @property
    def client(self) -> str:
        """The client's IP address (``peer`` without the port)."""
        return self.peer.rpartition(":")[0] or self.peer

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "service": self.service,
            "peer": self.peer,
            "opened": round(self.opened, 3),
            "closed": None if self.closed is None else round(self.closed, 3),
            "bytes_to_device": self.bytes_to_device,
            "bytes_from_device": self.bytes_from_device,
            "round_trips": self.round_trips,
            "config_commands": self.config_commands,
            "read_commands": self.read_commands,
            "session_commands": self.session_commands,
        }


_COUNTERS = (
    "connections",
    "round_trips",
    "bytes_to_device",
    "bytes_from_device",
    "config_commands",
    "read_commands",
    "session_commands",
)


class WireStats:
    """Counters of one device since the last reset, per service and per connection."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_id = 1
        self._open: dict[int, ConnStats] = {}
        self._closed: list[ConnStats] = []
        self._backend: dict[tuple[str, int], ConnStats] = {}
        self._zero()

    def _zero(self) -> None:
        self.since = time.time()
        self.totals: dict[str, int] = dict.fromkeys(_COUNTERS, 0)
        self.by_service: dict[str, dict[str, int]] = {}
        self.by_client: dict[str, dict[str, int]] = {}

    def _add(self, service: str, counter: str, amount: int = 1, client: str = "") -> None:
        self.totals[counter] += amount
        for table, key in ((self.by_service, service), (self.by_client, client)):
            if key:
                row = table.get(key)
                if row is None:
                    row = table[key] = dict.fromkeys(_COUNTERS, 0)
                row[counter] += amount

    # ---- reported by the relay ---------------------------------------------------------------
    def opened(self, service: str, peer: str) -> ConnStats:
        with self._lock:
            conn = ConnStats(self._next_id, service, peer, time.time())
            self._next_id += 1
            self._open[conn.id] = conn
            self._add(service, "connections", client=conn.client)
            return conn

    def bind_backend(self, conn: ConnStats, address: tuple[str, int]) -> None:
        """Remember the address the emulator sees as the peer of ``conn``."""
        with self._lock:
            if conn.id in self._open:
                self._backend[address] = conn

    def closed(self, conn: ConnStats) -> None:
        with self._lock:
            if self._open.pop(conn.id, None) is None:
                return
            conn.closed = time.time()
            for address in [a for a, c in self._backend.items() if c is conn]:
                del self._backend[address]
            self._closed.append(conn)
            if len(self._closed) > CLOSED_KEPT:
                del self._closed[: len(self._closed) - CLOSED_KEPT]

    def client_bytes(self, conn: ConnStats, count: int) -> None:
        with self._lock:
            conn.bytes_to_device += count
            self._add(conn.service, "bytes_to_device", count, conn.client)
            early = min(conn.sent_before, count)
            conn.sent_before -= early
            if count > early:
                conn.client_spoke = True

    def device_bytes(self, conn: ConnStats, count: int, client_pending: int = 0) -> None:
        """Bytes from the device reach the client: maybe the end of one exchange.

        ``client_pending``: client bytes the relay has not read yet. The client sent them before
        it could see this answer, so when this answer ends an exchange they belong to it (a
        pipelined request read a moment late), not to a new one."""
        with self._lock:
            conn.bytes_from_device += count
            self._add(conn.service, "bytes_from_device", count, conn.client)
            if conn.client_spoke:
                conn.client_spoke = False
                conn.sent_before = client_pending
                conn.round_trips += 1
                self._add(conn.service, "round_trips", client=conn.client)

    # ---- reported by the emulators -----------------------------------------------------------
    def command(self, kind: str, peer: Any = None, service: str = "") -> None:
        """Count one received command of ``kind`` (config/read/session) on the connection whose
        device-side peer address is ``peer`` (as the emulator sees it), if known."""
        counter = f"{kind if kind in KINDS else CONFIG}_commands"
        with self._lock:
            address = _address(peer)
            conn = self._backend.get(address) if address is not None else None
            client = ""
            if conn is not None:
                setattr(conn, counter, getattr(conn, counter) + 1)
                service, client = conn.service, conn.client
            self._add(service or "unknown", counter, client=client)

    # ---- read by the lab, the CLI and tests ----------------------------------------------------
    def reset(self) -> None:
        """Forget everything counted so far (open connections count again from zero)."""
        with self._lock:
            self._reset_locked()

    def _reset_locked(self) -> None:
        self._zero()
        self._closed.clear()
        for conn in self._open.values():
            conn.bytes_to_device = conn.bytes_from_device = conn.round_trips = 0
            conn.config_commands = conn.read_commands = conn.session_commands = 0
            conn.client_spoke = False
            conn.sent_before = 0

    def snapshot(self, *, reset: bool = False, connections: bool = True) -> dict[str, Any]:
        """Totals, per-service counters and (with ``connections``) the connection list, JSON-ready;
        with ``reset`` the counters start again from zero after being read."""
        with self._lock:
            out: dict[str, Any] = {
                "since": round(self.since, 3),
                **self.totals,
                "open_connections": len(self._open),
                "by_service": {name: dict(row) for name, row in sorted(self.by_service.items())},
                "by_client": {name: dict(row) for name, row in sorted(self.by_client.items())},
            }
            if connections:
                conns = sorted([*self._closed, *self._open.values()], key=lambda c: c.id)
                out["connection_log"] = [c.as_dict() for c in conns]
            if reset:
                self._reset_locked()
            return out


def _address(peer: Any) -> tuple[str, int] | None:
    if isinstance(peer, tuple | list) and len(peer) >= 2:
        return (str(peer[0]), int(peer[1]))
    return None


# ---- command classification ----------------------------------------------------------------
def classify_routeros_api(words: list[str]) -> str:
    """``config``/``read``/``session`` of one API sentence (its words, command first)."""
    if not words:
        return SESSION
    verb = words[0].rstrip("/").rsplit("/", 1)[-1]
    if verb in ROUTEROS_SESSION_VERBS:
        return SESSION
    if words[0] == "/execute":  # a script: what it does decides (its output to a file writes)
        script = next((w[len("=script=") :] for w in words if w.startswith("=script=")), "")
        if any(w.startswith("=file=") for w in words[1:]) or not script:
            return CONFIG
        return classify_routeros_console(script)
    if verb in ROUTEROS_READ_VERBS and not any(w.startswith("=file=") for w in words[1:]):
        return READ
    return CONFIG


def classify_routeros_console(line: str) -> str:
    """``config``/``read``/``session`` of one console line (scripting included): ``config`` if any
    word is a verb that changes something (or a ``file=`` is written), ``read`` if the line has a
    read verb and nothing else, ``session`` for quit/exit, ``config`` when no verb is known."""
    words: list[str] = []
    writes_file = False
    for raw in re.split(r"[\s\[\]{}();]+", line):
        if raw.startswith("file="):
            writes_file = True
        if not raw or "=" in raw or raw.startswith(("$", '"')):
            continue
        words.extend(part.lstrip(":") for part in raw.split("/") if part)
    if not words:
        return SESSION
    if writes_file or any(word in ROUTEROS_CONFIG_WORDS for word in words):
        return CONFIG
    if any(word in ROUTEROS_READ_VERBS or word == "put" for word in words):
        return READ
    if all(word in ROUTEROS_SESSION_VERBS for word in words):
        return SESSION
    return CONFIG


def classify_airos_shell(line: str) -> str:
    """``config``/``read``/``session`` of one airOS shell line: ``read`` only when every program
    of the line only reads and no output is redirected to a file (``/dev/null`` aside)."""
    first = line.split("\n", 1)[0]
    lexer = shlex.shlex(first, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        return CONFIG
    if not tokens:
        return SESSION
    programs: list[str] = []
    expect_program = True
    for index, token in enumerate(tokens):
        if token in (">", ">>"):
            target = tokens[index + 1].rstrip(")") if index + 1 < len(tokens) else ""
            if target != "/dev/null":
                return CONFIG
            continue
        if set(token) <= set(";&|<>"):
            expect_program = True
            continue
        if expect_program:
            program = token.rsplit("/", 1)[-1]
            if program == "kill" and tokens[index + 1 : index + 2] == ["-0"]:
                program = "kill -0"  # only asks whether a process exists
            programs.append(program)
            expect_program = False
    if programs and all(p in AIROS_SESSION_PROGRAMS for p in programs):
        return SESSION
    if all(p in AIROS_READ_PROGRAMS or p == "kill -0" for p in programs):
        if "hostname" in programs and len(tokens) > 1 and tokens[0] == "hostname":
            return CONFIG  # ``hostname NAME`` sets it
        return READ
    return CONFIG


def classify_airos_http(method: str, path: str) -> str:
    """``config``/``read``/``session`` of one airOS HTTP request."""
    if path in AIROS_HTTP_SESSION_PATHS:
        return SESSION
    if method.upper() in ("GET", "HEAD", "OPTIONS"):
        return READ
    return CONFIG
