"""The management path of a village: which ports carry the management VLAN, who is reachable.

The management VLAN (``fleet.management_vlan``) starts at the core router, whose VLAN interface
holds the gateway address of the management subnet. Radios are transparent bridges, so the VLAN
reaches every radio behind a core-router port. Radios that hang off the *gateway* (a PtP backhaul
to the partner ISP tower on the gateway's uplink port) are reachable only when the VLAN is also
carried over the gateway-core link (tagged) and bridged by the gateway to the ports facing those
radios; this module decides when that is needed and which ports take part.

The templates render exactly these memberships (``mgmt_ports`` in the render context), and the
inventory check walks the same graph, so "reachable" here means "reachable over what we render".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kopnet_iac.inventory.models import Village

RADIO_ROLES = ("backhaul-radio", "sector-radio")


@dataclass(frozen=True)
class ManagementPath:
    """Result of the walk: per device the ports carrying the management VLAN (link order)."""

    ports: dict[str, tuple[str, ...]]
    reachable: frozenset[str]
    #: the VLAN is carried tagged over the gateway-core link and bridged by the gateway
    via_gateway: bool
    #: hostname -> why its management address cannot be reached
    unreachable: dict[str, str] = field(default_factory=dict)
    #: radio ports with no inventory link (a tower-side backhaul's cable to the ISP edge):
    #: the management VLAN must be dropped there, never leaked
    edge_ports: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _ends(village: Village) -> list[tuple[str, str, str, str]]:
    out = []
    for link in village.links:
        a_host, _, a_port = link.a.partition(":")
        b_host, _, b_port = link.b.partition(":")
        out.append((a_host, a_port, b_host, b_port))
    return out


def _walk(
    start: str, ends: list[tuple[str, str, str, str]], carries: dict[str, set[str]]
) -> set[str]:
    """Hosts reached from ``start`` over links whose two ports both carry the VLAN."""
    reached = {start}
    stack = [start]
    while stack:
        host = stack.pop()
        for a, ap, b, bp in ends:
            for here, here_port, there, there_port in ((a, ap, b, bp), (b, bp, a, ap)):
                if here != host or there in reached:
                    continue
                if here_port in carries.get(here, set()) and there_port in carries.get(
                    there, set()
                ):
                    reached.add(there)
                    stack.append(there)
    return reached


def management_path(village: Village, wired_ports: Mapping[str, Iterable[str]]) -> ManagementPath:
    """Walk the village's links from the core router's management VLAN.

    ``wired_ports`` maps a radio hostname to all its ports (from the hardware catalogue); ports
    of a radio without a link are reported in ``edge_ports``. Devices with a management address
    are every device but the gateway (reached over its loopback, routed).
    """
    roles = {d.hostname: d.role for d in village.devices}
    core = next((h for h, r in roles.items() if r == "core-router"), None)
    gateway = next((h for h, r in roles.items() if r == "gateway"), None)
    ends = _ends(village)
    linked: dict[str, list[str]] = {h: [] for h in roles}
    for a, ap, b, bp in ends:
        linked.setdefault(a, []).append(ap)
        linked.setdefault(b, []).append(bp)
    carries: dict[str, set[str]] = {h: set() for h in roles}
    for host, role in roles.items():
        if role in RADIO_ROLES:
            carries[host] = set(linked.get(host, []))  # a transparent bridge: every linked port
    gw_ports_to_core: set[str] = set()
    core_ports_to_gw: set[str] = set()
    for a, ap, b, bp in ends:
        for here, hp, there, tp in ((a, ap, b, bp), (b, bp, a, ap)):
            if here == core and there == gateway:
                core_ports_to_gw.add(hp)
                gw_ports_to_core.add(tp)
    if core is not None:
        carries[core] = set(linked.get(core, [])) - core_ports_to_gw
    wanted = {h for h, r in roles.items() if r != "gateway"}
    reached = _walk(core, ends, carries) if core is not None else set()
    via_gateway = False
    if gateway is not None and core is not None and gw_ports_to_core and wanted - reached:
        # Extend the VLAN over the gateway: tagged on the core link, bridged to the gateway ports
        # whose far side leads (over radios only) to a device not reached yet.
        trial = {h: set(p) for h, p in carries.items()}
        trial[core] |= core_ports_to_gw
        gw_extra: set[str] = set()
        for a, ap, b, bp in ends:
            for here, hp, there, _tp in ((a, ap, b, bp), (b, bp, a, ap)):
                if here == gateway and there != core and roles.get(there) == "backhaul-radio":
                    gw_extra.add(hp)
        trial[gateway] = gw_ports_to_core | gw_extra
        again = _walk(core, ends, trial)
        if (again - reached) & wanted:
            # keep only gateway ports that lead to a newly reached device
            useful = set(gw_ports_to_core)
            for a, ap, b, bp in ends:
                for here, hp, there, _tp in ((a, ap, b, bp), (b, bp, a, ap)):
                    if here == gateway and hp in gw_extra and there in again - reached:
                        useful.add(hp)
            trial[gateway] = useful
            carries = trial
            reached = _walk(core, ends, carries)
            via_gateway = True
    unreachable: dict[str, str] = {}
    for host in sorted(wanted - reached):
        if not linked.get(host):
            unreachable[host] = "it has no link"
        elif core is None:
            unreachable[host] = "the village has no core router"
        else:
            unreachable[host] = (
                f"no chain of links carrying the management VLAN leads from the core router "
                f"{core} to it (radios bridge it, the gateway only toward backhaul radios)"
            )
    order: dict[str, tuple[str, ...]] = {}
    for host in roles:
        order[host] = tuple(p for p in linked.get(host, []) if p in carries.get(host, set()))
    edges: dict[str, tuple[str, ...]] = {}
    for host, ports in wired_ports.items():
        if roles.get(host) == "backhaul-radio":
            free = tuple(p for p in ports if p not in linked.get(host, []) and _wired(p))
            if free and host in reached:
                edges[host] = free
    return ManagementPath(
        ports=order,
        reachable=frozenset(reached),
        via_gateway=via_gateway,
        unreachable=unreachable,
        edge_ports=edges,
    )


def _wired(port: str) -> bool:
    """An Ethernet port name (not a radio interface)."""
    return not port.startswith(("wlan", "ath", "wifi"))
