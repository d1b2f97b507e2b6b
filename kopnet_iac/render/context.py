"""Template context: everything a device template may use, built once per village.

The keys every template gets (the rendering contract):

``fleet``, ``village``, ``device``, ``hardware``, ``addr`` (``VillageAddressing``), ``devices``
(hostname -> Device of the village), ``links`` (this device's links as dicts ``local_port``,
``peer``, ``peer_port``, ``radio``), ``uplink_profile``, ``plans`` (plans the village offers, in
fleet order), ``hamlets`` and ``secret(name)`` -> ``@@secret:NAME@@``.

Compatible additions used by the shipped templates: ``sectors`` (``{"hamlet", "sector"}`` dicts
for the sectors this radio serves), ``radio_link`` (this device's wireless link or None),
``mgmt`` (this device's management interface address or None), ``ports`` (core router only:
per port the peer, its role and the hamlet VLANs reached through it).

Field-grade additions (management path, radio geometry, time):

``mgmt_path`` (``ManagementPath`` of the village: which ports of every device carry the
management VLAN, whether it is extended over the gateway-core link), ``mgmt_ports`` (this
device's ports carrying the management VLAN, tagged; for the gateway: the ports it must bridge
the VLAN between, empty when the village does not need it), ``mgmt_edge_ports`` (radio ports
where the VLAN must be dropped: a tower-side backhaul's cable to the ISP edge), ``radio_km``
(this radio's link distance or sector range, km, or None), ``ntp_servers`` (the village
gateway's loopback first, then the NOC servers) and ``hotspot_hamlets`` (hamlets that sell
hotspot plans, each with ``plans``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kopnet_iac.errors import RenderError
from kopnet_iac.inventory.addressing import village_addressing
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.inventory.mgmtpath import ManagementPath, management_path
from kopnet_iac.inventory.models import Device, Fleet, Hamlet, Village

log = logging.getLogger(__name__)

SECRET_PREFIX = "@@secret:"
SECRET_SUFFIX = "@@"


def secret_placeholder(name: str) -> str:
    """The stable placeholder written to artifacts instead of a secret value.

    >>> secret_placeholder("radius-secret")
    '@@secret:radius-secret@@'
    """
    return f"{SECRET_PREFIX}{name}{SECRET_SUFFIX}"


def make_secret_function(fleet: Fleet, village: str) -> Callable[[str], str]:
    """``secret(name)`` for templates; an undeclared name is a render error, not a silent typo."""
    declared = fleet.secrets

    def secret(name: str) -> str:
        if name not in declared:
            raise RenderError(
                f"secret {name!r} is not declared under secrets: in fleet.yaml", village=village
            )
        return secret_placeholder(name)

    return secret


def _split(endpoint: str) -> tuple[str, str]:
    host, _, port = endpoint.partition(":")
    return host, port


def links_by_device(village: Village) -> dict[str, list[dict[str, Any]]]:
    """Every device's links, seen from its side, in inventory order (one pass)."""
    result: dict[str, list[dict[str, Any]]] = {d.hostname: [] for d in village.devices}
    for link in village.links:
        a_host, _, a_port = link.a.partition(":")
        b_host, _, b_port = link.b.partition(":")
        radio = link.radio
        result.setdefault(a_host, []).append(
            {"local_port": a_port, "peer": b_host, "peer_port": b_port, "radio": radio}
        )
        if b_host != a_host:
            result.setdefault(b_host, []).append(
                {"local_port": b_port, "peer": a_host, "peer_port": a_port, "radio": radio}
            )
    return result


def device_links(village: Village, hostname: str) -> list[dict[str, Any]]:
    """This device's links, seen from its side, in inventory order."""
    return links_by_device(village).get(hostname, [])


def _adjacency(village: Village) -> dict[str, list[tuple[str, str]]]:
    """hostname -> [(local_port, peer)] over every link of the village."""
    adjacency: dict[str, list[tuple[str, str]]] = {d.hostname: [] for d in village.devices}
    for link in village.links:
        a_host, a_port = _split(link.a)
        b_host, b_port = _split(link.b)
        adjacency.setdefault(a_host, []).append((a_port, b_host))
        adjacency.setdefault(b_host, []).append((b_port, a_host))
    return adjacency


def core_ports(village: Village, core: str) -> list[dict[str, Any]]:
    """Per core-router port with a link: the peer, its role and the hamlets reached through it.

    Hamlets are found by walking the link graph away from the core router (radios bridge
    transparently, so a sector behind a PtP hop still hangs off the core port of that hop).
    """
    roles = {d.hostname: d.role for d in village.devices}
    sector_hamlets: dict[str, list[Hamlet]] = {}
    for hamlet in village.hamlets:
        for sector in hamlet.sectors:
            sector_hamlets.setdefault(sector.radio, []).append(hamlet)
    adjacency = _adjacency(village)
    ports: list[dict[str, Any]] = []
    for port, peer in adjacency.get(core, []):
        seen = {core, peer}
        stack = [peer]
        reached: list[Hamlet] = []
        while stack:
            host = stack.pop()
            for hamlet in sector_hamlets.get(host, []):
                if hamlet not in reached:
                    reached.append(hamlet)
            if roles.get(host) == "gateway":
                continue  # never walk through the gateway
            for _, nxt in adjacency.get(host, []):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        reached.sort(key=lambda h: h.vlan)
        ports.append(
            {
                "port": port,
                "peer": peer,
                "peer_role": roles.get(peer, "unknown"),
                "hamlets": reached,
                # one hamlet behind a port: untagged access (radios bridge plain frames);
                # several: the hamlet VLANs are tagged and the radios must tag themselves.
                "pvid": reached[0].vlan if len(reached) == 1 else None,
            }
        )
    return ports


def village_contexts(inv: Inventory, village_id: str) -> dict[str, dict[str, Any]]:
    """The template context of every device of a village, keyed by hostname."""
    try:
        village = inv.village(village_id)
    except KeyError as exc:
        raise RenderError(f"unknown village {village_id!r}", village=village_id) from exc
    fleet = inv.fleet
    try:
        addr = village_addressing(inv, village_id)
    except KeyError as exc:
        raise RenderError(
            f"no address allocation ({exc}); run `kopnet addresses update`", village=village_id
        ) from exc
    try:
        uplink_profile = fleet.partner_isp.uplinks[village.uplink.type]
    except KeyError as exc:
        raise RenderError(
            f"fleet has no uplink profile for {village.uplink.type!r}", village=village_id
        ) from exc
    hotspot_names = {name for h in village.hamlets for name in village.hotspot_plans_of(h)}
    offered = set(village.services.pppoe_plans) | hotspot_names
    plans = [plan for plan in fleet.plans if plan.name in offered]
    by_name = {plan.name: plan for plan in fleet.plans}
    hotspot_hamlets = [
        {"hamlet": h, "plans": [by_name[n] for n in village.hotspot_plans_of(h) if n in by_name]}
        for h in village.hotspot_hamlets()
    ]
    try:
        wired = {d.hostname: inv.hardware_of(d).ports for d in village.devices}
    except KeyError as exc:
        raise RenderError(f"unknown hardware model ({exc})", village=village_id) from exc
    mgmt_path = management_path(village, wired)
    gateway = next((d.hostname for d in village.devices if d.role == "gateway"), None)
    gateway_loopback = addr.loopbacks.get(gateway) if gateway is not None else None
    ntp_servers = [str(gateway_loopback)] if gateway_loopback is not None else []
    ntp_servers += [s for s in fleet.noc.ntp if s not in ntp_servers]
    devices = {d.hostname: d for d in village.devices}
    sectors_of: dict[str, list[dict[str, Any]]] = {}
    for hamlet in village.hamlets:
        for sector in hamlet.sectors:
            sectors_of.setdefault(sector.radio, []).append({"hamlet": hamlet, "sector": sector})
    base: dict[str, Any] = {
        "fleet": fleet,
        "village": village,
        "addr": addr,
        "devices": devices,
        "uplink_profile": uplink_profile,
        "plans": plans,
        "hamlets": village.hamlets,
        "secret": make_secret_function(fleet, village_id),
        "mgmt_path": mgmt_path,
        "ntp_servers": ntp_servers,
        "hotspot_hamlets": hotspot_hamlets,
    }
    links_of = links_by_device(village)
    contexts: dict[str, dict[str, Any]] = {}
    for device in village.devices:
        contexts[device.hostname] = _device_part(inv, village, device, base, sectors_of, links_of)
    return contexts


def _device_part(
    inv: Inventory,
    village: Village,
    device: Device,
    base: dict[str, Any],
    sectors_of: dict[str, list[dict[str, Any]]],
    links_of: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    try:
        hardware = inv.hardware_of(device)
    except KeyError as exc:
        raise RenderError(
            f"unknown hardware model {device.model!r}", village=village.id, host=device.hostname
        ) from exc
    links = links_of.get(device.hostname, [])
    radio_link = next((link for link in links if link["radio"] is not None), None)
    ctx = dict(base)
    ctx.update(
        device=device,
        hardware=hardware,
        links=links,
        sectors=sectors_of.get(device.hostname, []),
        radio_link=radio_link,
        mgmt=base["addr"].device_management.get(device.hostname),
        ports=core_ports(village, device.hostname) if device.role == "core-router" else [],
        mgmt_ports=list(mgmt_path_of(base).ports.get(device.hostname, ())),
        mgmt_edge_ports=list(mgmt_path_of(base).edge_ports.get(device.hostname, ())),
        radio_km=_radio_km(radio_link, sectors_of.get(device.hostname, [])),
    )
    return ctx


def mgmt_path_of(base: dict[str, Any]) -> ManagementPath:
    path: ManagementPath = base["mgmt_path"]
    return path


def _radio_km(radio_link: dict[str, Any] | None, sectors: list[dict[str, Any]]) -> float | None:
    """The distance a radio must cover: its PtP link length, else its farthest sector range."""
    if radio_link is not None:
        return float(radio_link["radio"].distance_km)
    ranges = [float(s["sector"].range_km) for s in sectors]
    return max(ranges) if ranges else None


def device_context(inv: Inventory, village_id: str, hostname: str) -> dict[str, object]:
    """The template context of one device (see the module docstring for the keys)."""
    contexts = village_contexts(inv, village_id)
    if hostname not in contexts:
        raise RenderError(f"unknown device {hostname!r}", village=village_id, host=hostname)
    return dict(contexts[hostname])
