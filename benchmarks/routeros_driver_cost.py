"""Wire cost of the kopnet_routeros driver vs napalm-ros on an emulated core router.

A counting TCP proxy sits between the client and the emulated RouterOS API and delays every
byte by half the round-trip time in each direction (a GEO hop by default: 600 ms RTT). It
counts TCP connections, bytes each way and round trips (a client->device burst that follows
an answer, or opens the connection). The device holds a realistic rendered core-router
config. Figures only, never pass/fail::

    .venv/bin/python benchmarks/routeros_driver_cost.py [--rtt-ms 600] [--skip-napalm-ros]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

from napalm import get_network_driver

from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.lab.routeros.device import RouterOSDevice
from kopnet_iac.render.renderer import render_device
from tests.lab.routeros.conftest import TEST_PASSWORD, FakeNetwork, LoopThread

DEVICE = "127.81.250.2"
PROXY = "127.81.250.3"
SECRETS = {"core-admin": TEST_PASSWORD, "radius-secret": "bench-rad", "snmp-community": "bench-c"}


@dataclass
class Counters:
    connections: int = 0
    round_trips: int = 0
    sent: int = 0
    received: int = 0

    def reset(self) -> None:
        self.connections = self.round_trips = self.sent = self.received = 0


class DelayProxy:
    """Forwards TCP to the device, one-way delay on the data, counting as it goes."""

    def __init__(self, one_way: float) -> None:
        self.one_way = one_way
        self.counters = Counters()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.counters.connections += 1
        up_r, up_w = await asyncio.open_connection(DEVICE, 8728)
        state = {"last": "down"}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, up: bool) -> None:
            queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

            async def deliver() -> None:
                while True:
                    due, data = await queue.get()
                    if not data:
                        dst.close()
                        return
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                    dst.write(data)
                    await dst.drain()

            task = asyncio.ensure_future(deliver())
            while True:
                data = await src.read(65536)
                if up:
                    self.counters.sent += len(data)
                    if data and state["last"] == "down":
                        self.counters.round_trips += 1
                    state["last"] = "up" if data else state["last"]
                else:
                    self.counters.received += len(data)
                    state["last"] = "down" if data else state["last"]
                queue.put_nowait((time.monotonic() + self.one_way, data))
                if not data:
                    break
            await task

        with contextlib.suppress(ConnectionError, OSError):
            await asyncio.gather(pump(reader, up_w, True), pump(up_r, writer, False))


def timed(counters: Counters, label: str, rows: list[list[Any]], flow: Any) -> None:
    counters.reset()
    start = time.monotonic()
    flow()
    wall = time.monotonic() - start
    rows.append(
        [label, counters.connections, counters.round_trips, counters.sent, counters.received, wall]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rtt-ms", type=float, default=600.0)
    parser.add_argument("--skip-napalm-ros", action="store_true")
    args = parser.parse_args()
    loop = LoopThread()
    inv = load_inventory(Path("inventory"))
    config = render_device(inv, "sukadana", "core-sukadana")["core-sukadana.rsc"]
    for name, value in SECRETS.items():
        config = config.replace(f"@@secret:{name}@@", value)
    from kopnet_iac.lab.spec import DeviceSpec

    spec = DeviceSpec(
        village="bench", hostname="core-bench", platform="routeros", model="RB5009UG+S+IN",
        host=DEVICE, password=TEST_PASSWORD, boot_seconds=1.0,
    )  # fmt: skip
    device = RouterOSDevice(spec, Path(tempfile.mkdtemp()), FakeNetwork())
    loop.run(device.start())
    assert device.router.interpreter is not None
    lab_config = config.split("\n/user\n", 1)[0] + "\n"  # users are not part of an export
    loop.run(device.router.interpreter.run_text(lab_config, source="seed"))
    proxy = DelayProxy(args.rtt_ms / 2000.0)
    server = loop.run(asyncio.start_server(proxy.handle, PROXY, 8728))
    rows: list[list[Any]] = []
    change = "/system identity\nset name=core-bench-2\n"
    back = "/system identity\nset name=core-sukadana\n"
    opts = {"port": 8728, "expected_model": "RB5009UG+S+IN", "secrets": SECRETS}

    def ours(text: str, confirm: bool = True) -> None:
        drv = get_network_driver("kopnet_routeros")(
            PROXY, "admin", TEST_PASSWORD, optional_args=opts
        )
        drv.open()
        drv.load_merge_candidate(config=text)
        if drv.compare_config():
            drv.commit_config(revert_in=60)
            if confirm and drv.has_pending_commit():
                drv.confirm_commit()
        else:
            drv.discard_config()
        drv.close()

    def ours_rollback() -> None:
        drv = get_network_driver("kopnet_routeros")(
            PROXY, "admin", TEST_PASSWORD, optional_args=opts
        )
        drv.open()
        drv.rollback()
        drv.close()

    boot = device.router.boot_time
    timed(
        proxy.counters,
        "kopnet_routeros: one-line change, armed + confirmed",
        rows,
        lambda: ours(change),
    )
    timed(proxy.counters, "kopnet_routeros: no-op", rows, lambda: ours(change))
    timed(proxy.counters, "kopnet_routeros: rollback", rows, ours_rollback)
    rebooted = device.router.boot_time != boot
    if not args.skip_napalm_ros:
        ros_opts = {"port": 8728, "ssh_port": 8022}

        def theirs(text: str) -> None:
            drv = get_network_driver("ros")(PROXY, "admin", TEST_PASSWORD, optional_args=ros_opts)
            drv.open()
            drv.load_merge_candidate(config=text)
            if drv.compare_config():
                drv.commit_config(revert_in=60)
                drv.confirm_commit()
            drv.close()

        timed(
            proxy.counters,
            "napalm-ros 1.6.1: one-line change, armed + confirmed",
            rows,
            lambda: theirs(back),
        )
        timed(
            proxy.counters,
            "napalm-ros 1.6.1: same change again (no-op)",
            rows,
            lambda: theirs(back),
        )
    server.close()
    loop.run(device.stop())
    loop.close()
    print(f"RTT {args.rtt_ms:.0f} ms (one-way delay on the data through a counting proxy)")
    print(f"{'flow':55} {'conns':>5} {'RTs':>4} {'bytes up':>9} {'bytes down':>10} {'wall s':>7}")
    for label, conns, rts, up, down, wall in rows:
        print(f"{label:55} {conns:5d} {rts:4d} {up:9d} {down:10d} {wall:7.2f}")
    print(f"rollback rebooted the device: {'yes' if rebooted else 'no'} (unreachable 0 s)")


if __name__ == "__main__":
    main()
