"""Load and validate an inventory folder.

``load_inventory`` parses every file with positions, validates the schema (pydantic) and the
fleet-wide semantics (``checks``) and the address lock (``lockcheck``), and raises one
``InventoryError`` listing *every* problem as ``FILE:LINE:COL: field.path: message``.
"""

from __future__ import annotations

import difflib
import gc
import logging
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from kopnet_iac.errors import InventoryError, InventoryProblem, SourcePosition
from kopnet_iac.inventory import checks, lockcheck
from kopnet_iac.inventory.hints import unit_hint
from kopnet_iac.inventory.lockfile import LOCK_FILE, AddressLock
from kopnet_iac.inventory.models import Device, Fleet, Hardware, HardwareModel, Village
from kopnet_iac.inventory.yamlpos import Problems, YamlDoc, load_yaml

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Inventory:
    """A loaded inventory: fleet-wide settings, hardware catalogue, villages by id."""

    root: Path
    fleet: Fleet
    hardware: Hardware
    villages: dict[str, Village]
    lock: AddressLock | None = None
    #: parsed files (with node trees, for positions): "fleet", "hardware", "lock", village ids
    docs: dict[str, YamlDoc] = field(default_factory=dict, compare=False, repr=False)
    #: findings that do not make the inventory invalid (``kopnet validate`` prints them)
    warnings: list[InventoryProblem] = field(default_factory=list, compare=False, repr=False)

    def village(self, village_id: str) -> Village:
        return self.villages[village_id]

    def hardware_of(self, device: Device) -> HardwareModel:
        return self.hardware.models[device.model]

    def device(self, hostname: str) -> tuple[Village, Device]:
        """The village and device of a hostname (``KeyError`` if unknown)."""
        for village in self.villages.values():
            for device in village.devices:
                if device.hostname == hostname:
                    return village, device
        raise KeyError(hostname)


# --------------------------------------------------------------------------- schema errors


def _unwrap(annotation: Any) -> list[Any]:
    """Model classes/containers reachable from an annotation (Optional, Annotated, unions)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            out.extend(_unwrap(arg))
        return out
    return [annotation]


def _model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class that owns the last element of ``loc`` (for "did you mean")."""
    current: Any = model
    for part in loc:
        candidates = _unwrap(current)
        nxt: Any = None
        for cand in candidates:
            origin = typing.get_origin(cand)
            if isinstance(cand, type) and issubclass(cand, BaseModel) and isinstance(part, str):
                info = cand.model_fields.get(part)
                if info is not None:
                    nxt = info.annotation
                    break
            elif origin is list and isinstance(part, int):
                nxt = typing.get_args(cand)[0]
                break
            elif origin is dict and isinstance(part, str):
                nxt = typing.get_args(cand)[1]
                break
        if nxt is None:
            return None
        current = nxt
    for cand in _unwrap(current):
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            return cand
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _schema_problems(
    model: type[BaseModel], doc: YamlDoc, exc: ValidationError, out: Problems
) -> None:
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        if kind == "missing":
            why = unit_hint(loc, kind, None)
            message = f"missing required key {loc[-1]!r}" + (f"; {why}" if why else "")
            out.add(doc, loc, message, where="mapping")
        elif kind == "extra_forbidden":
            owner = _model_at(model, loc[:-1])
            hint = ""
            if owner is not None:
                allowed = sorted(owner.model_fields)
                close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
                hint = (
                    f" (did you mean {close[0]!r}?)"
                    if close
                    else f" (allowed: {', '.join(allowed)})"
                )
            out.add(doc, loc, f"unknown key {loc[-1]!r}{hint}", where="key")
        elif kind == "model_type" and not loc:
            out.add(doc, loc, "expected a mapping of keys at the top of the file")
        else:
            message = err["msg"]
            if kind not in ("model_type", "list_type", "dict_type") and "input" in err:
                message = f"{message} (got {_short(err['input'])})"
            elif kind in ("model_type", "list_type", "dict_type"):
                message = f"{message} (got {type(err.get('input')).__name__})"
            example = unit_hint(loc, kind, err.get("input"))
            if example is not None:
                message = f"{message}; {example}"
            out.add(doc, loc, message)


def validate_model(model: type[M], doc: YamlDoc, out: Problems) -> M | None:
    """Validate a parsed document against ``model``; problems go to ``out``."""
    try:
        return model.model_validate(doc.data if doc.data is not None else {})
    except ValidationError as exc:
        _schema_problems(model, doc, exc, out)
        return None


# --------------------------------------------------------------------------- loading


def _load(path: Path, model: type[M], out: Problems) -> tuple[YamlDoc | None, M | None]:
    if not path.exists():
        out.add_at(SourcePosition(str(path), 1, 1), "", "file not found")
        return None, None
    doc = load_yaml(path, out)
    if doc is None:
        return None, None
    return doc, validate_model(model, doc, out)


def _partial_hardware(doc: YamlDoc | None) -> tuple[Hardware, set[str]]:
    """The valid entries of a hardware catalogue that failed validation, and the broken names."""
    raw = doc.data.get("models") if doc is not None and isinstance(doc.data, dict) else None
    good: dict[str, HardwareModel] = {}
    broken: set[str] = set()
    for name, entry in raw.items() if isinstance(raw, dict) else ():
        try:
            good[str(name)] = HardwareModel.model_validate(entry)
        except ValidationError:
            broken.add(str(name))
    return Hardware(models=good), broken


def load_inventory(root: Path, *, check_lock: bool = True) -> Inventory:
    """Load and validate ``root``; raise ``InventoryError`` with every problem found.

    ``check_lock=False`` skips the address-lock checks (``kopnet addresses update`` needs to load
    an inventory whose lock is incomplete).
    """
    # Node trees of every file stay alive for positions; pausing the cyclic GC while they are
    # built avoids repeated full-heap scans (halves the load time of a 1,000-village fleet).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load_inventory(Path(root), check_lock)
    finally:
        if was_enabled:
            gc.enable()


def _load_inventory(root: Path, check_lock: bool) -> Inventory:
    out = Problems()
    docs: dict[str, YamlDoc] = {}
    fleet_doc, fleet = _load(root / "fleet.yaml", Fleet, out)
    hw_doc, hardware = _load(root / "hardware.yaml", Hardware, out)
    if fleet_doc is not None:
        docs["fleet"] = fleet_doc
    if hw_doc is not None:
        docs["hardware"] = hw_doc

    villages: dict[str, Village] = {}
    village_docs: dict[str, YamlDoc] = {}
    village_dir = root / "villages"
    if not village_dir.is_dir():
        out.add_at(SourcePosition(str(village_dir), 1, 1), "", "villages/ folder not found")
    for path in sorted(village_dir.glob("*.yaml")) if village_dir.is_dir() else []:
        doc = load_yaml(path, out)
        if doc is None:
            continue
        village = validate_model(Village, doc, out)
        if village is None:
            continue
        checks.check_village_id(village, doc, villages, village_docs, out)
        villages.setdefault(village.id, village)
        village_docs.setdefault(village.id, doc)
    docs.update(village_docs)

    if fleet is not None and fleet_doc is not None:
        checks.check_fleet(fleet, fleet_doc, out)
    if hardware is not None and hw_doc is not None:
        checks.check_hardware(hardware, hw_doc, out)
    # with a broken fleet.yaml or catalogue, villages are still checked as far as possible:
    # against the valid catalogue entries, without the fleet references
    usable, broken = (hardware, set()) if hardware is not None else _partial_hardware(hw_doc)

    lock: AddressLock | None = None
    lock_path = root / LOCK_FILE
    if lock_path.exists():
        lock_doc, lock = _load(lock_path, AddressLock, out)
        if lock_doc is not None:
            docs["lock"] = lock_doc
    # devices the lock already knows are the originals when a newer file duplicates them
    established = (
        {(vid, host) for vid, alloc in lock.villages.items() for host in [*alloc.devices, ""]}
        if lock is not None
        else set()
    )
    checks.check_villages(fleet, usable, villages, village_docs, out, broken, established)
    if check_lock and fleet is not None:
        lockcheck.check_lock(fleet, villages, village_docs, lock, docs.get("lock"), lock_path, out)

    out.raise_if_any()
    assert fleet is not None and hardware is not None  # no problems means both loaded
    log.debug("loaded inventory %s: %d villages", root, len(villages))
    return Inventory(
        root=root,
        fleet=fleet,
        hardware=hardware,
        villages=villages,
        lock=lock,
        docs=docs,
        warnings=out.sorted_warnings(),
    )


__all__ = ["Inventory", "InventoryError", "load_inventory", "validate_model"]
