"""Menus whose content is computed (live state), and live columns added to stored items."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from kopnet_iac.lab.routeros import schema
from kopnet_iac.lab.routeros.store import Entry, format_id

if TYPE_CHECKING:
    from kopnet_iac.lab.routeros.core import Router

Row = dict[str, str]

BOARDS = {"ccr": "tile", "rb4011": "arm", "hap": "arm", "lhg": "mipsbe", "sxt": "mipsbe"}


def uptime_text(seconds: float) -> str:
    """``1w2d3h4m5s`` as RouterOS prints durations.

    >>> uptime_text(3725)
    '1h2m5s'
    """
    left = int(seconds)
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    parts.append(f"{left}s")
    return "".join(parts)


def interface_entries(router: Router) -> list[tuple[str, Entry]]:
    out: list[tuple[str, Entry]] = []
    for path, menu in router.store.menus.items():
        if path in schema.INTERFACE_TYPES:
            out.extend((path, entry) for entry in menu.entries)
    return out


def interface_id(path: str, entry: Entry) -> str:
    """Stable ``/interface`` id of an item living in a typed interface menu."""
    return format_id(list(schema.INTERFACE_TYPES).index(path) * 0x100000 + entry.id)


def interface_names(router: Router) -> set[str]:
    return {entry.get("name") for _, entry in interface_entries(router)}


def is_running(router: Router, path: str, entry: Entry) -> bool:
    if entry.get("disabled") in ("yes", "true"):
        return False
    hardware = entry.get("default-name")
    if path in ("interface ethernet", "interface wireless", "interface wifi", "interface lte"):
        if hardware in router.faults.links_down or entry.get("name") in router.faults.links_down:
            return False
        state = router.network.link_state(router.spec.hostname, hardware or entry.get("name"))
        return bool(state and state.running)
    if path == "interface vlan":
        parent = entry.get("interface")
        for ppath, pentry in interface_entries(router):
            if pentry.get("name") == parent:
                return is_running(router, ppath, pentry)
        return False
    return True


def live_columns(
    router: Router, path: str, entry: Entry, row: Row, names: set[str] | None = None
) -> None:
    """Add run-time properties to a stored item's print row (``names``: interface names)."""
    if path in schema.INTERFACE_TYPES:
        row["running"] = "true" if is_running(router, path, entry) else "false"
        row.setdefault("mtu", "1500")
        row.setdefault("actual-mtu", row.get("mtu", "1500"))
        if path == "interface vlan" or path == "interface bridge":
            row.setdefault("mac-address", row.get("admin-mac", "") or _mac_of_parent(router, entry))
    elif path == "ip address":
        try:
            iface = ipaddress.ip_interface(entry.get("address"))
            row.setdefault("network", str(iface.network.network_address))
        except ValueError:
            pass
        row["actual-interface"] = entry.get("interface")
        row.setdefault("dynamic", "false")
        known = names if names is not None else interface_names(router)
        row["invalid"] = "false" if entry.get("interface") in known else "true"
    elif path == "system scheduler":
        row.update(router.scheduler_status(entry))
    elif path == "user":
        row.pop("password", None)


def _mac_of_parent(router: Router, entry: Entry) -> str:
    parent = entry.get("interface")
    for _, other in interface_entries(router):
        if other.get("name") == parent:
            return other.get("mac-address")
    return ""


def interface_rows(router: Router) -> list[Row]:
    rows = []
    for path, entry in interface_entries(router):
        row = {".id": interface_id(path, entry)}
        view = entry.view()
        row.update(
            {
                "name": view.get("name", ""),
                "default-name": view.get("default-name", ""),
                "type": schema.INTERFACE_TYPES[path],
                "mtu": view.get("mtu", "1500"),
                "actual-mtu": view.get("mtu", "1500"),
                "mac-address": view.get("mac-address", "")
                or view.get("admin-mac", "")
                or _mac_of_parent(router, entry),
                "running": "true" if is_running(router, path, entry) else "false",
                "disabled": "true" if view.get("disabled") in ("yes", "true") else "false",
                "rx-byte": "0",
                "tx-byte": "0",
                "rx-packet": "0",
                "tx-packet": "0",
                "rx-drop": "0",
                "tx-drop": "0",
                "tx-queue-drop": "0",
                "rx-error": "0",
                "tx-error": "0",
                "fp-rx-byte": "0",
                "fp-tx-byte": "0",
                "link-downs": "0",
            }
        )
        if "comment" in view:
            row["comment"] = view["comment"]
        if not row["default-name"]:
            del row["default-name"]
        rows.append(row)
    return rows


def connected_routes(router: Router) -> list[Row]:
    """Dynamic connected routes derived from the enabled addresses."""
    rows: list[Row] = []
    names = interface_names(router)
    running = {e.get("name"): is_running(router, p, e) for p, e in interface_entries(router)}
    for index, entry in enumerate(router.store.entries("ip address")):
        if entry.get("disabled") in ("yes", "true") or entry.get("interface") not in names:
            continue
        try:
            network = ipaddress.ip_interface(entry.get("address")).network
        except ValueError:
            continue
        active = running.get(entry.get("interface"), False)
        rows.append(
            {
                ".id": format_id(0x80000000 + index),
                "dst-address": str(network),
                "gateway": entry.get("interface"),
                "distance": "0",
                "scope": "10",
                "routing-table": "main",
                "dynamic": "true",
                "connect": "true",
                "active": "true" if active else "false",
                "disabled": "false",
                "immediate-gw": entry.get("interface"),
            }
        )
    return rows


def neighbor_rows(router: Router) -> list[Row]:
    rows = []
    for index, (path, entry) in enumerate(interface_entries(router)):
        hardware = entry.get("default-name")
        if not hardware or not is_running(router, path, entry):
            continue
        state = router.network.link_state(router.spec.hostname, hardware)
        if state is None or not state.peer_hostname:
            continue
        rows.append(
            {
                ".id": format_id(index + 1),
                "interface": entry.get("name"),
                "identity": state.peer_hostname,
                "interface-name": state.peer_port or "",
                "platform": "MikroTik",
                "mac-address": "",
                "address": "",
                "system-description": "",
                "system-caps": "",
                "system-caps-enabled": "",
            }
        )
    return rows


def registration_rows(router: Router) -> list[Row]:
    rows = []
    for index, entry in enumerate(router.store.entries("interface wireless")):
        if not is_running(router, "interface wireless", entry):
            continue
        state = router.network.link_state(router.spec.hostname, entry.get("default-name"))
        if state is None:
            continue
        signal = state.signal_dbm if state.signal_dbm is not None else -60
        rows.append(
            {
                ".id": format_id(index + 1),
                "interface": entry.get("name"),
                "radio-name": state.peer_hostname or "",
                "mac-address": "",
                "signal-strength": f"{signal}dBm@6Mbps",
                "signal-to-noise": str(signal + 100),
                # CCQ falls with the signal margin above the -80 dBm sensitivity floor
                "tx-ccq": str(max(0, min(100, 2 * (signal + 100)))),
                "rx-ccq": str(max(0, min(100, 2 * (signal + 100) - 2))),
                "tx-rate": "130Mbps",
                "rx-rate": "130Mbps",
                "uptime": "1h",
                "ap": "false",
                "wds": "false",
            }
        )
    return rows


def system_rows(router: Router, path: str) -> list[Row] | None:
    spec = router.spec
    model = spec.model or "RB5009UG+S+"
    uptime = uptime_text(time.monotonic() - router.boot_time)
    if path == "system resource":
        return [
            {
                "uptime": uptime,
                "version": f"{spec.version} (stable)",
                "build-time": "2024-06-05 09:07:08",
                "factory-software": "7.1",
                "free-memory": "200278016",
                "total-memory": "268435456",
                "cpu": "ARM",
                "cpu-count": "4",
                "cpu-frequency": "1400",
                "cpu-load": "2",
                "free-hdd-space": "0" if router.faults.disk_full else "90000000",
                "total-hdd-space": "134217728",
                "architecture-name": "arm64",
                "board-name": model,
                "platform": "MikroTik",
            }
        ]
    if path == "system resource cpu":
        return [{".id": "*0", "cpu": "cpu0", "load": "2", "irq": "0", "disk": "0"}]
    if path == "system routerboard":
        return [
            {
                "routerboard": "true",
                "model": model,
                "serial-number": spec.serial or "HF0000LAB01",
                "firmware-type": "arm",
                "factory-firmware": "7.1",
                "current-firmware": spec.version,
                "upgrade-firmware": spec.version,
            }
        ]
    if path == "system package":
        return [
            {
                ".id": "*1",
                "name": "routeros",
                "version": spec.version,
                "build-time": "2024-06-05 09:07:08",
                "scheduled": "",
                "disabled": "false",
            }
        ]
    if path == "system package update":
        return [{"channel": "stable", "installed-version": spec.version}]
    if path == "system license":
        return [{"software-id": router.software_id(), "level": "4", "features": ""}]
    if path == "system device-mode":
        return [
            {
                "mode": "enterprise",
                "scheduler": "no" if router.faults.scheduler_disabled else "yes",
                "socks": "yes",
                "fetch": "yes",
                "pptp": "yes",
                "l2tp": "yes",
                "bandwidth-test": "yes",
                "traffic-gen": "no",
                "sniffer": "yes",
                "romon": "yes",
                "proxy": "yes",
                "hotspot": "yes",
                "smb": "yes",
                "email": "yes",
                "zerotier": "yes",
                "container": "no",
            }
        ]
    if path == "system health":
        return [
            {".id": "*1", "name": "voltage", "value": "24.1", "type": "V"},
            {".id": "*2", "name": "temperature", "value": "38", "type": "C"},
            {".id": "*3", "name": "cpu-temperature", "value": "45", "type": "C"},
            {".id": "*4", "name": "fan1-speed", "value": "4200", "type": "RPM"},
            {".id": "*5", "name": "psu1-state", "value": "ok", "type": ""},
        ]
    if path == "system clock":
        now = time.gmtime()
        row = dict(schema.SINGLETON_DEFAULTS["system clock"])
        menu = router.store.menus.get(path)
        if menu is not None:
            row.update(menu.props)
        row.update({"time": time.strftime("%H:%M:%S", now), "date": time.strftime("%Y-%m-%d", now)})
        return [row]
    return None


COMPUTED: dict[str, Callable[[Router], list[Row]]] = {
    "interface": interface_rows,
    "ip neighbor": neighbor_rows,
    "interface wireless registration-table": registration_rows,
}
SYSTEM_VIEWS = frozenset(
    {
        "system resource",
        "system resource cpu",
        "system routerboard",
        "system package",
        "system package update",
        "system license",
        "system device-mode",
        "system health",
        "system clock",
    }
)
