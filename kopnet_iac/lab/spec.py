"""What the lab needs to know to run one emulated device, and what devices may ask the lab.

``DeviceSpec`` is built by the lab orchestration from the inventory (or a test) and handed to a
device emulator. ``LabNetwork`` is how an emulated device asks about the rest of the lab
(link state, whether an address answers a ping) without knowing the other devices.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

Platform = Literal["routeros", "airos"]


@dataclass(frozen=True)
class LinkSpec:
    """One cable or radio link as seen from the local device."""

    local_port: str
    peer_hostname: str
    peer_port: str
    kind: Literal["ethernet", "wireless"] = "ethernet"
    # radio links: expected signal (dBm) and rates from the link's parameters
    signal_dbm: int | None = None
    tx_rate_mbps: int | None = None
    rx_rate_mbps: int | None = None
    frequency_mhz: int | None = None
    # added later, optional: radio link facts from the inventory
    ap_hostname: str = ""  # which end is the access point
    ssid: str = ""
    channel_width_mhz: int | None = None


@dataclass(frozen=True)
class DeviceSpec:
    """One emulated device: where it listens, what hardware it is, how it starts."""

    village: str
    hostname: str
    platform: Platform
    model: str
    host: str  # loopback address of its own, e.g. 127.77.1.2
    api_port: int | None = 8728  # RouterOS API (None for airOS)
    ssh_port: int = 8022
    http_port: int | None = None  # airOS HTTP(S) API
    username: str = "admin"
    password: str = field(default="", repr=False)
    serial: str = ""
    factory_default: bool = False
    boot_seconds: float = 2.0
    links: tuple[LinkSpec, ...] = field(default_factory=tuple)
    # hardware facts from the catalogue (ports, wireless capability, RouterOS version, ...)
    ports: tuple[str, ...] = field(default_factory=tuple)
    wireless: bool = False
    version: str = "7.15.3"
    # added later, all optional: inventory role, airOS HTTPS port, radio SSID
    role: str = ""  # gateway | core-router | backhaul-radio | sector-radio
    https_port: int | None = None
    ssid: str = ""


@dataclass(frozen=True)
class LinkState:
    """Operational state of a local port as the lab topology sees it."""

    running: bool
    peer_hostname: str | None = None
    peer_port: str | None = None
    signal_dbm: int | None = None


class LabNetwork(Protocol):
    """Questions an emulated device asks the lab it runs in."""

    def link_state(self, hostname: str, port: str) -> LinkState | None:
        """State of ``port`` on ``hostname``, None when the port has no link in the topology."""

    def ping(self, source_hostname: str, address: str) -> bool:
        """Whether ``address`` answers when pinged from ``source_hostname``."""


def spec_to_dict(spec: DeviceSpec) -> dict[str, Any]:
    """JSON-ready form of a spec (how the CLI hands specs to the lab daemon)."""
    return asdict(spec)


def spec_from_dict(data: dict[str, Any]) -> DeviceSpec:
    """Inverse of :func:`spec_to_dict`; unknown keys are ignored."""
    known = set(DeviceSpec.__dataclass_fields__)
    values = {key: value for key, value in data.items() if key in known}
    link_fields = set(LinkSpec.__dataclass_fields__)
    values["links"] = tuple(
        LinkSpec(**{k: v for k, v in link.items() if k in link_fields})
        for link in data.get("links", ())
    )
    values["ports"] = tuple(data.get("ports", ()))
    return DeviceSpec(**values)
