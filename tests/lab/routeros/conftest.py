"""Run emulated RouterOS devices in a background event loop thread for tests."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kopnet_iac.lab.faults import Faults
from kopnet_iac.lab.routeros.device import RouterOSDevice
from kopnet_iac.lab.spec import DeviceSpec, LinkState

T = TypeVar("T")
_ADDRESSES = itertools.count(2)
TEST_PASSWORD = "lab-fake-pw"  # obviously fake, only for the emulator


class FakeNetwork:
    """All links up; ping answers the addresses any registered device has configured."""

    def __init__(self) -> None:
        self.devices: list[RouterOSDevice] = []
        self.down: set[str] = set()

    def link_state(self, hostname: str, port: str) -> LinkState | None:
        if port in self.down:
            return LinkState(running=False)
        return LinkState(
            running=True,
            peer_hostname=f"peer-of-{hostname}",
            peer_port="ether1",
            signal_dbm=-58 if port.startswith("wlan") else None,
        )

    def ping(self, source_hostname: str, address: str) -> bool:
        return any(address in d.configured_addresses() for d in self.devices)


class LoopThread:
    """An asyncio loop running in a daemon thread; ``run`` executes a coroutine there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class Lab:
    """Devices started by one test."""

    def __init__(self, loop: LoopThread, tmp: Path) -> None:
        self.loop = loop
        self.tmp = tmp
        self.network = FakeNetwork()
        self.devices: list[RouterOSDevice] = []

    def spec(self, **overrides: Any) -> DeviceSpec:
        n = next(_ADDRESSES)
        values: dict[str, Any] = {
            "village": "test",
            "hostname": f"r{n}",
            "platform": "routeros",
            "model": "RB5009UG+S+",
            "host": f"127.77.{n // 250}.{n % 250 + 2}",
            "api_port": 8728,
            "ssh_port": 8022,
            "password": TEST_PASSWORD,
            "boot_seconds": 0.3,
            "ports": ("ether1", "ether2", "ether3", "ether4", "ether5"),
        }
        values.update(overrides)
        return DeviceSpec(**values)

    def start(self, spec: DeviceSpec | None = None, faults: Faults | None = None) -> RouterOSDevice:
        device = RouterOSDevice(spec or self.spec(), self.tmp, self.network, faults)
        self.loop.run(device.start())
        self.devices.append(device)
        self.network.devices.append(device)
        return device

    def stop_all(self) -> None:
        for device in self.devices:
            self.loop.run(device.stop())


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture
def lab(loop_thread: LoopThread, tmp_path: Path) -> Iterator[Lab]:
    instance = Lab(loop_thread, tmp_path)
    yield instance
    instance.stop_all()
