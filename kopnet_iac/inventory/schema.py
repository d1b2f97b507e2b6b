"""JSON Schema of the inventory files, for editors (yaml-language-server) and CI."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from kopnet_iac.inventory.lockfile import AddressLock
from kopnet_iac.inventory.models import Fleet, Hardware, Village

SCHEMAS: dict[str, tuple[type[BaseModel], str]] = {
    "village": (Village, "KopNet village file (inventory/villages/<id>.yaml)"),
    "fleet": (Fleet, "KopNet fleet settings (inventory/fleet.yaml)"),
    "hardware": (Hardware, "KopNet hardware catalogue (inventory/hardware.yaml)"),
    "lock": (AddressLock, "KopNet address allocations (inventory/addresses.lock.yaml)"),
}


def json_schema(kind: str = "village") -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one inventory file kind."""
    model, title = SCHEMAS[kind]
    schema = model.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://kopnet.id/schema/{kind}.json",
        **schema,
        "title": title,
    }
