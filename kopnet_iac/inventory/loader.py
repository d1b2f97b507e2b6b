"""Load and validate an inventory folder.

``load_inventory`` parses every file with positions, validates the schema (pydantic) and the
fleet-wide semantics (``validation``) and the address lock (``lockvalidation``), and raises one
``InventoryError`` listing *every* problem as ``FILE:LINE:COL: field.path: message``.
"""

from __future__ import annotations

import dataclasses
import difflib
import gc
import hashlib
import logging
import threading
import types
import typing
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from kopnet_iac.errors import InventoryError, InventoryProblem, SourcePosition
from kopnet_iac.inventory import lockvalidation, validation
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


# Loaded inventories by (folder, check_lock), with the fingerprint of the files they came from:
# a fleet operation deploys every village in threads of one process, and each deploy (and its
# Nornir inventory) asks for the same folder; validating the whole fleet once per village made
# fifty villages at once cost fifty times the validation of one.
_CACHE_SIZE = 4
_cache: OrderedDict[tuple[str, bool], tuple[str, Inventory]] = OrderedDict()
_cache_lock = threading.Lock()
_key_locks: dict[tuple[str, bool], threading.Lock] = {}


def _fingerprint(root: Path) -> str:
    """A digest of the names and contents of every file a load reads (contents, not times:
    an edit within the file system's timestamp granularity must not look unchanged)."""
    digest = hashlib.sha256()
    village_dir = root / "villages"
    paths = [root / "fleet.yaml", root / "hardware.yaml", root / LOCK_FILE]
    if village_dir.is_dir():
        paths.extend(sorted(village_dir.glob("*.yaml")))
    for path in paths:
        digest.update(str(path).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"\0missing")
        digest.update(b"\0")
    return digest.hexdigest()


def _fresh(inv: Inventory) -> Inventory:
    """The cached inventory for one caller: its own containers (the models are frozen)."""
    return dataclasses.replace(
        inv, villages=dict(inv.villages), docs=dict(inv.docs), warnings=list(inv.warnings)
    )


def load_inventory(root: Path, *, check_lock: bool = True) -> Inventory:
    """Load and validate ``root``; raise ``InventoryError`` with every problem found.

    ``check_lock=False`` skips the address-lock checks (``kopnet addresses update`` needs to load
    an inventory whose lock is incomplete). A folder whose files are byte for byte those of a
    recent load in this process is not parsed again (threads asking at once wait for one load).
    """
    key = (str(Path(root).absolute()), check_lock)
    with _cache_lock:
        key_lock = _key_locks.setdefault(key, threading.Lock())
    with key_lock:
        fingerprint = _fingerprint(Path(root))
        with _cache_lock:
            hit = _cache.get(key)
            if hit is not None and hit[0] == fingerprint:
                _cache.move_to_end(key)
                return _fresh(hit[1])
        inv = _load_uncached(Path(root), check_lock)
        with _cache_lock:
            _cache[key] = (fingerprint, inv)
            _cache.move_to_end(key)
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
        return _fresh(inv)


def _load_uncached(root: Path, check_lock: bool) -> Inventory:
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
        validation.validate_village_id(village, doc, villages, village_docs, out)
        villages.setdefault(village.id, village)
        village_docs.setdefault(village.id, doc)
    docs.update(village_docs)

    if fleet is not None and fleet_doc is not None:
        validation.validate_fleet(fleet, fleet_doc, out)
    if hardware is not None and hw_doc is not None:
        validation.validate_hardware(hardware, hw_doc, out)
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
    validation.validate_villages(fleet, usable, villages, village_docs, out, broken, established)
    if check_lock and fleet is not None:
        lockvalidation.validate_lock(
            fleet, villages, village_docs, lock, docs.get("lock"), lock_path, out
        )

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
