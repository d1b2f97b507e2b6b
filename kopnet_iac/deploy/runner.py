"""Nornir for one village: the threaded runner over the KopNet inventory plugin, and running a
task with per-host arguments, collecting each host's payload or error.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nornir.core import Nornir
from nornir.core.configuration import Config
from nornir.core.plugins.connections import ConnectionPluginRegister
from nornir.core.state import GlobalState
from nornir.core.task import Result, Task
from nornir.plugins.runners import ThreadedRunner

from kopnet_iac.deploy.report import NornirProgress, Progress
from kopnet_iac.errors import KopnetError

log = logging.getLogger(__name__)


_plugins_registered = False
_plugins_lock = threading.Lock()


def _register_connection_plugins() -> None:
    """Nornir's connection plugins (NAPALM), found through entry points once per process:
    ``InitNornir`` scans every installed entry point three times a call, a cost each village
    of a fleet rollout paid again."""
    global _plugins_registered
    with _plugins_lock:
        if not _plugins_registered:
            ConnectionPluginRegister.auto_register()
            _plugins_registered = True


def village_nornir(
    inventory_dir: Path,
    village: str,
    *,
    lab_dir: Path | None,
    progress: Progress | None = None,
    workers: int = 20,
) -> Nornir:
    """Nornir over one village's devices (the running lab's when ``lab_dir`` is given): the
    threaded runner over the KopNet inventory plugin, as ``InitNornir`` would build it."""
    from kopnet_iac.inventory.nornir_plugin import KopnetInventory

    _register_connection_plugins()
    options: dict[str, Any] = {
        "inventory_dir": str(inventory_dir),
        "villages": [village],
        "lab": lab_dir is not None,
        "lab_dir": str(lab_dir) if lab_dir is not None else None,
    }
    config = Config.from_dict(
        runner={"plugin": "threaded", "options": {"num_workers": workers}},
        inventory={"plugin": "KopnetInventory", "options": options},
        logging={"enabled": False},
    )
    nr = Nornir(
        inventory=KopnetInventory(**options).load(),
        runner=ThreadedRunner(num_workers=workers),
        config=config,
        data=GlobalState(dry_run=False),
    )
    if progress is not None:
        nr = nr.with_processors([NornirProgress(progress)])
    return nr


def set_driver_options(
    nr: Nornir, hostname: str, *, platform: str | None = None, **options: Any
) -> None:
    """Add NAPALM ``optional_args`` for one host (kept: what the inventory plugin set); with
    ``platform``, open the host with that NAPALM driver."""
    host = nr.inventory.hosts[hostname]
    params = host.connection_options.get("napalm")
    if params is None:
        from nornir.core.inventory import ConnectionOptions

        base = host.get_connection_parameters("napalm")
        params = ConnectionOptions(
            hostname=base.hostname,
            port=base.port,
            username=base.username,
            password=base.password,
            platform=base.platform,
            extras=dict(base.extras or {}),
        )
        host.connection_options["napalm"] = params
    extras = dict(params.extras or {})
    optional = dict(extras.get("optional_args") or {})
    optional.update(options)
    extras["optional_args"] = optional
    params.extras = extras
    if platform is not None:
        params.platform = platform


class SecretOverlay:
    """Secrets for the drivers (anything with ``get(name)``): one name answered here, the rest
    by ``base`` (a mapping or a resolver). Never shows a value in its repr."""

    def __init__(self, base: Mapping[str, str] | Any, name: str, value: str) -> None:
        self.base = base
        self.name = name
        self._value = value

    def get(self, name: str) -> str | None:
        if name == self.name:
            return self._value
        value = self.base.get(name)
        return None if value is None else str(value)

    def __repr__(self) -> str:
        return f"SecretOverlay({self.name!r}, ...)"


#: inventory platform -> NAPALM driver the deploy opens it with
DRIVERS = {"routeros": "kopnet_routeros", "airos": "kopnet_airos"}


def configure_driver(
    nr: Nornir,
    hostname: str,
    *,
    platform: str,
    model: str,
    credentials: str,
    secrets: Mapping[str, str] | Any,
    village: str,
) -> None:
    """Open ``hostname`` with our NAPALM driver for its inventory ``platform``, given what the
    driver needs: secrets for push time, the expected model, names for its errors (and the web
    API port of a lab radio).

    In the lab every device logs in with its own lab password: the device's ``credentials``
    secret is that password there, so a deploy never locks the controller out of the lab.
    """
    host = nr.inventory.hosts[hostname]
    values: Any = secrets
    if host.data.get("lab") and host.password:
        values = SecretOverlay(secrets, credentials, host.password)
    if platform == "routeros":
        set_driver_options(
            nr,
            hostname,
            platform=DRIVERS["routeros"],
            secrets=values,
            expected_model=model,
            host_label=hostname,
        )
        return
    extra: dict[str, Any] = {}
    if host.data.get("lab"):
        extra = {"http_port": host.data.get("http_port"), "https_port": None}
    set_driver_options(
        nr,
        hostname,
        platform=DRIVERS[platform],
        secrets=values,
        model=model,
        name=hostname,
        village=village,
        **extra,
    )


def device_nornir(
    inventory_dir: Path, village: str, *, lab_dir: Path | None, hosts: Iterable[str] | None = None
) -> tuple[Nornir, list[str]]:
    """Nornir over a village's RouterOS/airOS devices (or ``hosts`` of them) with our drivers
    configured for reading (no secrets resolved); the hostnames it can reach."""
    from kopnet_iac.inventory.loader import load_inventory

    inv = load_inventory(inventory_dir)
    nr = village_nornir(inventory_dir, village, lab_dir=lab_dir)
    wanted = set(hosts) if hosts is not None else None
    names = []
    for device in inv.village(village).devices:
        platform = inv.hardware_of(device).platform
        if platform not in DRIVERS or device.hostname not in nr.inventory.hosts:
            continue
        if wanted is not None and device.hostname not in wanted:
            continue
        configure_driver(
            nr,
            device.hostname,
            platform=platform,
            model=device.model,
            credentials=device.credentials,
            secrets={},
            village=village,
        )
        names.append(device.hostname)
    return nr, names


def read_running(
    inventory_dir: Path, village: str, *, lab_dir: Path | None, hosts: Iterable[str] | None = None
) -> dict[str, HostOutcome]:
    """The running configuration of a village's RouterOS/airOS devices (or ``hosts``), read in
    parallel through our drivers: hostname -> payload ``{"running", "facts"}`` or error."""
    from kopnet_iac.deploy import tasks

    nr, names = device_nornir(inventory_dir, village, lab_dir=lab_dir, hosts=hosts)
    try:
        return run_step(nr, "read running", tasks.fetch_running, names, None, village=village)
    finally:
        nr.close_connections()


@dataclass
class HostOutcome:
    """A host's payload (``Result.result``) or the error that stopped the task."""

    payload: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def message(self) -> str:
        if self.error is None:
            return ""
        return str(self.error) or type(self.error).__name__


def _dispatch(task: Task, func: Callable[..., Result], per_host: Mapping[str, Any]) -> Result:
    return func(task, **per_host.get(task.host.name, {}))


def run_step(
    nr: Nornir,
    step: str,
    func: Callable[..., Result],
    hosts: Iterable[str],
    per_host: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    village: str,
) -> dict[str, HostOutcome]:
    """Run ``func`` on ``hosts`` in parallel; per-host keyword arguments from ``per_host``."""
    names = set(hosts)
    if not names:
        return {}
    nr.data.reset_failed_hosts()
    selected = nr.filter(filter_func=lambda h: h.name in names)
    results = selected.run(
        task=_dispatch, name=step, func=func, per_host=per_host or {}, on_failed=True
    )
    out: dict[str, HostOutcome] = {}
    for hostname in names:
        multi = results.get(hostname)
        if multi is None or not len(multi):
            out[hostname] = HostOutcome(
                error=KopnetError("not run", village=village, host=hostname, step=step)
            )
            continue
        first = multi[0]
        if first.failed:
            exc = first.exception
            if not isinstance(exc, KopnetError):
                exc = KopnetError(
                    f"{type(exc).__name__}: {exc}" if exc else str(first.result),
                    village=village,
                    host=hostname,
                    step=step,
                )
            out[hostname] = HostOutcome(error=exc)
        else:
            out[hostname] = HostOutcome(payload=first.result)
    nr.data.reset_failed_hosts()
    return out


__all__ = [
    "DRIVERS",
    "HostOutcome",
    "SecretOverlay",
    "configure_driver",
    "read_running",
    "run_step",
    "set_driver_options",
    "village_nornir",
]
