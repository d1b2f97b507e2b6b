"""airOS driver benchmark: what a deploy costs on a satellite hop, per operation.

    .venv/bin/python benchmarks/airos_driver.py [--rtt-ms 600] [--prefix 127.82.90]

One emulated airOS radio behind a TCP proxy that delays every byte by half the round-trip
time in each direction (a GEO hop: the TCP connect, the SSH key exchange and the login pay
for it too) and counts TCP connections, request/response exchanges (a client burst after the
server spoke) and bytes each way. Operations, each on a fresh driver as a deploy run would:

* no-op: login, read, compare (empty), commit (sends nothing);
* one-line change: login, read, compare, commit with revert armed, confirm;
* rollback of that change (no reboot: the radio's uptime keeps counting).

Prints figures only; everything it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import napalm

from kopnet_iac.lab.airos import AirOSDevice
from kopnet_iac.lab.spec import DeviceSpec, LinkSpec, LinkState

T = TypeVar("T")
SSH_PORT = 8022
HTTPS_PORT = 8443


class Network:
    def __init__(self, links: tuple[LinkSpec, ...]) -> None:
        self.links = {link.local_port: link for link in links}

    def link_state(self, hostname: str, port: str) -> LinkState | None:
        link = self.links.get(port)
        if link is None:
            return None
        return LinkState(True, link.peer_hostname, link.peer_port, link.signal_dbm)

    def ping(self, source_hostname: str, address: str) -> bool:
        return False


@dataclass
class Wire:
    connections: int = 0
    exchanges: int = 0
    up: int = 0
    down: int = 0

    def reset(self) -> None:
        self.connections = self.exchanges = self.up = self.down = 0


class DelayProxy:
    """Forward one listening address to the radio, each direction delayed by ``one_way``."""

    def __init__(self, wire: Wire, one_way: float, target: tuple[str, int]) -> None:
        self.wire = wire
        self.one_way = one_way
        self.target = target

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.wire.connections += 1
        await asyncio.sleep(self.one_way * 2)  # the TCP handshake's round trip
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        last = {"direction": ""}

        async def pipe(
            src: asyncio.StreamReader, dst: asyncio.StreamWriter, direction: str
        ) -> None:
            loop = asyncio.get_running_loop()
            queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

            async def deliver() -> None:
                while True:
                    due, data = await queue.get()
                    await asyncio.sleep(max(0.0, due - loop.time()))
                    if not data:
                        dst.close()
                        return
                    dst.write(data)
                    await dst.drain()

            sender = asyncio.create_task(deliver())
            try:
                while data := await src.read(65536):
                    if direction == "up":
                        self.wire.up += len(data)
                        if last["direction"] != "up":
                            self.wire.exchanges += 1
                    else:
                        self.wire.down += len(data)
                    last["direction"] = direction
                    queue.put_nowait((loop.time() + self.one_way, data))
            except OSError:
                pass
            queue.put_nowait((loop.time() + self.one_way, b""))
            await sender

        try:
            await asyncio.gather(
                pipe(reader, up_writer, "up"),
                pipe(up_reader, writer, "down"),
                return_exceptions=True,
            )
        except asyncio.CancelledError:
            writer.close()  # the benchmark is over


class Loop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def measure(wire: Wire, action: Callable[[], None]) -> tuple[int, int, int, int, float]:
    wire.reset()
    start = time.perf_counter()
    action()
    return wire.connections, wire.exchanges, wire.up, wire.down, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rtt-ms", type=float, default=600.0)
    parser.add_argument("--prefix", default="127.82.90")
    args = parser.parse_args()
    links = (
        LinkSpec(
            local_port="ath0",
            peer_hostname="bh-b",
            peer_port="ath0",
            kind="wireless",
            signal_dbm=-60,
            tx_rate_mbps=300,
            rx_rate_mbps=270,
            frequency_mhz=5765,
        ),
    )
    spec = DeviceSpec(
        village="bench",
        hostname="bh-a",
        platform="airos",
        model="LiteBeam-5AC-Gen2",
        host=f"{args.prefix}.2",
        api_port=None,
        ssh_port=SSH_PORT,
        http_port=None,
        https_port=HTTPS_PORT,
        username="kopnet",
        password="bench-fake-pw",
        links=links,
        ports=("eth0", "ath0"),
        wireless=True,
        role="backhaul-radio",
    )
    state_dir = Path(tempfile.mkdtemp(prefix="kopnet-airos-bench-"))
    loop = Loop()
    device = AirOSDevice(spec, state_dir, Network(links))
    wire = Wire()
    proxy = DelayProxy(wire, args.rtt_ms / 2000.0, (spec.host, SSH_PORT))
    proxy_host = f"{args.prefix}.3"
    try:
        loop.run(device.start())
        server = loop.run(asyncio.start_server(proxy.handle, proxy_host, SSH_PORT))
        driver_cls = napalm.get_network_driver("kopnet_airos")

        def session(work: Callable[[Any], None]) -> Callable[[], None]:
            def run() -> None:
                driver = driver_cls(
                    proxy_host,
                    spec.username,
                    spec.password,
                    timeout=60,
                    optional_args={"port": SSH_PORT, "name": spec.hostname},
                )
                driver.open()
                try:
                    work(driver)
                finally:
                    driver.close()

            return run

        def change(driver: Any) -> None:
            driver.load_merge_candidate(config="snmp.location=Balai desa\n")
            assert driver.compare_config()
            driver.commit_config(revert_in=120)
            driver.confirm_commit()

        def no_op(driver: Any) -> None:
            driver.load_merge_candidate(config="snmp.location=Balai desa\n")
            assert driver.compare_config() == ""
            driver.commit_config(revert_in=120)

        def rollback(driver: Any) -> None:
            driver.rollback()

        rows = [
            (
                "login only (TCP + SSH handshake + password)",
                measure(wire, session(lambda driver: None)),
            )
        ]
        rows.append(("one-line change, revert armed, confirmed", measure(wire, session(change))))
        boot_time, uptime = device._boot_time, device.uptime
        rows.append(("no-op (same change again)", measure(wire, session(no_op))))
        rows.append(("rollback", measure(wire, session(rollback))))
        rebooted = device._boot_time != boot_time or device.uptime < uptime
        print(f"airOS driver over a delaying proxy, RTT {args.rtt_ms:.0f} ms")
        print(f"{'operation':44} {'conns':>5} {'exch':>5} {'up B':>7} {'down B':>7} {'wall s':>7}")
        for name, (conns, exchanges, up, down, wall) in rows:
            print(f"{name:44} {conns:5d} {exchanges:5d} {up:7d} {down:7d} {wall:7.2f}")
        print(f"rollback rebooted the radio: {'yes' if rebooted else 'no'} (0 s unreachable)")
        server.close()
        loop.run(server.wait_closed())
    finally:
        loop.run(device.stop())
        loop.close()
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
