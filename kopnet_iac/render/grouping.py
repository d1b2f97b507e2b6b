"""Review a fleet change by its distinct changes: devices whose changes are the same up to
their own values (names, addresses, VLAN ids, SSIDs, frequencies) form one group.

A template or fleet-file change touches hundreds of devices with the same edit; a reviewer
should read it once, with the count and the devices it applies to. Pure functions only:

- :func:`village_values` collects a village's own values from the inventory (hostnames, the
  village id and name, serials, hamlet names and VLAN ids, SSIDs and frequencies, every
  address of its address plan) as a :class:`VillageValues`;
- :meth:`VillageValues.normalise` replaces those values in a text by tokens (``{host}``,
  ``{village}``, ``{vlan}``, ``{mgmt_ip}``, ``{subscribers+1}``, ...), in one pass so a token
  is never rewritten again. The device's *own* hamlet, sector and address get the same token
  on every device (``{vlan}``), so two sector radios of one village group together;
- :func:`group_changes` groups devices by the normalised changed lines of all their changes:
  of a unified diff only the ``+``/``-`` lines count (context and line numbers differ between
  devices for no reason a reviewer cares about); any other text (a deploy plan) counts whole.

A fleet dry run groups its plans the same way (a plan has no diff headers, so it counts
whole)::

    items = [ChangeItem(r.village, d.hostname, "plan", d.diff)
             for r in reports for d in r.devices if d.changed]
    groups = group_changes(items, fleet_values([inventory], {r.village for r in reports}))

>>> items = [ChangeItem("v1", "core-v1", "v1/core-v1.rsc", "+/system identity set name=core-v1"),
...          ChangeItem("v2", "core-v2", "v2/core-v2.rsc", "+/system identity set name=core-v2")]
>>> [(g.count, g.representative) for g in group_changes(items, {})]
[(2, ('v1', 'core-v1'))]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING

from kopnet_iac.errors import KopnetError

if TYPE_CHECKING:
    from kopnet_iac.inventory.addressing import VillageAddressing
    from kopnet_iac.inventory.loader import Inventory
    from kopnet_iac.inventory.models import Village

_IPV4 = r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\d|\.\d)"
_WORD_EDGE = "A-Za-z0-9"
# a list of a device's own ports (``tagged=bridge,ether2,ether3``): how many is per device
_PORT_LIST = re.compile(r"\{port\}(?:,\{port\})*")


@dataclass(frozen=True)
class ChangeItem:
    """One change of one device: a file's unified diff, or a deploy plan (``name``: what)."""

    village: str
    host: str
    name: str
    text: str


@dataclass(frozen=True)
class ChangeGroup:
    """Devices sharing one change; ``representative`` is the first of ``members``."""

    key: tuple[tuple[str, tuple[str, ...]], ...]
    members: tuple[tuple[str, str], ...]

    @property
    def count(self) -> int:
        return len(self.members)

    @property
    def representative(self) -> tuple[str, str]:
        return self.members[0]

    @property
    def villages(self) -> list[str]:
        return sorted({village for village, _ in self.members})


@dataclass(frozen=True)
class VillageValues:
    """A village's own values and their tokens.

    ``words``: names (matched between non-alphanumerics); ``numbers``: VLAN ids and
    frequencies (matched between non-digits); ``addresses``: exact IPv4 addresses;
    ``networks``: the village's networks, an address inside one becomes ``{name+offset}``;
    ``own``: per hostname, values that get a device-independent token on that device.
    """

    village: str
    words: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)
    networks: tuple[tuple[IPv4Network, str], ...] = ()
    own: dict[str, dict[str, str]] = field(default_factory=dict)

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        own = {value for mapping in self.own.values() for value in mapping}
        ips = {value for value in own if re.fullmatch(_IPV4, value)}
        numbers = set(self.numbers) | {value for value in own if value.isdigit()}
        words = set(self.words) | (own - numbers - ips)
        parts = [f"(?P<ip>{_IPV4})"]
        if words:
            alt = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
            parts.append(f"(?P<word>(?<![{_WORD_EDGE}])(?:{alt})(?![{_WORD_EDGE}]))")
        if numbers:
            alt = "|".join(re.escape(n) for n in sorted(numbers, key=len, reverse=True))
            parts.append(rf"(?P<num>(?<![\d.])(?:{alt})(?!\d|\.\d))")
        return re.compile("|".join(parts))

    def _address(self, text: str) -> str:
        token = self.addresses.get(text)
        if token is not None:
            return token
        try:
            address = IPv4Address(text)
        except ValueError:
            return text
        for network, name in self.networks:  # most specific first
            if address in network:
                return f"{{{name}+{int(address) - int(network.network_address)}}}"
        return text

    def normalise(self, text: str, host: str | None = None) -> str:
        """``text`` with this village's values replaced by tokens (``host``: whose text)."""
        own = self.own.get(host, {}) if host is not None else {}

        def swap(match: re.Match[str]) -> str:
            value = match.group(0)
            if value in own:
                return own[value]
            if match.lastgroup == "ip":
                return self._address(value)
            if match.lastgroup == "word":
                return self.words.get(value, value)
            return self.numbers.get(value, value)

        return _PORT_LIST.sub("{ports}", self._pattern.sub(swap, text))


def device_names(village: Village) -> dict[str, str]:
    """A name for each device that is the same in every village: its role when the village
    has one such device (``gateway``, ``core-router``), a sector radio by the hamlet it
    serves (``sector-radio:dusun-1``), else the role and its place (``backhaul-radio#2``).

    Hostnames follow no fixed scheme (``core-sukadana``, ``core-0042``), roles do."""
    served = {s.radio: h.id for h in village.hamlets for s in h.sectors}
    by_role: dict[str, list[str]] = {}
    for device in village.devices:
        by_role.setdefault(device.role, []).append(device.hostname)
    names: dict[str, str] = {}
    for role, hosts in by_role.items():
        for index, host in enumerate(hosts, 1):
            if len(hosts) == 1:
                names[host] = role
            elif host in served:
                names[host] = f"{role}:{served[host]}"
            else:
                names[host] = f"{role}#{index}"
    return names


def _add_addressing(
    values: VillageValues, addr: VillageAddressing, names: Mapping[str, str]
) -> tuple[tuple[IPv4Network, str], ...]:
    """Exact addresses into ``values``; the village's networks, most specific first."""
    nets: list[tuple[IPv4Network, str]] = [
        (addr.management, "management"),
        (addr.gateway_core, "gateway_core"),
        (addr.uplink, "uplink"),
        (addr.subscribers, "subscribers"),
        (addr.public_nat, "public_nat"),
    ]
    for hamlet, iface in addr.hotspot.items():
        nets.append((iface.network, f"hotspot:{hamlet}"))
    for host, ip in addr.loopbacks.items():
        values.addresses[str(ip)] = f"{{loopback:{names.get(host, host)}}}"
        values.own.setdefault(host, {})[str(ip)] = "{loopback}"
    for host, iface in addr.device_management.items():
        values.addresses[str(iface.ip)] = f"{{mgmt:{names.get(host, host)}}}"
        values.own.setdefault(host, {})[str(iface.ip)] = "{mgmt_ip}"
    nets.sort(key=lambda pair: pair[0].prefixlen, reverse=True)
    return tuple(nets)


def village_values(inv: Inventory, village_id: str) -> VillageValues:
    """The own values of ``village_id`` (its addresses too, when it has an allocation)."""
    from kopnet_iac.inventory.addressing import village_addressing

    village = inv.village(village_id)
    values = VillageValues(village=village_id)
    words, numbers = values.words, values.numbers
    words[village.id] = "{village}"
    for text, token in ((village.name, "{village_name}"), (village.district, "{district}")):
        if len(text) >= 3:
            words.setdefault(text, token)
    if village.uplink.circuit_id:
        words[village.uplink.circuit_id] = "{circuit}"
    names = device_names(village)
    for device in village.devices:
        words[device.hostname] = f"{{{names[device.hostname]}}}"
        words[device.serial] = f"{{serial:{names[device.hostname]}}}"
        own = values.own.setdefault(device.hostname, {})
        own[device.hostname] = "{host}"
        own[device.serial] = "{serial}"
    for link in village.links:  # a device's own ports: which one serves what is per device
        for end in (link.a, link.b):
            host, port = end.split(":", 1)
            if host in values.own:
                values.own[host][port] = "{port}"
    gateway = next((d.hostname for d in village.devices if d.role == "gateway"), None)
    if gateway is not None:
        values.own[gateway][village.uplink.gateway_port] = "{port}"
    for hamlet in village.hamlets:
        numbers[str(hamlet.vlan)] = f"{{vlan:{hamlet.id}}}"
        if len(hamlet.name) >= 3:
            words[hamlet.name] = f"{{hamlet_name:{hamlet.id}}}"
        for sector in hamlet.sectors:
            own = values.own.setdefault(sector.radio, {})
            own[str(hamlet.vlan)] = "{vlan}"
            own[hamlet.id] = "{hamlet}"
            own[hamlet.name] = "{hamlet_name}"
            own[sector.ssid] = "{ssid}"
            own[str(sector.frequency)] = "{frequency}"
            words[sector.ssid] = f"{{ssid:{hamlet.id}}}"
            numbers[str(sector.frequency)] = f"{{frequency:{hamlet.id}}}"
    for link in village.links:
        if link.radio is not None:
            words[link.radio.ssid] = "{link_ssid}"
            numbers[str(link.radio.frequency)] = "{link_frequency}"
    try:
        addr = village_addressing(inv, village_id)
    except KopnetError:  # not allocated yet (a new village): names still normalise
        return values
    networks = _add_addressing(values, addr, names)
    for hamlet in village.hamlets:
        iface = addr.hotspot.get(hamlet.id)
        if iface is None:
            continue
        for sector in hamlet.sectors:
            values.own.setdefault(sector.radio, {})[str(iface.ip)] = "{hotspot_ip}"
    return VillageValues(
        village=village_id,
        words=values.words,
        numbers=values.numbers,
        addresses=values.addresses,
        networks=networks,
        own=values.own,
    )


def merge_values(first: VillageValues, second: VillageValues) -> VillageValues:
    """Both sides of a change (base and head): every value of either maps to its token."""
    own: dict[str, dict[str, str]] = {h: dict(v) for h, v in second.own.items()}
    for host, mapping in first.own.items():
        own.setdefault(host, {}).update(mapping)
    networks = dict(second.networks)
    networks.update(dict(first.networks))
    ordered = sorted(networks.items(), key=lambda pair: pair[0].prefixlen, reverse=True)
    return VillageValues(
        village=first.village,
        words={**second.words, **first.words},
        numbers={**second.numbers, **first.numbers},
        addresses={**second.addresses, **first.addresses},
        networks=tuple(ordered),
        own=own,
    )


def fleet_values(
    inventories: Iterable[Inventory], villages: Iterable[str]
) -> dict[str, VillageValues]:
    """:func:`village_values` of each village, merged over the inventories that have it."""
    invs = list(inventories)
    out: dict[str, VillageValues] = {}
    for village in villages:
        for inv in invs:
            if village not in inv.villages:
                continue
            values = village_values(inv, village)
            out[village] = merge_values(out[village], values) if village in out else values
    return out


def changed_lines(text: str) -> tuple[str, ...]:
    """What a change says: a unified diff's ``+``/``-`` lines (no headers, no context, no
    line numbers); any other text's non-empty lines."""
    lines = text.splitlines()
    if any(line.startswith("@@ ") for line in lines):
        return tuple(
            line
            for line in lines
            if line[:1] in "+-" and not line.startswith(("+++ ", "--- ")) and line not in "+-"
        )
    return tuple(line for line in lines if line.strip())


def group_changes(
    items: Iterable[ChangeItem], values: Mapping[str, VillageValues]
) -> list[ChangeGroup]:
    """Devices grouped by their normalised changes, biggest group first (then by its first
    device). ``values``: per village id; a village without values normalises by its id and
    the device's hostname only."""
    per_device: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] = {}
    for item in items:
        vals = values.get(item.village) or _minimal(item.village, item.host)
        name = vals.normalise(item.name, item.host)
        lines = tuple(vals.normalise(line, item.host) for line in changed_lines(item.text))
        per_device.setdefault((item.village, item.host), []).append((name, lines))
    buckets: dict[tuple[tuple[str, tuple[str, ...]], ...], list[tuple[str, str]]] = {}
    for device, changes in per_device.items():
        buckets.setdefault(tuple(sorted(changes)), []).append(device)
    groups = [ChangeGroup(key=key, members=tuple(sorted(m))) for key, m in buckets.items()]
    return sorted(groups, key=lambda g: (-g.count, g.members[0]))


def _minimal(village: str, host: str) -> VillageValues:
    return VillageValues(
        village=village,
        words={village: "{village}"},
        own={host: {host: "{host}"}},
    )


__all__ = [
    "ChangeGroup",
    "ChangeItem",
    "VillageValues",
    "changed_lines",
    "fleet_values",
    "group_changes",
    "merge_values",
    "village_values",
]
