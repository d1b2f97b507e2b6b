"""A counting TCP proxy for tests: connections, bytes each way and round trips on the wire.

A round trip is a client->device burst that opens the connection or follows an answer; the
driver writes a whole batch before reading, so each batch is exactly one.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass


@dataclass
class WireCount:
    connections: int = 0
    round_trips: int = 0
    sent: int = 0
    received: int = 0


class CountingProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.count = WireCount()
        self.server: asyncio.Server | None = None
        self.hold_up: list[float] = []  # delays for the next client->device chunks (a burst)

    async def start(self, host: str, port: int) -> None:
        self.server = await asyncio.start_server(self._handle, host, port, reuse_address=True)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.count.connections += 1
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        last = ["down"]

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, up: bool) -> None:
            while data := await src.read(65536):
                if up and self.hold_up:
                    await asyncio.sleep(self.hold_up.pop(0))  # a loss burst: TCP retransmits
                if up:
                    self.count.sent += len(data)
                    if last[0] == "down":
                        self.count.round_trips += 1
                    last[0] = "up"
                else:
                    self.count.received += len(data)
                    last[0] = "down"
                dst.write(data)
                await dst.drain()
            dst.close()

        with contextlib.suppress(ConnectionError, OSError):
            await asyncio.gather(pump(reader, up_writer, True), pump(up_reader, writer, False))
