"""Where a village's Linux gateway is and how to log in to it (inventory or running lab).

Connection data is derived, never stored twice: the production address is the gateway's
loopback from the address plan, the password is the device's ``credentials`` secret; in the
lab (or any other :class:`~kopnet_iac.inventory.targets.TargetSource`), host/port/user/password
come from the source's record of the gateway.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from kopnet_iac.errors import ConnectError, KopnetError
from kopnet_iac.inventory.addressing import village_addressing
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.inventory.models import Device
from kopnet_iac.inventory.targets import TargetSource, named_source

log = logging.getLogger(__name__)

DEFAULT_USER = "kopnet"
"""Admin user on production gateways (password: the device's ``credentials`` secret)."""


@dataclass(frozen=True)
class GatewayConnection:
    """How Ansible reaches one gateway. ``password`` is only set for lab gateways."""

    village: str
    hostname: str
    host: str
    port: int
    username: str
    credentials: str
    lab: bool = False
    password: str | None = None
    key_file: str | None = None

    def __repr__(self) -> str:  # never show the password
        return (
            f"GatewayConnection({self.village!r}, {self.hostname!r}, {self.host}:{self.port}, "
            f"user={self.username!r}, lab={self.lab})"
        )


def gateway_device(inv: Inventory, village_id: str) -> Device:
    """The device with role ``gateway`` of a village."""
    try:
        village = inv.village(village_id)
    except KeyError as exc:
        raise KopnetError(f"unknown village {village_id!r}", village=village_id) from exc
    for device in village.devices:
        if device.role == "gateway":
            return device
    raise KopnetError("village has no device with role gateway", village=village_id)


def production_connection(inv: Inventory, village_id: str) -> GatewayConnection:
    """Reach the gateway on its loopback (routed from the NOC) as the admin user."""
    device = gateway_device(inv, village_id)
    addr = village_addressing(inv, village_id)
    address = addr.management_address(device.hostname)
    if address is None:
        raise KopnetError(
            "no management address for the gateway in the address plan",
            village=village_id,
            host=device.hostname,
        )
    return GatewayConnection(
        village=village_id,
        hostname=device.hostname,
        host=str(address),
        port=22,
        username=DEFAULT_USER,
        credentials=device.credentials,
    )


def target_connection(inv: Inventory, village_id: str, source: TargetSource) -> GatewayConnection:
    """The village's gateway as a target source (e.g. the running lab) records it."""
    device = gateway_device(inv, village_id)
    for target in source.gateways():
        if target.village == village_id or target.hostname == device.hostname:
            if not target.running:
                continue
            return GatewayConnection(
                village=village_id,
                hostname=device.hostname,
                host=target.host,
                port=int(target.ssh_port or 22),
                username=target.username or "root",
                credentials=device.credentials,
                lab=True,
                password=target.password or None,
                key_file=target.key_file,
            )
    raise ConnectError(
        source.missing(village_id, device.hostname), village=village_id, host=device.hostname
    )


def lab_connection(inv: Inventory, village_id: str, lab_dir: Path | str) -> GatewayConnection:
    """The lab gateway of a village as recorded by ``kopnet lab up`` in ``lab_dir`` (the
    registered ``lab`` target source at that folder)."""
    return target_connection(inv, village_id, named_source("lab", lab_dir))


def connection(
    inv: Inventory,
    village_id: str,
    lab_dir: Path | None,
    targets: TargetSource | None = None,
) -> GatewayConnection:
    """From ``targets`` when given, else the lab in ``lab_dir`` when given, else production."""
    if targets is not None:
        return target_connection(inv, village_id, targets)
    if lab_dir is not None:
        return lab_connection(inv, village_id, lab_dir)
    return production_connection(inv, village_id)
