"""What a healthy device of a village looks like, derived from the inventory (pure).

:func:`village_expectations` gives, per device, what the verification checks compare the
device's getter data with: its linked ports, its upstream ping targets, the PPPoE/hotspot
servers the village sells, and its PtP radio partner with the expected signal. It also places
every device on the management path (:func:`management_rank`), which is what the deploy's apply
order is built from.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kopnet_iac.errors import KopnetError

if TYPE_CHECKING:
    from kopnet_iac.inventory.loader import Inventory
    from kopnet_iac.inventory.models import Village


@dataclass(frozen=True)
class RadioPeer:
    """The other end of a PtP radio link, seen from one end."""

    peer: str
    local_port: str
    ssid: str
    expected_signal_dbm: int


@dataclass(frozen=True)
class DeviceExpectation:
    """The inventory's view of one device, as the checks need it."""

    village: str
    hostname: str
    role: str
    platform: str
    model: str
    ports: tuple[str, ...] = ()
    targets: dict[str, str] = field(default_factory=dict)
    pppoe_servers: int = 0
    hotspot_servers: int = 0
    radio: RadioPeer | None = None
    rank: int = 0


def _split(endpoint: str) -> tuple[str, str]:
    host, _, port = endpoint.partition(":")
    return host, port


def _adjacency(village: Village) -> dict[str, list[tuple[str, str]]]:
    adjacency: dict[str, list[tuple[str, str]]] = {d.hostname: [] for d in village.devices}
    for link in village.links:
        a_host, a_port = _split(link.a)
        b_host, b_port = _split(link.b)
        adjacency.setdefault(a_host, []).append((a_port, b_host))
        adjacency.setdefault(b_host, []).append((b_port, a_host))
    return adjacency


def management_rank(village: Village) -> dict[str, int]:
    """Place of every device on the management path from the NOC, as a sortable rank.

    The NOC reaches a village through its uplink and the gateway. Devices behind the gateway
    (core router, radios) get ``-hops`` from the gateway; the gateway gets 0; devices on the
    gateway's uplink side (a PtP uplink radio pair) get ``+hops``, the one nearest the ISP
    highest. Applying in ascending rank changes the device farthest from the NOC first, so every
    device is changed while the path to it still runs its known-good configuration.

    >>> # lebung-itam: sectors -2, core -1, gateway 0, uplink radio b 1, uplink radio a 2
    """
    gateway = next((d.hostname for d in village.devices if d.role == "gateway"), None)
    if gateway is None:
        raise KopnetError("village has no device with role gateway", village=village.id)
    adjacency = _adjacency(village)
    uplink_port = village.uplink.gateway_port
    rank = {gateway: 0}
    for upstream in (False, True):
        queue: deque[tuple[str, int]] = deque()
        for port, peer in adjacency.get(gateway, []):
            if (port == uplink_port) == upstream and peer not in rank:
                rank[peer] = 1 if upstream else -1
                queue.append((peer, 1))
        while queue:
            host, hops = queue.popleft()
            for _, peer in adjacency.get(host, []):
                if peer not in rank:
                    rank[peer] = hops + 1 if upstream else -(hops + 1)
                    queue.append((peer, hops + 1))
    far = min(rank.values(), default=0) - 1
    for device in village.devices:  # not linked at all: treat as farthest downstream
        rank.setdefault(device.hostname, far)
    return rank


def village_expectations(inv: Inventory, village_id: str) -> dict[str, DeviceExpectation]:
    """hostname -> :class:`DeviceExpectation` for every device of ``village_id``."""
    from kopnet_iac.inventory.addressing import village_addressing

    village = inv.village(village_id)
    addr = village_addressing(inv, village_id)
    rank = management_rank(village)
    common = {
        "gateway-link": str(addr.gateway_core_gateway.ip),
        "management-gateway": str(addr.management_gateway.ip),
        "uplink-edge": str(addr.uplink_edge.ip),
    }
    hamlets = len(village.hamlets)
    ports: dict[str, list[str]] = {d.hostname: [] for d in village.devices}
    radios: dict[str, RadioPeer] = {}
    for link in village.links:
        a_host, a_port = _split(link.a)
        b_host, b_port = _split(link.b)
        ports.setdefault(a_host, []).append(a_port)
        ports.setdefault(b_host, []).append(b_port)
        if link.radio is not None:
            for here, port, there in ((a_host, a_port, b_host), (b_host, b_port, a_host)):
                radios[here] = RadioPeer(
                    peer=there,
                    local_port=port,
                    ssid=link.radio.ssid,
                    expected_signal_dbm=link.radio.expected_signal_dbm,
                )
    out: dict[str, DeviceExpectation] = {}
    for device in village.devices:
        targets = dict(common)
        if device.role == "core-router":
            targets["upstream"] = common["gateway-link"]
        elif rank[device.hostname] > 0:
            targets["upstream"] = common["uplink-edge"]
        else:
            targets["upstream"] = common["management-gateway"]
        core = device.role == "core-router"
        out[device.hostname] = DeviceExpectation(
            village=village_id,
            hostname=device.hostname,
            role=device.role,
            platform=inv.hardware_of(device).platform,
            model=device.model,
            ports=tuple(ports.get(device.hostname, ())),
            targets=targets,
            pppoe_servers=hamlets if core and village.services.pppoe_plans else 0,
            hotspot_servers=len(village.hotspot_hamlets()) if core else 0,
            radio=radios.get(device.hostname),
            rank=rank[device.hostname],
        )
    return out


__all__ = ["DeviceExpectation", "RadioPeer", "management_rank", "village_expectations"]
