"""Load an inventory folder into models (first version: no positions, no semantic checks)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from kopnet_iac.inventory.lockfile import LOCK_FILE, AddressLock, read_lock
from kopnet_iac.inventory.models import Device, Fleet, Hardware, HardwareModel, Village


@dataclass(frozen=True)
class Inventory:
    """A loaded inventory: fleet-wide settings, hardware catalogue, villages by id."""

    root: Path
    fleet: Fleet
    hardware: Hardware
    villages: dict[str, Village]
    lock: AddressLock | None = None

    def village(self, village_id: str) -> Village:
        return self.villages[village_id]

    def hardware_of(self, device: Device) -> HardwareModel:
        return self.hardware.models[device.model]


def load_inventory(root: Path) -> Inventory:
    fleet = Fleet.model_validate(yaml.safe_load((root / "fleet.yaml").read_text()))
    hardware = Hardware.model_validate(yaml.safe_load((root / "hardware.yaml").read_text()))
    villages: dict[str, Village] = {}
    for path in sorted((root / "villages").glob("*.yaml")):
        village = Village.model_validate(yaml.safe_load(path.read_text()))
        villages[village.id] = village
    lock = read_lock(root / LOCK_FILE)
    return Inventory(root=root, fleet=fleet, hardware=hardware, villages=villages, lock=lock)
