"""Run an emulated airOS device in a background event loop thread for a test."""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kopnet_iac.lab.airos import AirOSDevice
from kopnet_iac.lab.faults import Faults
from kopnet_iac.lab.spec import DeviceSpec, LinkSpec, LinkState
from tests.addresses import claim_block

T = TypeVar("T")
_addresses = itertools.count(2)
# one /24 per test process, so test runs side by side on one machine do not share addresses
_BLOCK = os.environ.get("KOPNET_TEST_AIROS_LAB_PREFIX") or claim_block("127.76", 200, 50)


class AllUpNetwork:
    """Every link of the spec is up unless its port is in ``down``; ping answers nothing."""

    def __init__(self, spec_links: tuple[LinkSpec, ...]) -> None:
        self.links = {link.local_port: link for link in spec_links}
        self.down: set[str] = set()

    def link_state(self, hostname: str, port: str) -> LinkState | None:
        link = self.links.get(port)
        if link is None:
            return None
        return LinkState(
            running=port not in self.down,
            peer_hostname=link.peer_hostname,
            peer_port=link.peer_port,
            signal_dbm=link.signal_dbm,
        )

    def ping(self, source_hostname: str, address: str) -> bool:
        return False


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class RadioHarness:
    def __init__(self, device: AirOSDevice, network: AllUpNetwork, loop: LoopThread) -> None:
        self.device = device
        self.network = network
        self.loop = loop

    @property
    def spec(self) -> DeviceSpec:
        return self.device.spec


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture
def make_radio(tmp_path: Path, loop_thread: LoopThread) -> Iterator[Callable[..., RadioHarness]]:
    started: list[AirOSDevice] = []

    def make(factory_default: bool = False, faults: Faults | None = None) -> RadioHarness:
        host = f"{_BLOCK}.{next(_addresses)}"
        links = (
            LinkSpec(
                local_port="ath0",
                peer_hostname="bh-b",
                peer_port="ath0",
                kind="wireless",
                signal_dbm=-57,
                tx_rate_mbps=300,
                rx_rate_mbps=280,
                frequency_mhz=5765,
            ),
        )
        spec = DeviceSpec(
            village="testvillage",
            hostname="bh-a",
            platform="airos",
            model="LiteBeam 5AC Gen2",
            host=host,
            api_port=None,
            ssh_port=8022,
            http_port=8080,
            https_port=8443,
            username="kopnet",
            password="lab-fake-pw",
            factory_default=factory_default,
            boot_seconds=0.3,
            links=links,
            ports=("eth0", "ath0"),
            wireless=True,
            role="backhaul-radio",
        )
        network = AllUpNetwork(links)
        device = AirOSDevice(spec, tmp_path / "devices", network, faults)
        loop_thread.run(device.start())
        started.append(device)
        return RadioHarness(device, network, loop_thread)

    yield make
    for device in started:
        loop_thread.run(device.stop())
