"""The address lock: ``addresses.lock.yaml``, the reviewed record of every allocation.

Allocations are made once and kept: adding, removing or reordering villages (or devices and
hamlets inside a village) never renumbers anything already in the lock. ``allocate`` fills in
what is missing with the lowest free block of each pool; only ``prune`` releases villages that
left the inventory.

Lock layout::

    villages:
      sukadana:
        blocks: {management: 10.90.0.0/26, links: 10.92.0.0/29, uplink-fiber: 172.30.0.0/31, ...}
        devices: {core-sukadana: 10.90.0.1, sec-sukadana-1: 10.90.0.2}
        hotspot: {dusun-1: 100.64.2.0/26}
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import BaseModel, ConfigDict, Field

from kopnet_iac.inventory.models import Fleet, Hostname, Name, Village

if TYPE_CHECKING:
    from kopnet_iac.inventory.loader import Inventory

LOCK_FILE = "addresses.lock.yaml"
#: prefix length of each hamlet's hotspot subnet (carved from the upper half of the subscriber block)
HOTSPOT_PREFIXLEN = 26
#: purposes every village needs exactly one block of (the uplink block comes from its profile)
VILLAGE_PURPOSES = ("management", "loopback", "link", "subscriber", "public-nat")


class _LockModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VillageAllocation(_LockModel):
    """What one village holds: a block per pool, device management addresses, hotspot subnets."""

    blocks: dict[Name, str] = Field(description="pool name -> the village's block")
    devices: dict[Hostname, str] = Field(default_factory=dict, description="hostname -> mgmt IP")
    hotspot: dict[Name, str] = Field(default_factory=dict, description="hamlet id -> subnet")


class AddressLock(_LockModel):
    villages: dict[Name, VillageAllocation] = Field(default_factory=dict)


def read_lock(path: Path) -> AddressLock | None:
    """Parse a lock file without positions (the loader reports positions for bad locks)."""
    if not path.exists():
        return None
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    return AddressLock.model_validate(data or {})


def dump_lock(lock: AddressLock) -> str:
    """Stable YAML text: villages, pools, devices and hamlets sorted by name."""
    lines = [
        "# yaml-language-server: $schema=schema/lock.json",
        "# Address allocations, maintained by `kopnet addresses update`. Review changes in git;",
        "# existing entries are never renumbered. Do not edit by hand unless you mean it.",
    ]
    if not lock.villages:
        lines.append("villages: {}")
        return "\n".join(lines) + "\n"
    lines.append("villages:")
    for vid in sorted(lock.villages):
        alloc = lock.villages[vid]
        lines.append(f"  {vid}:")
        for section in ("blocks", "devices", "hotspot"):
            entries: dict[str, str] = getattr(alloc, section)
            if not entries:
                continue
            lines.append(f"    {section}:")
            lines.extend(f"      {key}: {entries[key]}" for key in sorted(entries))
    return "\n".join(lines) + "\n"


def write_lock(path: Path, lock: AddressLock) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(dump_lock(lock), encoding="utf-8")
    tmp.replace(path)


# --------------------------------------------------------------------------- pool helpers


def pools_for(fleet: Fleet, purpose: str) -> list[str]:
    """Names of the fleet pools with this purpose, in fleet order."""
    return [name for name, pool in fleet.pools.items() if pool.purpose == purpose]


def required_pools(fleet: Fleet, village: Village) -> dict[str, list[str]]:
    """Purpose (or ``uplink``) -> candidate pool names this village needs a block from."""
    needs = {purpose: pools_for(fleet, purpose) for purpose in VILLAGE_PURPOSES}
    profile = fleet.partner_isp.uplinks.get(village.uplink.type)
    needs["uplink"] = [profile.pool] if profile is not None and profile.pool in fleet.pools else []
    return needs


def addressed_devices(village: Village) -> list[str]:
    """Hostnames that get a management-VLAN address (everything but the gateway)."""
    return [d.hostname for d in village.devices if d.role != "gateway"]


def core_router(village: Village) -> str | None:
    return next((d.hostname for d in village.devices if d.role == "core-router"), None)


def offers_hotspot(village: Village) -> bool:
    """Some hamlet of the village sells a hotspot plan."""
    return bool(village.hotspot_hamlets())


def hotspot_area(subscribers: IPv4Network) -> IPv4Network:
    """Upper half of the subscriber block, where hamlet hotspot subnets live."""
    return list(subscribers.subnets(prefixlen_diff=1))[1]


# --------------------------------------------------------------------------- allocation


@dataclass
class AllocationReport:
    """What an ``allocate`` run changed (human-readable lines)."""

    added: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    #: the lock text differs from its canonical form (new allocations or hand formatting)
    rewritten: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.released)


class _Space:
    """Occupied ranges inside one parent network; hands out the lowest free aligned block."""

    def __init__(self, parent: IPv4Network) -> None:
        self.parent = parent
        self.used: list[tuple[int, int]] = []  # sorted (first, last)
        self.cursor: dict[int, int] = {}  # prefixlen -> no free block below this address

    def take(self, net: IPv4Network) -> None:
        bisect.insort(self.used, (int(net.network_address), int(net.broadcast_address)))

    def overlaps(self, net: IPv4Network) -> bool:
        first, last = int(net.network_address), int(net.broadcast_address)
        i = bisect.bisect_left(self.used, (first, first))
        near = self.used[max(i - 1, 0) : i + 1]
        return any(not (last < lo or first > hi) for lo, hi in near)

    def lowest(self, prefixlen: int) -> IPv4Network | None:
        step = 1 << (32 - prefixlen)
        end = int(self.parent.broadcast_address)
        candidate = self.cursor.get(prefixlen, int(self.parent.network_address))
        # intervals ending before the candidate cannot collide; skip them with bisect
        i = max(bisect.bisect_left(self.used, (candidate, candidate)) - 1, 0)
        for lo, hi in self.used[i:]:
            if candidate + step - 1 < lo:
                break
            if hi >= candidate:
                candidate = ((hi + step) // step) * step
        if candidate + step - 1 > end:
            return None
        self.cursor[prefixlen] = candidate
        net = IPv4Network((candidate, prefixlen))
        self.take(net)
        return net


def _net(text: str) -> IPv4Network | None:
    try:
        return IPv4Network(text, strict=True)
    except ValueError:
        return None


def allocate(
    fleet: Fleet,
    villages: Mapping[str, Village],
    lock: AddressLock | None,
    *,
    prune: bool = False,
) -> tuple[AddressLock, AllocationReport]:
    """Return a lock that covers every village/device/hamlet, keeping existing allocations.

    New blocks are the lowest free ones of the first pool (fleet order) with room. Blocks of pools
    a village no longer needs (e.g. after an uplink type change) and devices/hamlets that left the
    village are released; whole villages are released only with ``prune``.
    """
    report = AllocationReport()
    old = dict(lock.villages) if lock is not None else {}
    if prune:
        for vid in sorted(set(old) - set(villages)):
            report.released.append(f"{vid}: village no longer in the inventory")
            del old[vid]

    spaces = {name: _Space(IPv4Network(pool.prefix)) for name, pool in fleet.pools.items()}
    for vid in sorted(old):
        alloc = old[vid]
        kept: dict[str, str] = {}
        for pool_name, text in sorted(alloc.blocks.items()):
            net = _net(text)
            space = spaces.get(pool_name)
            if net is None or space is None:
                report.released.append(f"{vid}: {pool_name} {text} (unknown pool or bad network)")
            elif not net.subnet_of(space.parent) or net.prefixlen != fleet.pools[pool_name].size:
                report.released.append(
                    f"{vid}: {pool_name} {net} (not a /{fleet.pools[pool_name].size} of {space.parent})"
                )
            elif space.overlaps(net):
                report.released.append(f"{vid}: {pool_name} {net} (overlaps another village)")
            else:
                space.take(net)
                kept[pool_name] = text
        if kept != alloc.blocks:
            old[vid] = VillageAllocation(blocks=kept, devices=alloc.devices, hotspot=alloc.hotspot)

    result: dict[str, VillageAllocation] = {
        vid: alloc for vid, alloc in old.items() if vid not in villages
    }
    for vid in sorted(villages):
        result[vid] = _allocate_village(fleet, villages[vid], old.get(vid), spaces, report)
    return AddressLock(villages=result), report


def _allocate_village(
    fleet: Fleet,
    village: Village,
    old: VillageAllocation | None,
    spaces: dict[str, _Space],
    report: AllocationReport,
) -> VillageAllocation:
    vid = village.id
    blocks = dict(old.blocks) if old is not None else {}
    wanted: set[str] = set()
    for purpose, candidates in required_pools(fleet, village).items():
        have = [name for name in candidates if name in blocks]
        if have:
            wanted.add(have[0])
            continue
        for name in candidates:
            net = spaces[name].lowest(fleet.pools[name].size)
            if net is not None:
                blocks[name] = str(net)
                wanted.add(name)
                report.added.append(f"{vid}: {name} {net}")
                break
        else:
            report.failed.append(f"{vid}: no free block for {purpose} (pools: {candidates})")
    for name in sorted(set(blocks) - wanted):
        report.released.append(f"{vid}: {name} {blocks.pop(name)} (no longer needed)")

    devices = _allocate_devices(fleet, village, old, blocks, report)
    hotspot = _allocate_hotspot(fleet, village, old, blocks, report)
    return VillageAllocation(blocks=blocks, devices=devices, hotspot=hotspot)


def _block_of(fleet: Fleet, blocks: Mapping[str, str], purpose: str) -> IPv4Network | None:
    for name in pools_for(fleet, purpose):
        if name in blocks:
            return _net(blocks[name])
    return None


def _allocate_devices(
    fleet: Fleet,
    village: Village,
    old: VillageAllocation | None,
    blocks: Mapping[str, str],
    report: AllocationReport,
) -> dict[str, str]:
    mgmt = _block_of(fleet, blocks, "management")
    previous = dict(old.devices) if old is not None else {}
    present = addressed_devices(village)
    for hostname in sorted(set(previous) - set(present)):
        report.released.append(f"{village.id}: device {hostname} {previous.pop(hostname)}")
    if mgmt is None:
        return previous
    hosts = list(mgmt.hosts())
    core = core_router(village)
    first = hosts[0] if hosts else None
    taken: set[IPv4Address] = set()
    for hostname in sorted(previous):
        addr = parse_address(previous[hostname])
        ok = (
            addr is not None
            and addr in mgmt
            and addr not in (mgmt.network_address, mgmt.broadcast_address)
            and addr not in taken
        )
        if ok and hostname != core and addr == first:
            ok = False  # the first host belongs to the core router
        if not ok:
            report.released.append(
                f"{village.id}: device {hostname} {previous.pop(hostname)} (invalid)"
            )
        elif hostname != core and addr is not None:
            taken.add(addr)
    if core is not None and first is not None and previous.get(core) != str(first):
        if core in previous:
            report.released.append(f"{village.id}: device {core} {previous[core]}")
        previous[core] = str(first)
        report.added.append(f"{village.id}: device {core} {first}")
    if first is not None:
        taken.add(first)
    free = (h for h in hosts[1:] if h not in taken)
    for hostname in present:
        if hostname in previous:
            continue
        addr = next(free, None)
        if addr is None:
            report.failed.append(f"{village.id}: management {mgmt} is full ({hostname})")
            continue
        previous[hostname] = str(addr)
        report.added.append(f"{village.id}: device {hostname} {addr}")
    return previous


def _allocate_hotspot(
    fleet: Fleet,
    village: Village,
    old: VillageAllocation | None,
    blocks: Mapping[str, str],
    report: AllocationReport,
) -> dict[str, str]:
    previous = dict(old.hotspot) if old is not None else {}
    hamlets = [h.id for h in village.hotspot_hamlets()]
    for hamlet in sorted(set(previous) - set(hamlets)):
        report.released.append(f"{village.id}: hotspot {hamlet} {previous.pop(hamlet)}")
    subscribers = _block_of(fleet, blocks, "subscriber")
    if not hamlets or subscribers is None:
        return previous
    if subscribers.prefixlen >= HOTSPOT_PREFIXLEN:
        report.failed.append(f"{village.id}: subscriber block {subscribers} too small for hotspot")
        return previous
    space = _Space(hotspot_area(subscribers))
    for hamlet in sorted(previous):
        net = _net(previous[hamlet])
        if net is None or not net.subnet_of(space.parent) or space.overlaps(net):
            report.released.append(
                f"{village.id}: hotspot {hamlet} {previous.pop(hamlet)} (invalid)"
            )
        else:
            space.take(net)
    for hamlet in hamlets:
        if hamlet in previous:
            continue
        net = space.lowest(HOTSPOT_PREFIXLEN)
        if net is None:
            report.failed.append(f"{village.id}: no hotspot subnet left for hamlet {hamlet}")
            continue
        previous[hamlet] = str(net)
        report.added.append(f"{village.id}: hotspot {hamlet} {net}")
    return previous


def update_lock(
    inv: Inventory, *, prune: bool = False, dry_run: bool = False
) -> tuple[AddressLock, AllocationReport]:
    """Allocate what the inventory is missing and write the lock.

    Nothing is written with ``dry_run`` or when an allocation failed (a pool is full).
    """
    lock, report = allocate(inv.fleet, inv.villages, inv.lock, prune=prune)
    path = inv.root / LOCK_FILE
    current = path.read_text(encoding="utf-8") if path.exists() else None
    report.rewritten = current != dump_lock(lock)
    if not dry_run and report.rewritten and not report.failed:  # all or nothing
        write_lock(path, lock)
    return lock, report


def parse_address(text: str) -> IPv4Address | None:
    try:
        return IPv4Address(text)
    except ValueError:
        return None
