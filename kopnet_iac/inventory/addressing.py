"""The address plan of a village, derived from its entry in ``addresses.lock.yaml``.

Blocks are carved from the fleet pools by ``kopnet addresses update`` (see ``lockfile``); this
module turns one village's blocks into the concrete addresses templates use:

- management block (``fleet.management_vlan``): first host = core router, radios as locked;
- loopback block: gateway = first host, core router = second host (/32 each);
- link block: first /31 between gateway (first address) and core router (second address);
- uplink /31 from the pool of the village's uplink type: ISP edge first, gateway second;
- subscriber block (from 100.64.0.0/10): PPPoE server = first host, PPPoE clients take the rest;
  with hotspot plans the upper half is reserved for hotspot subnets (/26 per hamlet that sells
  hotspot plans, locked);
- public NAT block: the CGNAT source addresses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import TYPE_CHECKING

from kopnet_iac.errors import InventoryError, InventoryProblem, SourcePosition
from kopnet_iac.inventory.lockfile import LOCK_FILE, offers_hotspot

if TYPE_CHECKING:
    from kopnet_iac.inventory.loader import Inventory
    from kopnet_iac.inventory.lockfile import VillageAllocation
    from kopnet_iac.inventory.models import Fleet


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


# Lock entries are nearly always canonical dotted quads: parse those with one regular expression
# and integer arithmetic (``ipaddress`` string parsing dominated rendering a large fleet). Anything
# else goes to ``ipaddress`` itself, so odd or invalid text behaves (and fails) exactly as before.
_QUAD = re.compile(
    r"(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})"
)
_SLASH = re.compile(r"/([0-9]{1,2})")
_ALL_ONES = 0xFFFFFFFF


def _quad(text: str, pos: int = 0) -> tuple[int, int] | None:
    """``(integer, end)`` of a canonical dotted quad at ``pos``, else None."""
    m = _QUAD.match(text, pos)
    if m is None:
        return None
    a, b, c, d = (int(g) for g in m.groups())
    if a > 255 or b > 255 or c > 255 or d > 255:
        return None
    return (a << 24) | (b << 16) | (c << 8) | d, m.end()


def parse_network(text: str) -> IPv4Network:
    """``IPv4Network(text)`` (strict), fast for the canonical ``a.b.c.d/n`` form.

    >>> parse_network("10.90.0.128/26")
    IPv4Network('10.90.0.128/26')
    """
    quad = _quad(text)
    if quad is not None:
        value, end = quad
        m = _SLASH.fullmatch(text, end)
        if m is not None:
            prefixlen = int(m.group(1))
            if prefixlen <= 32:  # strict, like the text form: host bits set raise the same way
                return IPv4Network((value, prefixlen))
    return IPv4Network(text)


def parse_interface(address: str, prefixlen: int) -> IPv4Interface:
    """``IPv4Interface(f"{address}/{prefixlen}")``, fast for a canonical dotted quad.

    >>> parse_interface("10.90.0.130", 26)
    IPv4Interface('10.90.0.130/26')
    """
    quad = _quad(address)
    if quad is not None and quad[1] == len(address) and 0 <= prefixlen <= 32:
        return IPv4Interface((quad[0], prefixlen))
    return IPv4Interface(f"{address}/{prefixlen}")


def _pools_by_purpose(fleet: Fleet) -> dict[str, list[str]]:
    """``pools_for`` of every purpose in one pass (same names, same fleet order)."""
    by_purpose: dict[str, list[str]] = {}
    for name, pool in fleet.pools.items():
        by_purpose.setdefault(pool.purpose, []).append(name)
    return by_purpose


def _block(
    inv: Inventory, alloc: VillageAllocation, village_id: str, pools: list[str]
) -> IPv4Network:
    for name in pools:
        if name in alloc.blocks:
            return parse_network(alloc.blocks[name])
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
    # Same steps in the same order as the plain ``ipaddress`` formulation (so a broken lock
    # fails with the same message), on integers wherever the result cannot differ.
    village = inv.village(village_id)
    fleet = inv.fleet
    pools = _pools_by_purpose(fleet)

    mgmt = _block(inv, alloc, village_id, pools.get("management", []))
    loop = _block(inv, alloc, village_id, pools.get("loopback", []))
    links = _block(inv, alloc, village_id, pools.get("link", []))
    subs = _block(inv, alloc, village_id, pools.get("subscriber", []))
    nat = _block(inv, alloc, village_id, pools.get("public-nat", []))
    profile = fleet.partner_isp.uplinks.get(village.uplink.type)
    uplink = _block(inv, alloc, village_id, [profile.pool] if profile else [])

    mgmt_len = mgmt.prefixlen
    device_mgmt: dict[str, IPv4Interface] = {}
    core = None
    for device in village.devices:
        if device.role == "gateway":
            continue
        if core is None and device.role == "core-router":
            core = device.hostname
        if device.hostname not in alloc.devices:
            raise _missing(inv, village_id, f"device {device.hostname} has no management address")
        device_mgmt[device.hostname] = parse_interface(alloc.devices[device.hostname], mgmt_len)

    loop_net = int(loop.network_address)
    loopbacks: dict[str, IPv4Address] = {}
    for device in village.devices:
        if device.role == "gateway":
            loopbacks[device.hostname] = IPv4Address(loop_net + 1)
        elif device.hostname == core:
            loopbacks[device.hostname] = IPv4Address(loop_net + 2)

    gw_core = IPv4Network((int(links.network_address), 31))
    up = IPv4Network((int(uplink.network_address), 31))

    subs_net = int(subs.network_address)
    hotspot: dict[str, IPv4Interface] = {}
    pppoe_last = IPv4Address((subs_net | _ALL_ONES >> subs.prefixlen) - 1)  # broadcast - 1
    if offers_hotspot(village):
        if subs.prefixlen == 32:
            raise ValueError(f"subscriber block {subs} has no upper half for hotspot subnets")
        # below the upper half of the block (``hotspot_area``), where hotspot subnets live
        pppoe_last = IPv4Address(subs_net + (1 << (31 - subs.prefixlen)) - 1)
        for hamlet in village.hotspot_hamlets():
            if hamlet.id not in alloc.hotspot:
                raise _missing(inv, village_id, f"hamlet {hamlet.id} has no hotspot subnet")
            net = parse_network(alloc.hotspot[hamlet.id])
            hotspot[hamlet.id] = IPv4Interface((int(net.network_address) + 1, net.prefixlen))

    mgmt_net = int(mgmt.network_address)
    gw_core_net = int(gw_core.network_address)
    up_net = int(up.network_address)
    return VillageAddressing(
        management=mgmt,
        management_gateway=IPv4Interface((mgmt_net + 1, mgmt_len)),
        device_management=device_mgmt,
        loopbacks=loopbacks,
        gateway_core=gw_core,
        gateway_core_gateway=IPv4Interface((gw_core_net, 31)),
        gateway_core_core=IPv4Interface((gw_core_net + 1, 31)),
        uplink=up,
        uplink_edge=IPv4Interface((up_net, 31)),
        uplink_gateway=IPv4Interface((up_net + 1, 31)),
        subscribers=subs,
        pppoe_local=IPv4Address(subs_net + 1),
        pppoe_pool=(IPv4Address(subs_net + 2), pppoe_last),
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
