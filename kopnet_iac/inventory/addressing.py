"""The address plan of a village, derived from its entry in ``addresses.lock.yaml``.

Blocks are carved from the fleet pools by ``kopnet addresses update`` (see ``lockfile``); this
module turns one village's blocks into the concrete addresses templates use:

- management block (``fleet.management_vlan``): first host = core router, radios as locked;
- loopback block: gateway = first host, core router = second host (/32 each);
- link block: first /31 between gateway (first address) and core router (second address);
- uplink /31 from the pool of the village's uplink type: ISP edge first, gateway second;
- subscriber block (from 100.64.0.0/10): PPPoE server = first host, PPPoE clients take the rest;
  with hotspot plans the upper half is reserved for per-hamlet hotspot subnets (/26, locked);
- public NAT block: the CGNAT source addresses.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import TYPE_CHECKING

from kopnet_iac.errors import InventoryError, InventoryProblem, SourcePosition
from kopnet_iac.inventory.lockfile import (
    LOCK_FILE,
    core_router,
    hotspot_area,
    offers_hotspot,
    pools_for,
)

if TYPE_CHECKING:
    from kopnet_iac.inventory.loader import Inventory
    from kopnet_iac.inventory.lockfile import VillageAllocation


@dataclass(frozen=True)
class VillageAddressing:
    """Every address a village POP uses (stdlib ``ipaddress`` types)."""

    management: IPv4Network
    management_gateway: IPv4Interface
    device_management: dict[str, IPv4Interface]
    loopbacks: dict[str, IPv4Address]
    gateway_core: IPv4Network
    gateway_core_gateway: IPv4Interface
    gateway_core_core: IPv4Interface
    uplink: IPv4Network
    uplink_edge: IPv4Interface
    uplink_gateway: IPv4Interface
    subscribers: IPv4Network
    pppoe_local: IPv4Address
    pppoe_pool: tuple[IPv4Address, IPv4Address]
    hotspot: dict[str, IPv4Interface]
    public_nat: IPv4Network

    def management_address(self, hostname: str) -> IPv4Address | None:
        """Where the NOC reaches a device: mgmt VLAN address, or the loopback for the gateway."""
        if hostname in self.device_management:
            return self.device_management[hostname].ip
        return self.loopbacks.get(hostname)


def _missing(inv: Inventory, village_id: str, what: str) -> InventoryError:
    position = SourcePosition(str(inv.root / LOCK_FILE), 1, 1)
    return InventoryError(
        [
            InventoryProblem(
                position,
                f"villages.{village_id}",
                f"{what}; run `kopnet addresses update`",
            )
        ]
    )


def _block(
    inv: Inventory, alloc: VillageAllocation, village_id: str, pools: list[str]
) -> IPv4Network:
    for name in pools:
        if name in alloc.blocks:
            return IPv4Network(alloc.blocks[name])
    raise _missing(inv, village_id, f"no block from pool(s) {', '.join(pools) or '-'}")


def village_addressing(inv: Inventory, village_id: str) -> VillageAddressing:
    """The address plan of ``village_id``; raises ``InventoryError`` if it is not allocated."""
    if inv.lock is None or village_id not in inv.lock.villages:
        raise _missing(inv, village_id, "no address allocation for this village")
    try:
        return _derive(inv, village_id, inv.lock.villages[village_id])
    except ValueError as exc:  # a hand-edited lock loaded without its checks
        raise _missing(inv, village_id, f"invalid allocation ({exc})") from exc


def _derive(inv: Inventory, village_id: str, alloc: VillageAllocation) -> VillageAddressing:
    village = inv.village(village_id)
    fleet = inv.fleet

    mgmt = _block(inv, alloc, village_id, pools_for(fleet, "management"))
    loop = _block(inv, alloc, village_id, pools_for(fleet, "loopback"))
    links = _block(inv, alloc, village_id, pools_for(fleet, "link"))
    subs = _block(inv, alloc, village_id, pools_for(fleet, "subscriber"))
    nat = _block(inv, alloc, village_id, pools_for(fleet, "public-nat"))
    profile = fleet.partner_isp.uplinks.get(village.uplink.type)
    uplink = _block(inv, alloc, village_id, [profile.pool] if profile else [])

    device_mgmt: dict[str, IPv4Interface] = {}
    for device in village.devices:
        if device.role == "gateway":
            continue
        if device.hostname not in alloc.devices:
            raise _missing(inv, village_id, f"device {device.hostname} has no management address")
        device_mgmt[device.hostname] = IPv4Interface(
            f"{alloc.devices[device.hostname]}/{mgmt.prefixlen}"
        )

    loopbacks: dict[str, IPv4Address] = {}
    for device in village.devices:
        if device.role == "gateway":
            loopbacks[device.hostname] = loop.network_address + 1
        elif device.hostname == core_router(village):
            loopbacks[device.hostname] = loop.network_address + 2

    gw_core = IPv4Network((int(links.network_address), 31))
    up = IPv4Network((int(uplink.network_address), 31))

    hotspot: dict[str, IPv4Interface] = {}
    pppoe_last = subs.broadcast_address - 1
    if offers_hotspot(village):
        pppoe_last = hotspot_area(subs).network_address - 1
        for hamlet in village.hamlets:
            if hamlet.id not in alloc.hotspot:
                raise _missing(inv, village_id, f"hamlet {hamlet.id} has no hotspot subnet")
            net = IPv4Network(alloc.hotspot[hamlet.id])
            hotspot[hamlet.id] = IPv4Interface(f"{net.network_address + 1}/{net.prefixlen}")

    return VillageAddressing(
        management=mgmt,
        management_gateway=IPv4Interface(f"{mgmt.network_address + 1}/{mgmt.prefixlen}"),
        device_management=device_mgmt,
        loopbacks=loopbacks,
        gateway_core=gw_core,
        gateway_core_gateway=IPv4Interface(f"{gw_core.network_address}/31"),
        gateway_core_core=IPv4Interface(f"{gw_core.network_address + 1}/31"),
        uplink=up,
        uplink_edge=IPv4Interface(f"{up.network_address}/31"),
        uplink_gateway=IPv4Interface(f"{up.network_address + 1}/31"),
        subscribers=subs,
        pppoe_local=subs.network_address + 1,
        pppoe_pool=(subs.network_address + 2, pppoe_last),
        hotspot=hotspot,
        public_nat=nat,
    )


def addressing_dict(addr: VillageAddressing) -> dict[str, object]:
    """Plain JSON-ready form (every address as text)."""
    return {
        "management": str(addr.management),
        "management_gateway": str(addr.management_gateway),
        "device_management": {k: str(v) for k, v in addr.device_management.items()},
        "loopbacks": {k: str(v) for k, v in addr.loopbacks.items()},
        "gateway_core": str(addr.gateway_core),
        "gateway_core_gateway": str(addr.gateway_core_gateway),
        "gateway_core_core": str(addr.gateway_core_core),
        "uplink": str(addr.uplink),
        "uplink_edge": str(addr.uplink_edge),
        "uplink_gateway": str(addr.uplink_gateway),
        "subscribers": str(addr.subscribers),
        "pppoe_local": str(addr.pppoe_local),
        "pppoe_pool": [str(addr.pppoe_pool[0]), str(addr.pppoe_pool[1])],
        "hotspot": {k: str(v) for k, v in addr.hotspot.items()},
        "public_nat": str(addr.public_nat),
    }
