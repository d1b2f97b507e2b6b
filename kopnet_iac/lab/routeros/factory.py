"""Fresh-device configuration: hardware ports, built-in items, optional MikroTik defconf."""

from __future__ import annotations

import hashlib

from kopnet_iac.lab.routeros import schema
from kopnet_iac.lab.routeros.store import ConfigStore
from kopnet_iac.lab.spec import DeviceSpec

DEFAULT_PORTS = ("ether1", "ether2", "ether3", "ether4", "ether5")


def device_ports(spec: DeviceSpec) -> tuple[str, ...]:
    """Hardware ports of the model: the spec's list, plus ``wlan1`` on wireless models."""
    ports = tuple(spec.ports) or DEFAULT_PORTS
    if spec.wireless and not any(p.startswith(("wlan", "wifi")) for p in ports):
        ports = (*ports, "wlan1")
    return ports


def mac_address(hostname: str, index: int) -> str:
    """A stable, locally administered MAC per device and port."""
    digest = hashlib.blake2b(hostname.encode(), digest_size=4).digest()
    octets = (0x4A, *digest, index & 0xFF)
    return ":".join(f"{octet:02X}" for octet in octets)


def port_base(spec: DeviceSpec, port: str, index: int) -> dict[str, str]:
    base = {"name": port, "default-name": port, "mac-address": mac_address(spec.hostname, index)}
    menu = schema.port_menu(port)
    if menu == "interface wireless":
        base.update(
            {
                "mode": "ap-bridge",
                "ssid": "MikroTik",
                "band": "5ghz-a/n/ac",
                "frequency": "auto",
                "country": "etsi",
                "disabled": "true",
                "mtu": "1500",
                "l2mtu": "1600",
            }
        )
    else:
        base.update({"mtu": "1500", "l2mtu": "1598", "arp": "enabled", "disabled": "false"})
    return base


def fresh_store(
    spec: DeviceSpec, *, defaults: bool | None = None, keep_users: ConfigStore | None = None
) -> ConfigStore:
    """Configuration of a device right after a reset.

    ``defaults`` (default: ``spec.factory_default``) lays down the MikroTik defconf (LAN
    bridge with 192.168.88.1/24, DHCP server, default firewall).
    """
    store = ConfigStore()
    for index, port in enumerate(device_ports(spec)):
        store.add(
            schema.port_menu(port),
            {},
            builtin=f"[ find default-name={port} ]",
            base=port_base(spec, port, index),
        )
    if spec.wireless:
        store.add(
            "interface wireless security-profiles",
            {},
            builtin="[ find default=yes ]",
            base={"name": "default", "mode": "none", "authentication-types": ""},
        )
    for path, items in schema.BUILTIN_ITEMS.items():
        for selector, base in items:
            store.add(path, {}, builtin=selector, base=base)
    users = keep_users.entries("user") if keep_users is not None else []
    if users:
        menu = store.menu("user")
        assert menu is not None
        menu.entries = list(users)
        menu.next_id = max(e.id for e in users) + 1
    else:
        store.add(
            "user",
            {},
            builtin="admin",
            base={"name": "admin", "group": "full", "password": spec.password, "address": ""},
        )
    if defaults if defaults is not None else spec.factory_default:
        _defconf(store, spec)
    store.dirty = True
    return store


def _defconf(store: ConfigStore, spec: DeviceSpec) -> None:
    ports = [p for p in device_ports(spec) if schema.port_menu(p) == "interface ethernet"]
    wan = ports[0] if ports else "ether1"
    store.add(
        "interface bridge",
        {
            "admin-mac": mac_address(spec.hostname, 200),
            "auto-mac": "no",
            "comment": "defconf",
            "name": "bridge",
        },
    )
    store.add("interface list", {"comment": "defconf", "name": "WAN"})
    store.add("interface list", {"comment": "defconf", "name": "LAN"})
    store.add("ip pool", {"name": "default-dhcp", "ranges": "192.168.88.10-192.168.88.254"})
    store.add(
        "ip dhcp-server", {"address-pool": "default-dhcp", "interface": "bridge", "name": "defconf"}
    )
    for port in [*ports[1:], *(p for p in device_ports(spec) if p.startswith("wlan"))]:
        store.add(
            "interface bridge port", {"bridge": "bridge", "comment": "defconf", "interface": port}
        )
    store.add("interface list member", {"comment": "defconf", "interface": "bridge", "list": "LAN"})
    store.add("interface list member", {"comment": "defconf", "interface": wan, "list": "WAN"})
    store.add(
        "ip address",
        {
            "address": "192.168.88.1/24",
            "comment": "defconf",
            "interface": "bridge",
            "network": "192.168.88.0",
        },
    )
    store.add("ip dhcp-client", {"comment": "defconf", "interface": wan})
    store.add(
        "ip dhcp-server network",
        {
            "address": "192.168.88.0/24",
            "comment": "defconf",
            "dns-server": "192.168.88.1",
            "gateway": "192.168.88.1",
        },
    )
    store.set_singleton("ip dns", {"allow-remote-requests": "yes"})
    store.add(
        "ip dns static", {"address": "192.168.88.1", "comment": "defconf", "name": "router.lan"}
    )
    rules = [
        {
            "action": "accept",
            "chain": "input",
            "comment": "defconf: accept established,related,untracked",
            "connection-state": "established,related,untracked",
        },
        {
            "action": "drop",
            "chain": "input",
            "comment": "defconf: drop invalid",
            "connection-state": "invalid",
        },
        {
            "action": "accept",
            "chain": "input",
            "comment": "defconf: accept ICMP",
            "protocol": "icmp",
        },
        {
            "action": "drop",
            "chain": "input",
            "comment": "defconf: drop all not coming from LAN",
            "in-interface-list": "!LAN",
        },
        {
            "action": "accept",
            "chain": "forward",
            "comment": "defconf: accept established,related, untracked",
            "connection-state": "established,related,untracked",
        },
        {
            "action": "drop",
            "chain": "forward",
            "comment": "defconf: drop invalid",
            "connection-state": "invalid",
        },
        {
            "action": "drop",
            "chain": "forward",
            "comment": "defconf: drop all from WAN not DSTNATed",
            "connection-nat-state": "!dstnat",
            "connection-state": "new",
            "in-interface-list": "WAN",
        },
    ]
    for rule in rules:
        store.add("ip firewall filter", rule)
    store.add(
        "ip firewall nat",
        {
            "action": "masquerade",
            "chain": "srcnat",
            "comment": "defconf: masquerade",
            "ipsec-policy": "out,none",
            "out-interface-list": "WAN",
        },
    )
    store.set_singleton("ip neighbor discovery-settings", {"discover-interface-list": "LAN"})
    store.set_singleton("tool mac-server", {"allowed-interface-list": "LAN"})
    store.set_singleton("tool mac-server mac-winbox", {"allowed-interface-list": "LAN"})
