"""Emulated RouterOS devices for the driver tests (the lab's own test harness)."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from napalm import get_network_driver

from kopnet_iac.lab.faults import Faults
from kopnet_iac.lab.routeros.device import RouterOSDevice
from tests.lab.routeros.conftest import TEST_PASSWORD, Lab, LoopThread

_HOSTS = itertools.count(2)
PREFIX = os.environ.get("KOPNET_LAB_PREFIX", "127.81")
MODEL = "RB5009UG+S+IN"

__all__ = ["MODEL", "TEST_PASSWORD", "Lab", "wait_for"]


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, step: float = 0.05) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


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


def start_router(lab: Lab, faults: Faults | None = None, **spec: Any) -> RouterOSDevice:
    n = next(_HOSTS)
    values: dict[str, Any] = {
        "host": f"{PREFIX}.{100 + n // 250}.{n % 250 + 2}",
        "model": MODEL,
        "hostname": f"core-t{n}",
        "serial": "HE10TEST001",
    }
    values.update(spec)
    return lab.start(lab.spec(**values), faults or Faults())


@pytest.fixture
def router(lab: Lab) -> RouterOSDevice:
    return start_router(lab)


def make_driver(device: RouterOSDevice, **optional: Any) -> Any:
    args: dict[str, Any] = {
        "port": device.spec.api_port,
        "ssh_port": device.spec.ssh_port,
        "expected_model": MODEL,
        "host_label": device.spec.hostname,
        "connect_retries": 0,
        "connect_timeout": 5,
    }
    args.update(optional)
    return get_network_driver("kopnet_routeros")(
        device.spec.host, "admin", TEST_PASSWORD, timeout=30, optional_args=args
    )


@pytest.fixture
def driver(router: RouterOSDevice) -> Iterator[Any]:
    drv = make_driver(router)
    drv.open()
    yield drv
    drv.close()
