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
from tests.addresses import claim_block
from tests.lab.routeros.conftest import TEST_PASSWORD, Lab, LoopThread

_HOSTS = itertools.count(2)
PREFIX = os.environ.get("KOPNET_TEST_DRIVER_PREFIX", "127.81")
# One /24 per test process, so two runs side by side on one machine never share an address.
SUBNET = claim_block(PREFIX, 100, 140)
MODEL = "RB5009UG+S+IN"

__all__ = ["MODEL", "SUBNET", "TEST_PASSWORD", "Lab", "wait_for"]


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
    if n > 240:
        raise RuntimeError("more emulated routers than one test process has addresses for")
    values: dict[str, Any] = {
        "host": f"{SUBNET}.{n}",
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


def nornir_for(device: RouterOSDevice, **optional: Any) -> Any:
    """A Nornir with one host (the device) on the ``kopnet_routeros`` platform."""
    from nornir import InitNornir
    from nornir.core.inventory import ConnectionOptions, Host

    nr = InitNornir(
        runner={"plugin": "serial"},
        inventory={"plugin": "SimpleInventory", "options": {"host_file": _empty_hosts()}},
        logging={"enabled": False},
    )
    args: dict[str, Any] = {
        "port": device.spec.api_port,
        "expected_model": MODEL,
        "host_label": device.spec.hostname,
        "connect_retries": 0,
        "connect_timeout": 5,
    }
    args.update(optional)
    nr.inventory.hosts[device.spec.hostname] = Host(
        name=device.spec.hostname,
        hostname=device.spec.host,
        username="admin",
        password=TEST_PASSWORD,
        platform="kopnet_routeros",
        connection_options={
            "napalm": ConnectionOptions(extras={"timeout": 30, "optional_args": args})
        },
        defaults=nr.inventory.defaults,
    )
    return nr


def _empty_hosts() -> str:
    import tempfile

    path = Path(tempfile.gettempdir()) / f"kopnet-empty-hosts-{os.getpid()}.yaml"
    if not path.exists():
        path.write_text("{}\n", encoding="utf-8")
    return str(path)


def export_body(device: RouterOSDevice) -> str:
    """The device's export without the volatile date line."""
    return device.export(show_sensitive=True).split("\n", 1)[1]


CONFIG_VERBS = ("/add", "/set", "/remove", "/import", "/unset", "/move", "/save", "/load")


def config_commands(device: RouterOSDevice) -> list[str]:
    """Commands in the emulator's log that change something (not login, print, export)."""
    out = []
    for line in device.commands_log:
        command = line.split(" ", 1)[0]
        if command.endswith(CONFIG_VERBS) or command in ("/system/reboot",):
            out.append(command)
    return out
