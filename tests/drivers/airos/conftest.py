"""Emulated airOS radios for driver tests, each on its own loopback address, and drivers
opened against them through ``napalm.get_network_driver``."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import napalm
import pytest

from kopnet_iac.lab.airos import AirOSDevice
from kopnet_iac.lab.faults import Faults
from kopnet_iac.lab.spec import DeviceSpec, LinkSpec
from tests.addresses import claim_block
from tests.lab.airos.conftest import AllUpNetwork, LoopThread, RadioHarness

# one /24 per test process, so test runs side by side on one machine do not share addresses
_PREFIX = os.environ.get("KOPNET_TEST_AIROS_PREFIX") or claim_block("127.82", 40, 50)
_addresses = itertools.count(2)

MODEL = "LiteBeam-5AC-Gen2"
USER = "kopnet"
PASSWORD = "lab-fake-pw"


@pytest.fixture
def loop_thread() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture
def make_radio(tmp_path: Path, loop_thread: LoopThread) -> Iterator[Callable[..., RadioHarness]]:
    started: list[AirOSDevice] = []

    def make(
        hostname: str = "bh-a",
        model: str = MODEL,
        faults: Faults | None = None,
        role: str = "backhaul-radio",
    ) -> RadioHarness:
        host = f"{_PREFIX}.{next(_addresses)}"
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
            hostname=hostname,
            platform="airos",
            model=model,
            host=host,
            api_port=None,
            ssh_port=8022,
            http_port=8080,
            https_port=8443,
            username=USER,
            password=PASSWORD,
            factory_default=False,
            boot_seconds=0.3,
            links=links,
            ports=("eth0", "ath0"),
            wireless=True,
            role=role,
        )
        network = AllUpNetwork(links)
        device = AirOSDevice(spec, tmp_path / "devices", network, faults)
        loop_thread.run(device.start())
        started.append(device)
        return RadioHarness(device, network, loop_thread)

    yield make
    for device in started:
        loop_thread.run(device.stop())


def driver_for(
    radio: RadioHarness,
    *,
    username: str = USER,
    password: str = PASSWORD,
    **optional: Any,
) -> Any:
    """An unopened ``kopnet_airos`` driver for a lab radio (HTTPS on the lab port)."""
    options: dict[str, Any] = {
        "port": radio.spec.ssh_port,
        "https_port": radio.spec.https_port,
        "name": radio.spec.hostname,
        "village": radio.spec.village,
    }
    options.update(optional)
    cls = napalm.get_network_driver("kopnet_airos")
    return cls(radio.spec.host, username, password, timeout=20, optional_args=options)
