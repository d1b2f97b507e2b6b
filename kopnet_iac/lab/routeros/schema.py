"""Per-menu facts the emulator needs, kept as data: singletons, built-in items, defaults.

Paths are written as space-separated menu words (``"ip address"``), the way exports show them.
"""

from __future__ import annotations

# Menus holding one set of properties (``set k=v`` without an item).
SINGLETON_PATHS: frozenset[str] = frozenset(
    {
        "system identity",
        "system clock",
        "system ntp client",
        "system ntp server",
        "snmp",
        "ip dns",
        "ip settings",
        "ip cloud",
        "system note",
        "ip neighbor discovery-settings",
        "interface bridge settings",
        "ipv6 settings",
        "interface detect-internet",
        "tool romon",
        "tool mac-server",
        "tool mac-server mac-winbox",
        "tool mac-server ping",
        "tool bandwidth-server",
        "ip proxy",
        "ip socks",
        "ip upnp",
        "ip ssh",
        "ip smb",
        "system routerboard settings",
        "system leds settings",
        "ip firewall connection tracking",
        "ppp aaa",
        "radius incoming",
        "user aaa",
        "system watchdog",
        "system upgrade mirror",
        "interface wireless cap",
        "caps-man manager",
        "ip traffic-flow",
        "ip dhcp-server config",
        "interface pptp-server server",
        "interface l2tp-server server",
        "interface sstp-server server",
        "tool e-mail",
        "tool sniffer",
        "tool graphing",
        "system resource",
        "system routerboard",
        "system license",
        "system package update",
        "system device-mode",
        "system logging settings",
        "ip hotspot service-port settings",
        "ipv6 nd prefix default",
        "tool traffic-generator",
        "system console screen",
        "interface wifi cap",
        "interface lte settings",
        "system ups settings",
        "ip media settings",
        "certificate settings",
        "interface wireless sniffer",
        "interface wireless snooper",
        "ip dhcp-client options",
        "system hardware",
        "system gps",
        "tool netwatch settings",
        "system routerboard mode-button",
        "system routerboard reset-button",
        "system routerboard wps-button",
    }
)

# Default values shown by ``print`` on singletons (exports only show what was set).
SINGLETON_DEFAULTS: dict[str, dict[str, str]] = {
    "system identity": {"name": "MikroTik"},
    "system clock": {
        "time-zone-name": "manual",
        "time-zone-autodetect": "true",
        "gmt-offset": "+00:00",
    },
    "system ntp client": {"enabled": "false", "mode": "unicast", "servers": ""},
    "system ntp server": {"enabled": "false", "broadcast": "false", "multicast": "false"},
    "snmp": {
        "enabled": "false",
        "contact": "",
        "location": "",
        "engine-id-suffix": "",
        "trap-community": "public",
        "trap-version": "1",
        "trap-generators": "temp-exception",
    },
    "ip dns": {"servers": "", "allow-remote-requests": "false", "cache-size": "2048KiB"},
    "ip settings": {"ip-forward": "true", "rp-filter": "no", "tcp-syncookies": "false"},
    "ip cloud": {"ddns-enabled": "false", "update-time": "true"},
    "user aaa": {"use-radius": "false", "default-group": "read"},
    "ppp aaa": {"use-radius": "false", "accounting": "true", "interim-update": "0s"},
    "ip ssh": {
        "strong-crypto": "false",
        "forwarding-enabled": "no",
        "always-allow-password-login": "false",
    },
    "ip neighbor discovery-settings": {
        "discover-interface-list": "all",
        "protocol": "cdp,lldp,mndp",
    },
    "tool mac-server": {"allowed-interface-list": "all"},
    "tool mac-server mac-winbox": {"allowed-interface-list": "all"},
    "tool bandwidth-server": {"enabled": "true", "authenticate": "true"},
    "interface bridge settings": {"use-ip-firewall": "false", "allow-fast-path": "true"},
}

# Default values shown by ``print`` on list items (exports only show what was set).
LIST_DEFAULTS: dict[str, dict[str, str]] = {
    "snmp community": {
        "addresses": "::/0",
        "read-access": "true",
        "write-access": "false",
        "security": "none",
    },
    "user": {"address": "", "group": "read"},
    "interface vlan": {"mtu": "1500", "arp": "enabled", "use-service-tag": "false"},
    "interface bridge": {"mtu": "auto", "protocol-mode": "rstp", "vlan-filtering": "false"},
    "ip route": {
        "distance": "1",
        "routing-table": "main",
        "scope": "30",
        "target-scope": "10",
        "dynamic": "false",
        "static": "true",
        "active": "true",
    },
    "system scheduler": {"interval": "0s", "on-event": ""},
    "system script": {
        "source": "",
        "policy": "ftp,reboot,read,write,policy,test,password,sniff,sensitive,romon",
    },
}

# Built-in items a fresh RouterOS 7 device has in list menus (besides hardware ports).
# Each item: the selector an export uses for it, and its properties.
BUILTIN_ITEMS: dict[str, list[tuple[str, dict[str, str]]]] = {
    "ip service": [
        (name, {"name": name, "port": port, "address": "", "disabled": dis})
        for name, port, dis in (
            ("telnet", "23", "false"),
            ("ftp", "21", "false"),
            ("www", "80", "false"),
            ("ssh", "22", "false"),
            ("www-ssl", "443", "true"),
            ("api", "8728", "false"),
            ("winbox", "8291", "false"),
            ("api-ssl", "8729", "false"),
        )
    ],
    "user group": [
        (
            "read",
            {
                "name": "read",
                "policy": "local,telnet,ssh,reboot,read,test,winbox,password,web,sniff,sensitive,api,romon,rest-api,!ftp,!write,!policy",
            },
        ),
        (
            "write",
            {
                "name": "write",
                "policy": "local,telnet,ssh,reboot,read,write,test,winbox,password,web,sniff,sensitive,api,romon,rest-api,!ftp,!policy",
            },
        ),
        (
            "full",
            {
                "name": "full",
                "policy": "local,telnet,ssh,ftp,reboot,read,write,policy,test,winbox,password,web,sniff,sensitive,api,romon,rest-api",
            },
        ),
    ],
    "ppp profile": [
        ("*0", {"name": "default", "use-encryption": "default", "only-one": "default"}),
        (
            "*FFFFFFFE",
            {"name": "default-encryption", "use-encryption": "yes", "only-one": "default"},
        ),
    ],
    "snmp community": [
        (
            "[ find default=yes ]",
            {"name": "public", "addresses": "::/0", "read-access": "true", "write-access": "false"},
        ),
    ],
    "ip firewall service-port": [
        (name, {"name": name, "disabled": "false"})
        for name in ("ftp", "tftp", "irc", "h323", "sip", "pptp", "rtsp", "udplite", "dccp", "sctp")
    ],
    "system logging action": [
        (str(i), {"name": name, "target": target})
        for i, (name, target) in enumerate(
            (("memory", "memory"), ("disk", "disk"), ("echo", "echo"), ("remote", "remote"))
        )
    ],
    "routing table": [("main", {"name": "main", "fib": "", "comment": ""})],
    "ip hotspot profile": [
        (
            "[ find default=yes ]",
            {
                "name": "default",
                "login-by": "cookie,http-chap",
                "use-radius": "no",
                "html-directory": "hotspot",
            },
        )
    ],
    "ip hotspot user profile": [
        (
            "[ find default=yes ]",
            {"name": "default", "shared-users": "1", "keepalive-timeout": "2m"},
        )
    ],
}

# Menus whose items are interfaces (they appear in ``/interface print``), with their type.
INTERFACE_TYPES: dict[str, str] = {
    "interface ethernet": "ether",
    "interface bridge": "bridge",
    "interface vlan": "vlan",
    "interface wireless": "wlan",
    "interface bonding": "bond",
    "interface eoip": "eoip",
    "interface gre": "gre-tunnel",
    "interface ipip": "ipip-tunnel",
    "interface pppoe-client": "pppoe-out",
    "interface l2tp-client": "l2tp-out",
    "interface sstp-client": "sstp-out",
    "interface ovpn-client": "ovpn-out",
    "interface pptp-client": "pptp-out",
    "interface vrrp": "vrrp",
    "interface veth": "veth",
    "interface wireguard": "wg",
    "interface lte": "lte",
    "interface wifi": "wifi",
    "interface vpls": "vpls",
    "interface 6to4": "6to4-tunnel",
    "interface macvlan": "macvlan",
    "interface eoipv6": "eoipv6-tunnel",
    "interface gre6": "gre6-tunnel",
}

# Hardware port name prefix → the menu where the port lives.
PORT_MENUS: tuple[tuple[str, str], ...] = (
    ("wlan", "interface wireless"),
    ("wifi", "interface wifi"),
    ("lte", "interface lte"),
    ("", "interface ethernet"),
)

# Properties whose values RouterOS 7 hides in exports unless ``show-sensitive``.
SENSITIVE_KEYS: frozenset[str] = frozenset(
    {
        "password",
        "secret",
        "passphrase",
        "wpa-pre-shared-key",
        "wpa2-pre-shared-key",
        "authentication-key",
        "private-key",
        "preshared-key",
        "auth-key",
        "key",
        "authentication-password",
        "encryption-password",
        "ipsec-secret",
        "psk",
        "static-key-0",
        "static-key-1",
        "static-key-2",
        "static-key-3",
    }
)

# Menus with known properties; anything else there is "unknown parameter".
KNOWN_PROPERTIES: dict[str, frozenset[str]] = {
    "ip address": frozenset(
        {"address", "network", "interface", "disabled", "comment", "broadcast", "netmask"}
    ),
    "system identity": frozenset({"name"}),
    "interface vlan": frozenset(
        {
            "name",
            "vlan-id",
            "interface",
            "disabled",
            "comment",
            "mtu",
            "arp",
            "arp-timeout",
            "loop-protect",
            "loop-protect-disable-time",
            "loop-protect-send-interval",
            "use-service-tag",
            "mvrp",
            "l2mtu",
            "mac-address",
        }
    ),
    "ip pool": frozenset({"name", "ranges", "next-pool", "comment"}),
    "user": frozenset(
        {
            "name",
            "group",
            "password",
            "address",
            "comment",
            "disabled",
            "inactivity-timeout",
            "inactivity-policy",
        }
    ),
    "ip route": frozenset(
        {
            "dst-address",
            "gateway",
            "distance",
            "routing-table",
            "comment",
            "disabled",
            "scope",
            "target-scope",
            "check-gateway",
            "pref-src",
            "vrf-interface",
            "blackhole",
            "suppress-hw-offload",
        }
    ),
}

# Properties holding yes/no (or true/false) values.
BOOLEAN_KEYS: frozenset[str] = frozenset(
    {
        "disabled",
        "enabled",
        "running",
        "read-access",
        "write-access",
        "allow-remote-requests",
        "auto-mac",
        "use-radius",
        "add-default-route",
        "use-peer-dns",
        "use-peer-ntp",
    }
)

# Properties that name an interface (checked against existing interfaces).
INTERFACE_REF_PATHS: dict[str, str] = {
    "ip address": "interface",
    "interface vlan": "interface",
    "interface bridge port": "interface",
    "ip dhcp-client": "interface",
}

# Order of menus in an export (a menu not listed goes after the last listed one seen so far).
EXPORT_ORDER: tuple[str, ...] = (
    "interface bridge",
    "interface ethernet",
    "interface wireless",
    "interface eoip",
    "interface vlan",
    "interface list",
    "interface wireless security-profiles",
    "ip hotspot profile",
    "ip hotspot user profile",
    "ip pool",
    "ip dhcp-server",
    "ip hotspot",
    "ppp profile",
    "queue type",
    "queue simple",
    "routing table",
    "snmp community",
    "system logging action",
    "user group",
    "interface bridge port",
    "interface bridge filter",
    "ip neighbor discovery-settings",
    "interface bridge vlan",
    "interface list member",
    "interface pppoe-server server",
    "ip address",
    "ip dhcp-client",
    "ip dhcp-server network",
    "ip dns",
    "ip firewall address-list",
    "ip firewall filter",
    "ip firewall nat",
    "ip firewall mangle",
    "ip firewall service-port",
    "ip route",
    "ip service",
    "ip ssh",
    "ppp aaa",
    "ppp secret",
    "radius",
    "radius incoming",
    "snmp",
    "system clock",
    "system identity",
    "system logging",
    "system note",
    "system ntp client",
    "system ntp client servers",
    "system scheduler",
    "system script",
    "tool bandwidth-server",
    "tool mac-server",
    "tool mac-server mac-winbox",
    "user",
)


def port_menu(port: str) -> str:
    """Menu where a hardware port named ``port`` lives."""
    for prefix, menu in PORT_MENUS:
        if port.startswith(prefix):
            return menu
    return "interface ethernet"  # pragma: no cover - the empty prefix always matches


def is_singleton(path: str) -> bool:
    return path in SINGLETON_PATHS
