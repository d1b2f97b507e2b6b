"""The wire in front of an emulated device: a TCP relay per service with a link model.

Each service of a device (RouterOS API and API-SSL, SSH, airOS HTTP and HTTPS) listens on a
private loopback port; the device's :class:`Wire` listens on the public address and port and
relays every connection to it, so everything that crosses the wire — TCP connect, TLS and SSH
handshakes, login, every request and answer — is counted (:mod:`kopnet_iac.lab.wirestats`) and
passes the same link.

The link model (fields ``link_*`` of the device's :class:`~kopnet_iac.lab.faults.Faults`, read
for every chunk, so a change at runtime applies at once):

* ``link_rtt_ms``: round-trip time; every chunk of bytes is delivered half of it after it was
  sent, in both directions, in order. A new connection pays the TCP handshake: the device sees it
  1.5 RTT after the client connected and the client's first bytes arrive no earlier than that,
  so a flow that opens more connections pays for each; requests sent back to back share their
  trip (pipelining pays one round trip, not one per request);
* ``link_jitter_ms``: up to this much extra one-way delay per chunk (never reordering);
* ``link_loss_burst_ms`` every ``link_loss_every_s``: an outage of the link; a chunk in flight
  during one arrives one-way after the link is back (as a TCP retransmission would);
* ``link_kbps``: bandwidth of each direction; a chunk occupies the link for its size;
* ``link_nagle`` (on by default): the client's TCP runs Nagle's algorithm, as it does unless the
  client sets TCP_NODELAY (librouteros, paramiko and netmiko do not): a small write made while
  its earlier data is unacknowledged waits for the ACK, which comes back one RTT later with the
  device's answer. The relay's own TCP acknowledges at once on loopback, so this is modelled.

The per-command ``latency_ms`` fault stays separate: it models a slow device, not a slow link.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import math
import random
import socket
import struct
import termios
import time
from dataclasses import dataclass, field

from kopnet_iac.lab.faults import Faults
from kopnet_iac.lab.wirestats import ConnStats, WireStats

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
MAX_QUEUED = 16 * 1024 * 1024  # bytes in flight per direction before the relay stops reading
_EOF = b""
CLOSE_GRACE = 2.0  # seconds relayed connections may outlive their device going down
MSS = 1448  # a full TCP segment: Nagle's algorithm never holds one back
DELAYED_ACK = 0.04  # the device's TCP acknowledges on its own after this when it has no data
# A client's small write held by its own kernel's Nagle shows up here at least the relay's
# delayed-ACK time (40 ms) after the previous one; writes closer together went out together
NAGLE_GAP = 0.01


@dataclass
class _Direction:
    """Delivery schedule of one direction of one connection."""

    not_before: float = 0.0  # nothing is delivered earlier (the TCP handshake)
    free_at: float = 0.0  # when the sender's link finishes the previous chunk (bandwidth)
    last: float = 0.0  # delivery time of the previous chunk (order is kept)
    queue: asyncio.Queue[tuple[float, bytes]] = field(default_factory=asyncio.Queue)
    queued: int = 0
    room: asyncio.Event = field(default_factory=asyncio.Event)
    peer_reader: asyncio.StreamReader | None = None  # the other end's reader (to the client)
    # Nagle's algorithm on the client's side (upstream only)
    ack_due: float = 0.0  # when the ACK of the client's data in flight gets back to it
    held: bytearray = field(default_factory=bytearray)  # small writes waiting for that ACK
    release: asyncio.TimerHandle | None = None
    last_read: float = 0.0
    upstream: _Direction | None = None  # (downstream) the client's direction, for piggybacks


class Link:
    """Delivery times under the device's current link settings."""

    def __init__(self, faults: Faults, epoch: float | None = None) -> None:
        self.faults = faults
        self.epoch = time.monotonic() if epoch is None else epoch
        self.rng = random.Random(0)

    @property
    def rtt(self) -> float:
        return self.faults.link_rtt_ms / 1000.0

    def active(self) -> bool:
        f = self.faults
        return bool(f.link_rtt_ms or f.link_jitter_ms or f.link_loss_burst_ms or f.link_kbps)

    def deliver_at(self, direction: _Direction, sent: float, size: int) -> float:
        """When a chunk of ``size`` bytes sent at ``sent`` arrives at the other end."""
        f = self.faults
        one_way = f.link_rtt_ms / 2000.0
        if f.link_jitter_ms:
            one_way += self.rng.uniform(0.0, f.link_jitter_ms) / 1000.0
        start = max(sent, direction.not_before)
        if f.link_kbps > 0 and size:
            start = max(start, direction.free_at) + size * 8 / (f.link_kbps * 1000.0)
            direction.free_at = start
        arrive = start + one_way
        if f.link_loss_burst_ms > 0 and f.link_loss_every_s > 0:
            arrive = self._after_outage(start, arrive, one_way)
        arrive = max(arrive, direction.last)
        direction.last = arrive
        return arrive

    def _after_outage(self, start: float, arrive: float, one_way: float) -> float:
        """Outages of ``link_loss_burst_ms`` begin every ``link_loss_every_s`` after the epoch."""
        period = self.faults.link_loss_every_s
        burst = self.faults.link_loss_burst_ms / 1000.0
        k = max(1, math.floor((start - self.epoch) / period))
        for index in (k, k + 1):
            begin = self.epoch + index * period
            end = begin + min(burst, period)
            if begin < arrive and start < end:  # the chunk was in flight during the outage
                return max(arrive, end + one_way)
        return arrive


class Wire:
    """The public side of one device: relay listeners, relayed connections, stats."""

    def __init__(self, hostname: str, faults: Faults) -> None:
        self.hostname = hostname
        self.faults = faults
        self.stats = WireStats()
        self.link = Link(faults)
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def listen(self, service: str, host: str, port: int) -> socket.socket:
        """Listen on ``host:port`` for ``service``; return the private listening socket the
        emulator must serve it on (``sock=`` of asyncio, asyncssh and aiohttp servers).

        Raises OSError when the public address is taken."""
        backend = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            backend.bind((host, 0))
            backend.listen(128)
            backend.setblocking(False)
            address = backend.getsockname()[:2]

            async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                await self._relay(service, address, reader, writer)

            server = await asyncio.start_server(accept, host, port, reuse_address=True, limit=CHUNK)
        except BaseException:
            backend.close()
            raise
        self._servers.append(server)
        return backend

    async def close(self) -> None:
        """Stop listening (the device is going down): new connections are refused."""
        for server in self._servers:
            server.close()
        self._servers.clear()

    async def wait_closed(self) -> None:
        """Once the device has dropped its sessions: let each relayed connection deliver what the
        device had sent (it was on the wire) and end; cut those still open after a grace time."""
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=self.link.rtt + CLOSE_GRACE)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)

    # ---- one connection ------------------------------------------------------------------------
    async def _relay(
        self,
        service: str,
        backend_address: tuple[str, int],
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        accepted = time.monotonic()
        peer = client_writer.get_extra_info("peername")
        conn = self.stats.opened(service, f"{peer[0]}:{peer[1]}" if peer else "?")
        upstream = _Direction()
        downstream = _Direction(peer_reader=client_reader, upstream=upstream)
        rtt = self.link.rtt
        upstream.not_before = accepted + rtt  # the client's data leaves after its SYN-ACK
        backend_writer: asyncio.StreamWriter | None = None
        pumps: set[asyncio.Future[None]] = set()
        try:
            pumps.add(asyncio.ensure_future(self._read(client_reader, upstream, conn, True)))
            if rtt:
                await asyncio.sleep(1.5 * rtt)  # SYN, SYN-ACK, ACK: the device accepts now
            backend_reader, backend_writer = await asyncio.open_connection(
                *backend_address, limit=CHUNK
            )
            local = backend_writer.get_extra_info("sockname")
            if local:
                self.stats.bind_backend(conn, (str(local[0]), int(local[1])))
            to_client = asyncio.ensure_future(self._deliver(downstream, client_writer, conn, True))
            pumps |= {
                asyncio.ensure_future(self._deliver(upstream, backend_writer, conn, False)),
                asyncio.ensure_future(self._read(backend_reader, downstream, conn, False)),
                to_client,
            }
            while not to_client.done():  # the relay ends when the device's side has ended
                done, pumps = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
                for pump in done:
                    pump.result()  # a failed pump ends the connection
            with contextlib.suppress(OSError):
                await asyncio.wait_for(client_writer.wait_closed(), 5.0)
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            pass  # the device is down or a side went away: the connection ends
        except asyncio.CancelledError:
            pass  # the device went down
        finally:
            for pump in pumps:
                pump.cancel()
            for writer in (client_writer, backend_writer):
                if writer is not None:
                    writer.transport.abort()
            self.stats.closed(conn)
            self._tasks.discard(task)

    async def _read(
        self,
        reader: asyncio.StreamReader,
        direction: _Direction,
        conn: ConnStats,
        from_client: bool,
    ) -> None:
        """Read chunks as they are sent and schedule their delivery; EOF (or a reset) last."""
        transport = getattr(reader, "_transport", None)
        reader_socket = transport.get_extra_info("socket") if transport is not None else None
        while True:
            try:
                data = await reader.read(CHUNK)
            except OSError:
                data = _EOF
            if from_client:
                if self.faults.link_nagle and self.link.rtt:
                    _delay_acks(reader_socket)
                self._upstream(direction, conn, data)
            else:
                self._send(direction, conn, time.monotonic(), data, False)
            if not data:
                return
            while direction.queued > MAX_QUEUED:
                direction.room.clear()
                await direction.room.wait()

    def _send(
        self, direction: _Direction, conn: ConnStats, now: float, data: bytes, from_client: bool
    ) -> None:
        """Put a chunk on the link (an empty chunk is the EOF)."""
        if data and from_client:
            self.stats.client_bytes(conn, len(data))
            if self.faults.link_nagle and self.link.rtt:
                direction.ack_due = max(now, direction.not_before) + self.link.rtt
        direction.queue.put_nowait((self.link.deliver_at(direction, now, len(data)), data))
        direction.queued += len(data)

    def _upstream(self, direction: _Direction, conn: ConnStats, data: bytes) -> None:
        """A chunk the client wrote. With ``link_nagle`` (the client's TCP runs Nagle's
        algorithm, as librouteros', paramiko's and netmiko's do) a small write made while the
        client's earlier data is not acknowledged yet waits for that ACK: it comes back with
        the device's next data or after the device's delayed-ACK time. So requests written
        one by one cost a round trip more than requests written together."""
        now = time.monotonic()
        gap, direction.last_read = now - direction.last_read, now
        waiting = (
            self.faults.link_nagle
            and self.link.rtt > 0
            and now < direction.ack_due
            and gap >= NAGLE_GAP
        )
        if data and (waiting or direction.held):
            direction.held += data
            if len(direction.held) < MSS:
                if direction.release is None:
                    delay = max(0.0, direction.ack_due + DELAYED_ACK - now)
                    direction.release = asyncio.get_running_loop().call_later(
                        delay, self._release, direction, conn
                    )
                return
            self._release(direction, conn)  # a full segment goes at once, with what was held
            return
        self._release(direction, conn)  # anything held goes before an EOF
        self._send(direction, conn, now, data, True)

    def _release(self, direction: _Direction, conn: ConnStats) -> None:
        if direction.release is not None:
            direction.release.cancel()
            direction.release = None
        if direction.held:
            data = bytes(direction.held)
            direction.held.clear()
            self._send(direction, conn, time.monotonic(), data, True)

    async def _deliver(
        self,
        direction: _Direction,
        writer: asyncio.StreamWriter,
        conn: ConnStats,
        to_client: bool,
    ) -> None:
        """Write chunks at their delivery time; at EOF end this direction (the device's EOF ends
        the client's connection: it is closed, after everything before it was delivered)."""
        while True:
            at, data = await direction.queue.get()
            delay = at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if not data:
                with contextlib.suppress(OSError):
                    if to_client:
                        writer.close()
                    elif writer.can_write_eof():
                        writer.write_eof()
                return
            if to_client:  # counted before the client can see it
                self.stats.device_bytes(conn, len(data), _unread(direction.peer_reader, writer))
            writer.write(data)
            up = direction.upstream
            if up is not None and up.held and time.monotonic() >= up.ack_due:
                self._release(up, conn)  # the client's ACK came back with this data
            direction.queued -= len(data)
            direction.room.set()
            await writer.drain()


def _unread(reader: asyncio.StreamReader | None, writer: asyncio.StreamWriter) -> int:
    """Bytes the client has sent that the relay has not read yet: in the reader's buffer or
    still in the socket (FIONREAD)."""
    if reader is None:
        return 0
    pending = len(getattr(reader, "_buffer", b""))
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, ValueError):
            raw = fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
            pending += struct.unpack("i", raw)[0]
    return pending


def _delay_acks(sock: socket.socket | None) -> None:
    """Let the relay's TCP delay its ACKs (as it may: 40 ms or more), so that a client whose
    TCP runs Nagle's algorithm holds back its next small write as it would on the real link,
    where the ACK takes a round trip; a client with TCP_NODELAY sends it at once."""
    if sock is not None:
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
