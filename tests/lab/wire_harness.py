"""Emulated devices on a loop in a background thread, for the wire accounting and link tests."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import librouteros
import paramiko
import pytest

from kopnet_iac.lab.airos import AirOSDevice
from kopnet_iac.lab.faults import Faults
from kopnet_iac.lab.routeros.device import RouterOSDevice
from kopnet_iac.lab.spec import DeviceSpec, LinkSpec, LinkState
from tests.addresses import claim_block

T = TypeVar("T")
PASSWORD = "lab-fake-pw"  # obviously fake, only for the emulators
_numbers = itertools.count(2)
# a /24 of its own per test process, so parallel runs on this machine do not collide
_SUBNET = claim_block("127.83", 100, 120)


class Network:
    """Every link up, ping answers nothing."""

    def link_state(self, hostname: str, port: str) -> LinkState | None:
        return LinkState(running=True, peer_hostname="peer", peer_port="ether1")

    def ping(self, source_hostname: str, address: str) -> bool:
        return False


class WireLab:
    """Devices started by one test, on a loop running in a daemon thread."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.devices: list[RouterOSDevice | AirOSDevice] = []

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def routeros(self, faults: Faults | None = None) -> RouterOSDevice:
        n = next(_numbers)
        spec = DeviceSpec(
            village="wire",
            hostname=f"core-w{n}",
            platform="routeros",
            model="RB5009UG+S+",
            host=f"{_SUBNET}.{n}",
            api_port=8728,
            ssh_port=8022,
            password=PASSWORD,
            boot_seconds=0.3,
            ports=("ether1", "ether2", "ether3"),
        )
        device = RouterOSDevice(spec, self.tmp, Network(), faults)
        self.run(device.start())
        self.devices.append(device)
        return device

    def airos(self, faults: Faults | None = None) -> AirOSDevice:
        n = next(_numbers)
        link = LinkSpec("ath0", "bh-b", "ath0", kind="wireless", signal_dbm=-57)
        spec = DeviceSpec(
            village="wire",
            hostname=f"bh-w{n}",
            platform="airos",
            model="LiteBeam 5AC Gen2",
            host=f"{_SUBNET}.{n}",
            api_port=None,
            ssh_port=8022,
            http_port=8080,
            https_port=8443,
            username="kopnet",
            password=PASSWORD,
            boot_seconds=0.3,
            links=(link,),
            ports=("eth0", "ath0"),
            wireless=True,
            role="backhaul-radio",
        )
        device = AirOSDevice(spec, self.tmp / "devices", Network(), faults)
        self.run(device.start())
        self.devices.append(device)
        return device

    def close(self) -> None:
        for device in self.devices:
            self.run(device.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def wire_lab(tmp_path: Path) -> Iterator[WireLab]:
    lab = WireLab(tmp_path)
    yield lab
    lab.close()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def idle(device: RouterOSDevice | AirOSDevice) -> None:
    """Wait until the relay has seen every connection of ``device`` end."""
    wait_for(lambda: device.wire.stats.snapshot(connections=False)["open_connections"] == 0)


def api(device: RouterOSDevice) -> librouteros.api.Api:
    return librouteros.connect(
        host=device.spec.host,
        username="admin",
        password=PASSWORD,
        port=device.spec.api_port or 8728,
        timeout=30,
    )


def ssh(device: RouterOSDevice | AirOSDevice, username: str = "admin") -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        device.spec.host,
        port=device.spec.ssh_port or 8022,
        username=username,
        password=PASSWORD,
        look_for_keys=False,
        allow_agent=False,
        timeout=30,
        banner_timeout=30,
        auth_timeout=30,
    )
    return client
