"""Reading many villages' devices at once: one Nornir over the chosen villages (the running
lab's devices with ``lab_dir``), our NAPALM drivers configured per host, one task run across
all hosts in parallel, per-host progress.

Only RouterOS and airOS devices are read here (NAPALM drivers); Linux gateways are read over
SSH by :mod:`kopnet_iac.fleet.gateway`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nornir import InitNornir
from nornir.core import Nornir

from kopnet_iac.deploy.report import NornirProgress, ProgressEvent
from kopnet_iac.deploy.runner import DRIVERS, HostOutcome, configure_driver, run_step
from kopnet_iac.errors import KopnetError
from kopnet_iac.inventory.loader import Inventory

log = logging.getLogger(__name__)

#: ``(hostname, ok)`` each time a device was read (or failed)
DeviceProgress = Callable[[str, bool], None]

GATEWAY_NOTE = "Linux gateway: not read (its managed files are checked by kopnet gateway)"


class UnknownVillageError(KopnetError):
    """A village named on the command line is not in the inventory."""


@dataclass(frozen=True)
class FleetDevice:
    """A device to read: where it is and how to open it."""

    village: str
    hostname: str
    platform: str
    model: str
    credentials: str


def check_villages(inv: Inventory, villages: Sequence[str]) -> list[str]:
    """The villages in order, each once; :class:`UnknownVillageError` naming the unknown
    ones (and the known ones)."""
    unknown = [v for v in villages if v not in inv.villages]
    if unknown:
        raise UnknownVillageError(
            f"unknown village(s): {', '.join(unknown)} (known: {', '.join(sorted(inv.villages))})",
            step="select",
        )
    return list(dict.fromkeys(villages))


def fleet_devices(inv: Inventory, villages: Iterable[str]) -> list[FleetDevice]:
    """Every device of ``villages`` (gateways included), in inventory order."""
    out = []
    for village in villages:
        for device in inv.village(village).devices:
            out.append(
                FleetDevice(
                    village,
                    device.hostname,
                    inv.hardware_of(device).platform,
                    device.model,
                    device.credentials,
                )
            )
    return out


def fleet_nornir(
    inventory_dir: Path,
    villages: Sequence[str],
    *,
    lab_dir: Path | None,
    workers: int = 32,
    progress: DeviceProgress | None = None,
) -> Nornir:
    """Nornir over ``villages`` (the lab's running devices with ``lab_dir``)."""
    nr = InitNornir(
        runner={"plugin": "threaded", "options": {"num_workers": workers}},
        inventory={
            "plugin": "KopnetInventory",
            "options": {
                "inventory_dir": str(inventory_dir),
                "villages": list(villages),
                "lab": lab_dir is not None,
                "lab_dir": str(lab_dir) if lab_dir is not None else None,
            },
        },
        logging={"enabled": False},
    )
    if progress is not None:

        def forward(event: ProgressEvent) -> None:
            if event.host is not None and event.status in ("ok", "failed"):
                progress(event.host, event.status == "ok")

        nr = nr.with_processors([NornirProgress(forward)])
    return nr


def read_devices(
    nr: Nornir,
    devices: Sequence[FleetDevice],
    step: str,
    func: Callable[..., Any],
    per_host: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    secrets: Mapping[str, Mapping[str, str] | Any] | None = None,
) -> tuple[dict[str, HostOutcome], dict[str, str]]:
    """Run ``func`` on every RouterOS/airOS device of ``devices`` in one parallel run.

    Returns the outcomes by hostname, and the devices not run with the reason (a gateway, a
    device not running in the lab). ``secrets``: per village, what the drivers resolve
    placeholders with."""
    skipped: dict[str, str] = {}
    names = []
    for device in devices:
        if device.platform not in DRIVERS:
            skipped[device.hostname] = GATEWAY_NOTE
            continue
        if device.hostname not in nr.inventory.hosts:
            skipped[device.hostname] = "not running in the lab"
            continue
        configure_driver(
            nr,
            device.hostname,
            platform=device.platform,
            model=device.model,
            credentials=device.credentials,
            secrets=(secrets or {}).get(device.village, {}),
            village=device.village,
        )
        names.append(device.hostname)
    try:
        outcomes = run_step(nr, step, func, names, per_host, village="fleet")
    finally:
        nr.close_connections()
    return outcomes, skipped


def is_unreachable(error: BaseException | None) -> bool:
    """Whether a failure means the device could not be reached or logged into."""
    from kopnet_iac.errors import ConnectError

    return isinstance(error, ConnectError) or (
        error is not None and not isinstance(error, KopnetError)
    )


__all__ = [
    "GATEWAY_NOTE",
    "DeviceProgress",
    "FleetDevice",
    "UnknownVillageError",
    "check_villages",
    "fleet_devices",
    "fleet_nornir",
    "is_unreachable",
    "read_devices",
]
