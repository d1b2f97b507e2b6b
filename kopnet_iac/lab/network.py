"""The lab topology: link states and ping answers for emulated devices (:class:`LabNetwork`).

Rules, kept simple on purpose:

* A link is up when both ends are up. An end is up when it is an emulated device that is
  ``running`` and whose port is not in its ``links_down`` fault, or when it is not emulated here
  (the Linux gateway, which runs in its own namespace, or a subscriber): those count as up.
* Radio links report the signal from the inventory's ``expected_signal_dbm`` while up.
* ``ping(source, address)`` answers when ``address`` is configured on a running emulated device
  reachable from ``source`` over up links (layer-2 reachability: no routing, VLANs or firewalls),
  the source itself included.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from kopnet_iac.lab.faults import Faults
from kopnet_iac.lab.spec import DeviceSpec, LinkSpec, LinkState


class RunningDevice(Protocol):
    """What the topology needs from a device emulator."""

    @property
    def state(self) -> str: ...

    def configured_addresses(self) -> list[str]: ...


@dataclass
class _Member:
    spec: DeviceSpec
    faults: Faults
    device: RunningDevice | None = None


def _bare(address: str) -> str:
    text = address.split("/", 1)[0].strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


class LabTopology:
    """Implements :class:`kopnet_iac.lab.spec.LabNetwork` over the devices of one lab."""

    def __init__(self) -> None:
        self._members: dict[str, _Member] = {}

    def add(self, spec: DeviceSpec, faults: Faults, device: RunningDevice | None = None) -> None:
        self._members[spec.hostname] = _Member(spec, faults, device)

    def attach(self, hostname: str, device: RunningDevice) -> None:
        self._members[hostname].device = device

    def remove(self, hostname: str) -> None:
        self._members.pop(hostname, None)

    def _link(self, hostname: str, port: str) -> LinkSpec | None:
        member = self._members.get(hostname)
        if member is None:
            return None
        for link in member.spec.links:
            if link.local_port == port:
                return link
        return None

    def _end_up(self, hostname: str, port: str) -> bool:
        member = self._members.get(hostname)
        if member is None:
            return True  # not emulated here (gateway namespace, subscriber side)
        if member.device is None or member.device.state != "running":
            return False
        return port not in member.faults.links_down

    def link_state(self, hostname: str, port: str) -> LinkState | None:
        link = self._link(hostname, port)
        if link is None:
            return None
        running = self._end_up(hostname, port) and self._end_up(link.peer_hostname, link.peer_port)
        return LinkState(
            running=running,
            peer_hostname=link.peer_hostname,
            peer_port=link.peer_port,
            signal_dbm=link.signal_dbm if running else None,
        )

    def peer_ssid(self, hostname: str, port: str) -> str | None:
        """The SSID the radio at the other end of ``port`` is configured with now; None when
        the peer is not emulated here or does not say (a RouterOS radio)."""
        link = self._link(hostname, port)
        member = self._members.get(link.peer_hostname) if link is not None else None
        if member is None or member.device is None:
            return None
        ask = getattr(member.device, "wireless_ssid", None)
        return ask() if callable(ask) else None

    def ping(self, source_hostname: str, address: str) -> bool:
        target = _bare(address)
        seen = {source_hostname}
        queue = deque([source_hostname])
        while queue:
            hostname = queue.popleft()
            member = self._members.get(hostname)
            if member is None or member.device is None:
                continue
            if member.device.state == "running" and target in {
                _bare(a) for a in member.device.configured_addresses()
            }:
                return True
            for link in member.spec.links:
                if link.peer_hostname in seen:
                    continue
                state = self.link_state(hostname, link.local_port)
                if state is not None and state.running:
                    seen.add(link.peer_hostname)
                    queue.append(link.peer_hostname)
        return False
