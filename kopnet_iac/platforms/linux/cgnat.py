"""Deterministic CGNAT: every subscriber address owns a fixed block of public ports.

A village's subscriber block (e.g. a /22) shares its public NAT block (e.g. a /29): subscriber
``i`` (its offset in the block) is translated to public address ``i // per_address`` and the
``i % per_address``-th port block above ``first_port``. The nftables map the gateway template
renders and the block log sent to the NOC syslog are this table, so a complaint naming a public
address, a port and a time is traced to one subscriber address by :func:`owner_of` (then to a
customer through the RADIUS accounting of that time). Other protocols (ICMP) go out on the
same public address, by prefix. Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

LAST_PORT = 65535


@dataclass(frozen=True)
class PortBlock:
    """Subscriber address -> public address and port range (inclusive)."""

    subscriber: IPv4Address
    public: IPv4Address
    first: int
    last: int

    def log_line(self, village: str) -> str:
        return (
            f"village={village} subscriber={self.subscriber} public={self.public} "
            f"ports={self.first}-{self.last}"
        )


def layout(subscribers: IPv4Network, public: IPv4Network, first_port: int) -> tuple[int, int]:
    """(subscribers per public address, ports per subscriber).

    >>> layout(IPv4Network("100.64.0.0/22"), IPv4Network("198.18.0.0/29"), 1024)
    (128, 504)
    """
    per_address = max(subscribers.num_addresses // public.num_addresses, 1)
    return per_address, (LAST_PORT + 1 - first_port) // per_address


def port_blocks(
    subscribers: IPv4Network, public: IPv4Network, first_port: int = 1024
) -> list[PortBlock]:
    """Every subscriber address's block, in address order."""
    per_address, size = layout(subscribers, public, first_port)
    blocks = []
    for i in range(subscribers.num_addresses):
        slot = i % per_address
        low = first_port + slot * size
        blocks.append(
            PortBlock(
                subscriber=subscribers.network_address + i,
                public=public.network_address + min(i // per_address, public.num_addresses - 1),
                first=low,
                last=low + size - 1,
            )
        )
    return blocks


def owner_of(
    subscribers: IPv4Network,
    public: IPv4Network,
    address: IPv4Address,
    port: int,
    first_port: int = 1024,
) -> IPv4Address | None:
    """The subscriber address that used ``address:port`` (None: not a block of this village).

    >>> owner_of(IPv4Network("100.64.0.0/22"), IPv4Network("198.18.0.0/29"),
    ...          IPv4Address("198.18.0.1"), 1528)
    IPv4Address('100.64.0.129')
    """
    per_address, size = layout(subscribers, public, first_port)
    if address not in public or not first_port <= port < first_port + per_address * size:
        return None
    index = (int(address) - int(public.network_address)) * per_address
    index += (port - first_port) // size
    return subscribers.network_address + index if index < subscribers.num_addresses else None
