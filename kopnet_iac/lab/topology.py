"""From the inventory to the lab: device specs, loopback addresses, lab credentials.

Every emulated device gets its own loopback address ``127.77.<village#>.<device#>`` so all of
them can listen on the same well-known ports without root. Allocations are recorded in
``<lab dir>/addresses.json`` and never renumbered, so a lab keeps its addresses across
``down`` + ``up`` and when villages are added.

Lab credentials are fixed lab-only values: password ``lab-<hostname>``, user ``admin`` on RouterOS
(the emulated router's built-in user) and ``kopnet`` on airOS; in factory-default mode the
catalogue's factory credentials are used instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kopnet_iac.errors import LabError
from kopnet_iac.lab.spec import DeviceSpec, LinkSpec

LAB_USER = "kopnet"
LAB_USERS = {"routeros": "admin", "airos": LAB_USER}
API_PORT = 8728
SSH_PORT = 8022
HTTP_PORT = 8080
HTTPS_PORT = 8443
ADDRESS_PREFIX = "127.77"
ENV_PREFIX = "KOPNET_LAB_PREFIX"  # another /16 inside 127/8 for a second lab (tests, CI)


def lab_password(hostname: str) -> str:
    return f"lab-{hostname}"


class AddressBook:
    """Stable loopback allocations, persisted as JSON in the lab directory.

    The /16 (``127.77`` unless ``$KOPNET_LAB_PREFIX`` says otherwise) is chosen when the lab
    directory is created and kept with the allocations, so two labs can run side by side.
    """

    def __init__(self, path: Path, prefix: str | None = None) -> None:
        self.path = path
        self.prefix = prefix or os.environ.get(ENV_PREFIX) or ADDRESS_PREFIX
        self.villages: dict[str, int] = {}
        self.devices: dict[str, str] = {}
        if path.exists():
            try:
                data = json.loads(path.read_text())
                self.prefix = str(data.get("prefix", self.prefix))
                self.villages = {str(k): int(v) for k, v in data.get("villages", {}).items()}
                self.devices = {str(k): str(v) for k, v in data.get("devices", {}).items()}
            except (ValueError, AttributeError, TypeError) as exc:
                raise LabError(f"{path}: unreadable address allocations: {exc}") from exc
        first, _, second = self.prefix.partition(".")
        if first != "127" or not second.isdigit() or int(second) > 255:
            raise LabError(f"lab address prefix {self.prefix!r} must look like 127.N")

    def address(self, village: str, hostname: str) -> str:
        if hostname in self.devices:
            return self.devices[hostname]
        if village not in self.villages:
            used = set(self.villages.values())
            number = next(n for n in range(1, 256) if n not in used)
            self.villages[village] = number
        village_no = self.villages[village]
        prefix = f"{self.prefix}.{village_no}."
        taken = {a for a in self.devices.values() if a.startswith(prefix)}
        for host_no in range(2, 255):
            candidate = f"{prefix}{host_no}"
            if candidate not in taken:
                self.devices[hostname] = candidate
                return candidate
        raise LabError(f"no free lab address left in village {village}")

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        data = {"prefix": self.prefix, "villages": self.villages, "devices": self.devices}
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        os.replace(tmp, self.path)


def _factory_credentials(hardware: Any, platform: str, serial: str) -> tuple[str, str]:
    factory = getattr(hardware, "factory", None)
    if factory is None:
        return ("ubnt", "ubnt") if platform == "airos" else ("admin", "")
    if factory.password == "ubnt":
        return factory.username, "ubnt"
    if factory.password == "label":  # printed on the label: a fake, serial-derived lab value
        return factory.username, f"label-{serial.lower()}"
    return factory.username, ""


def village_specs(
    inventory: Any,
    village_id: str,
    addresses: AddressBook,
    *,
    factory_default: bool = False,
) -> list[DeviceSpec]:
    """Specs of the emulated devices (RouterOS and airOS; not the Linux gateway) of a village."""
    try:
        village = inventory.villages[village_id]
    except KeyError:
        known = ", ".join(sorted(inventory.villages)) or "none"
        raise LabError(f"unknown village {village_id!r} (known: {known})") from None
    links: dict[str, list[LinkSpec]] = {}
    for link in village.links:
        a_host, _, a_port = link.a.partition(":")
        b_host, _, b_port = link.b.partition(":")
        radio = link.radio
        common: dict[str, Any] = {"kind": "ethernet"}
        if radio is not None:
            common = {
                "kind": "wireless",
                "signal_dbm": radio.expected_signal_dbm,
                "frequency_mhz": radio.frequency,
                "channel_width_mhz": radio.channel_width,
                "ap_hostname": radio.ap,
                "ssid": radio.ssid,
            }
        links.setdefault(a_host, []).append(
            LinkSpec(local_port=a_port, peer_hostname=b_host, peer_port=b_port, **common)
        )
        links.setdefault(b_host, []).append(
            LinkSpec(local_port=b_port, peer_hostname=a_host, peer_port=a_port, **common)
        )
    sector_ssid = {
        sector.radio: sector.ssid for hamlet in village.hamlets for sector in hamlet.sectors
    }
    specs = []
    for device in village.devices:
        hardware = inventory.hardware.models.get(device.model)
        if hardware is None:
            raise LabError(f"{device.hostname}: model {device.model!r} not in the catalogue")
        platform = hardware.platform
        if platform not in ("routeros", "airos"):
            continue
        if factory_default:
            username, password = _factory_credentials(hardware, platform, device.serial)
        else:
            username, password = LAB_USERS[platform], lab_password(device.hostname)
        device_links = tuple(links.get(device.hostname, ()))
        ssid = sector_ssid.get(device.hostname, "")
        if not ssid:
            ssid = next((link.ssid for link in device_links if link.ssid), "")
        specs.append(
            DeviceSpec(
                village=village_id,
                hostname=device.hostname,
                platform=platform,
                model=device.model,
                host=addresses.address(village_id, device.hostname),
                api_port=API_PORT if platform == "routeros" else None,
                ssh_port=SSH_PORT,
                http_port=HTTP_PORT if platform == "airos" else None,
                https_port=HTTPS_PORT if platform == "airos" else None,
                username=username,
                password=password,
                serial=device.serial,
                factory_default=factory_default,
                links=device_links,
                ports=tuple(hardware.ports),
                wireless=hardware.wireless != "none",
                role=device.role,
                ssid=ssid,
            )
        )
    return specs


def synthetic_specs(
    count: int, addresses: AddressBook, *, airos_every: int = 3
) -> list[DeviceSpec]:
    """``count`` unconnected devices for load tests: every ``airos_every``-th one is airOS."""
    specs = []
    for index in range(count):
        village = f"synthetic-{index // 200 + 1}"
        hostname = f"syn-{index + 1:04d}"
        airos = index % airos_every == airos_every - 1
        specs.append(
            DeviceSpec(
                village=village,
                hostname=hostname,
                platform="airos" if airos else "routeros",
                model="LiteBeam-5AC-Gen2" if airos else "RB5009UG+S+IN",
                host=addresses.address(village, hostname),
                api_port=None if airos else API_PORT,
                ssh_port=SSH_PORT,
                http_port=HTTP_PORT if airos else None,
                https_port=HTTPS_PORT if airos else None,
                username=LAB_USERS["airos" if airos else "routeros"],
                password=lab_password(hostname),
                ports=("eth0", "ath0") if airos else tuple(f"ether{n}" for n in range(1, 6)),
                wireless=airos,
                role="sector-radio" if airos else "core-router",
            )
        )
    return specs
