"""Checks of ``addresses.lock.yaml`` against the inventory and the fleet pools.

A village, device or hotspot hamlet without an allocation is reported at its place in the village
file; a bad allocation (outside its pool, wrong size, overlapping) at its place in the lock. Every
message says to run ``kopnet addresses update``.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from kopnet_iac.inventory.lockfile import (
    AddressLock,
    VillageAllocation,
    addressed_devices,
    core_router,
    hotspot_area,
    offers_hotspot,
    required_pools,
)
from kopnet_iac.inventory.models import Fleet, Village
from kopnet_iac.inventory.validation import overlaps
from kopnet_iac.inventory.yamlpos import Loc, Problems, YamlDoc

RUN = "run `kopnet addresses update`"


def _net(text: str) -> IPv4Network | None:
    try:
        return IPv4Network(text, strict=True)
    except ValueError:
        return None


def validate_lock(
    fleet: Fleet,
    villages: Mapping[str, Village],
    village_docs: Mapping[str, YamlDoc],
    lock: AddressLock | None,
    lock_doc: YamlDoc | None,
    lock_path: Path,
    out: Problems,
) -> None:
    if lock is None or lock_doc is None:
        if not lock_path.exists():
            for vid in villages:
                out.add(
                    village_docs[vid],
                    ("id",),
                    f"no address allocation: {lock_path.name} is missing; {RUN}",
                )
        return  # an unparsable lock was already reported
    every: list[tuple[IPv4Network, Loc, str]] = []
    mgmt_seen: dict[IPv4Address, Loc] = {}
    pool_nets = {name: _net(pool.prefix) for name, pool in fleet.pools.items()}
    for vid, alloc in lock.villages.items():
        loc_v: Loc = ("villages", vid)
        for name, text in alloc.blocks.items():
            loc: Loc = (*loc_v, "blocks", name)
            net = _net(text)
            pool = fleet.pools.get(name)
            if net is None:
                out.add(lock_doc, loc, f"{text!r} is not a network address with prefix length")
                continue
            every.append((net, loc, f"{vid} {name}"))
            if pool is None:
                out.add(lock_doc, loc, f"unknown pool {name!r}; {RUN}", where="key")
                continue
            pool_net = pool_nets[name]
            if pool_net is not None and not net.subnet_of(pool_net):
                out.add(lock_doc, loc, f"{net} is outside pool {name} ({pool.prefix}); {RUN}")
            elif net.prefixlen != pool.size:
                out.add(
                    lock_doc,
                    loc,
                    f"{net} is a /{net.prefixlen}, pool {name} hands out /{pool.size}; {RUN}",
                )
        if vid in villages:
            _check_village(fleet, villages[vid], village_docs[vid], alloc, lock_doc, mgmt_seen, out)
    for vid in villages:
        if vid not in lock.villages:
            out.add(village_docs[vid], ("id",), f"village {vid} has no address allocation; {RUN}")
    for (net, loc, label), (other, _other_loc, other_label) in overlaps(every):
        out.add(lock_doc, loc, f"{label} {net} overlaps {other_label} {other}; {RUN}")


def _check_village(
    fleet: Fleet,
    village: Village,
    doc: YamlDoc,
    alloc: VillageAllocation,
    lock_doc: YamlDoc,
    mgmt_seen: dict[IPv4Address, Loc],
    out: Problems,
) -> None:
    vid = village.id
    loc_v: Loc = ("villages", vid)
    wanted: set[str] = set()
    blocks: dict[str, IPv4Network] = {}
    for purpose, candidates in required_pools(fleet, village).items():
        have = [name for name in candidates if name in alloc.blocks]
        if not have:
            out.add(
                lock_doc,
                (*loc_v, "blocks", purpose),
                f"no {purpose} block for {vid}; {RUN}",
                "mapping",
            )
            continue
        wanted.update(have)
        for extra in have[1:]:
            out.add(lock_doc, (*loc_v, "blocks", extra), f"second {purpose} block for {vid}", "key")
        net = _net(alloc.blocks[have[0]])
        if net is not None:
            blocks[purpose] = net
    for name in alloc.blocks:
        if name not in wanted and name in fleet.pools:
            out.add(
                lock_doc,
                (*loc_v, "blocks", name),
                f"{vid} no longer needs a block from {name} (uplink is {village.uplink.type}); {RUN}",
                "key",
            )

    mgmt = blocks.get("management")
    core = core_router(village)
    index = {d.hostname: i for i, d in enumerate(village.devices)}
    for hostname in addressed_devices(village):
        if hostname not in alloc.devices:
            out.add(
                doc,
                ("devices", index[hostname], "hostname"),
                f"{hostname} has no management address; {RUN}",
            )
    for hostname, text in alloc.devices.items():
        loc: Loc = (*loc_v, "devices", hostname)
        try:
            addr = IPv4Address(text)
        except ValueError:
            out.add(lock_doc, loc, f"{text!r} is not an IPv4 address")
            continue
        if addr in mgmt_seen:
            out.add(lock_doc, loc, f"{addr} is allocated twice; {RUN}")
        mgmt_seen.setdefault(addr, loc)
        if mgmt is None:
            continue
        if addr not in mgmt or addr in (mgmt.network_address, mgmt.broadcast_address):
            out.add(lock_doc, loc, f"{addr} is not a host of the management block {mgmt}; {RUN}")
        elif hostname == core and addr != mgmt.network_address + 1:
            out.add(
                lock_doc,
                loc,
                f"the core router must have the first host {mgmt.network_address + 1}; {RUN}",
            )

    subs = blocks.get("subscriber")
    if not offers_hotspot(village) or subs is None or subs.prefixlen >= 26:
        return
    area = hotspot_area(subs)
    nets: list[tuple[IPv4Network, Loc, str]] = []
    for h, hamlet in enumerate(village.hamlets):
        if not village.hotspot_plans_of(hamlet):
            continue
        if hamlet.id not in alloc.hotspot:
            out.add(doc, ("hamlets", h, "id"), f"hamlet {hamlet.id} has no hotspot subnet; {RUN}")
            continue
        loc = (*loc_v, "hotspot", hamlet.id)
        net = _net(alloc.hotspot[hamlet.id])
        if net is None or not net.subnet_of(area):
            out.add(
                lock_doc, loc, f"hotspot subnet must be inside {area} (upper half of {subs}); {RUN}"
            )
            continue
        nets.append((net, loc, hamlet.id))
    for (net, loc, label), (_o, _l, other) in overlaps(nets):
        out.add(lock_doc, loc, f"hotspot subnet {net} of {label} overlaps that of {other}; {RUN}")
