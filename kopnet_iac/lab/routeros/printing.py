"""How RouterOS prints stored values in ``/export`` (data plus a few small rules).

A real router stores typed values and prints them its own way, whatever spelling was typed:

* property names in alphabetical order;
* booleans as ``yes``/``no``;
* durations in its compact form (``lease-time=60m`` prints ``1h``, ``00:05:00`` prints ``5m``);
* MAC addresses in upper case;
* ``/ip address``: a ``/32`` host address without the prefix length, and always the derived
  ``network=`` (``add address=10.0.0.1 interface=lo network=10.0.0.1``);
* properties equal to the menu's default are left out (``frame-types=admit-all`` on a bridge
  port, ``remote-port=514`` on a remote logging action).

The emulator keeps what was typed (API ``print`` shows it) and applies these rules when it
exports; matching in ``find`` uses :func:`same_value`.
"""

from __future__ import annotations

import ipaddress
import re

DURATION_KEYS: frozenset[str] = frozenset(
    {
        "lease-time",
        "interim-update",
        "radius-interim-update",
        "timeout",
        "interval",
        "idle-timeout",
        "session-timeout",
        "arp-timeout",
        "loop-protect-disable-time",
        "loop-protect-send-interval",
        "login-timeout",
        "ageing-time",
        "max-message-age",
        "forward-delay",
        "mac-cookie-timeout",
        "http-cookie-lifetime",
        "keepalive",
        "update-timeout",
    }
)

# Values RouterOS 7 leaves out of an export because they are the menu's default.
EXPORT_DEFAULTS: dict[str, dict[str, str]] = {
    "interface bridge": {"protocol-mode": "rstp", "vlan-filtering": "no"},
    "interface bridge port": {"frame-types": "admit-all", "pvid": "1"},
    "interface vlan": {"mtu": "1500", "arp": "enabled", "use-service-tag": "no"},
    "ip pool": {"next-pool": "none"},
    "ppp profile": {
        "only-one": "default",
        "change-tcp-mss": "default",
        "use-encryption": "default",
    },
    "interface pppoe-server server": {
        "max-mtu": "1480",
        "max-mru": "1480",
        "keepalive-timeout": "10",
        "one-session-per-host": "no",
        "default-profile": "default",
        "mrru": "disabled",
        "authentication": "pap,chap,mschap1,mschap2",
    },
    "queue type": {"pcq-rate": "0"},
    "ip hotspot profile": {"radius-accounting": "yes"},
    "ip hotspot user profile": {"shared-users": "1"},
    "system logging action": {
        "remote-port": "514",
        "bsd-syslog": "no",
        "syslog-facility": "daemon",
        "syslog-severity": "auto",
    },
    "ip route": {"scope": "30", "target-scope": "10", "suppress-hw-offload": "no"},
    "radius": {"accounting-port": "1813", "authentication-port": "1812", "timeout": "300ms"},
    "ppp aaa": {"accounting": "yes", "interim-update": "0s", "use-radius": "no"},
    "snmp community": {"read-access": "yes", "write-access": "no"},
    "ip service": {"disabled": "no", "address": ""},
    "ip dhcp-server": {"lease-time": "30m"},
    "system ntp client": {"enabled": "no"},
    "ip dns": {"allow-remote-requests": "no"},
    "system identity": {"name": "MikroTik"},
    "interface wireless": {"frequency-mode": "regulatory-domain", "channel-width": "20mhz"},
    "interface wireless security-profiles": {
        "group-ciphers": "aes-ccm",
        "unicast-ciphers": "aes-ccm",
    },
    "system clock": {"time-zone-autodetect": "yes"},
    "snmp": {"enabled": "no"},
    "ip cloud": {"ddns-enabled": "no"},
}

_BOOLS = {"true": "yes", "false": "no"}
_PLAIN = re.compile(r"\d+\Z")  # a plain number stays as typed (some menus take integers)
_MAC = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}\Z")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|w|d|h|m|s)")
_UNITS = (("w", 604800.0), ("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0))
_UNIT_OF = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def duration_seconds(text: str) -> float | None:
    """Seconds in a duration, None when ``text`` is not one (``auto``, ``none`` ...).

    >>> duration_seconds("1d10m"), duration_seconds("00:05:00"), duration_seconds("30")
    (87000.0, 300.0, 30.0)
    """
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    if re.fullmatch(r"(\d+d ?)?\d+:\d{1,2}(:\d{1,2}(\.\d+)?)?", text):
        days = 0.0
        if "d" in text:
            head, _, text = text.partition("d")
            days = float(head)
        total = 0.0
        for part in text.strip().split(":"):
            total = total * 60 + float(part)
        return days * 86400 + total
    if _DURATION.sub("", text) != "":
        return None
    return sum(float(n) * _UNIT_OF[u] for n, u in _DURATION.findall(text))


def format_duration(seconds: float) -> str:
    """RouterOS's compact duration (``1d10m``, ``5m``, ``300ms``, ``0s``).

    >>> format_duration(87000), format_duration(0.3), format_duration(0)
    ('1d10m', '300ms', '0s')
    """
    if seconds and seconds < 1:
        return f"{round(seconds * 1000)}ms"
    left = round(seconds)
    parts = []
    for unit, size in _UNITS:
        if left >= size:
            parts.append(f"{int(left // size)}{unit}")
            left -= int(left // size * size)
    return "".join(parts) or "0s"


#: free-text properties: ``false`` there is a word, not a boolean
TEXT_KEYS: frozenset[str] = frozenset(
    {"comment", "name", "contact", "location", "ssid", "radio-name", "source", "on-event"}
)


def print_value(key: str, value: str) -> str:
    """A stored value as an export prints it."""
    b = _BOOLS.get(value) if key not in TEXT_KEYS else None
    if b is not None:
        return b
    if key in DURATION_KEYS and not _PLAIN.match(value):
        seconds = duration_seconds(value)
        if seconds is not None and seconds >= 1 and seconds == int(seconds):
            return format_duration(seconds)
    if "mac" in key and _MAC.match(value):
        return value.upper()
    return value


def _host_address(value: str) -> tuple[str, str] | None:
    try:
        iface = ipaddress.ip_interface(value)
    except ValueError:
        return None
    host = iface.network.prefixlen == iface.network.max_prefixlen
    address = str(iface.ip) if host else f"{iface.ip}/{iface.network.prefixlen}"
    return address, str(iface.network.network_address)


def export_props(path: str, props: dict[str, str]) -> dict[str, str]:
    """Properties of one entry as RouterOS exports them (see the module docstring)."""
    out = {k: print_value(k, v) for k, v in props.items()}
    if path in ("ip address", "ipv6 address") and "address" in out:
        parsed = _host_address(out["address"])
        if parsed is not None:
            out["address"] = parsed[0]
            if path == "ip address":
                out.setdefault("network", parsed[1])
    if out.get("comment") == "":
        del out["comment"]  # an empty comment is no comment
    defaults = EXPORT_DEFAULTS.get(path, {})
    for key, default in defaults.items():
        if key in out and out[key] == print_value(key, default):
            del out[key]
    return dict(sorted(out.items()))


def same_value(key: str, have: str, want: str) -> bool:
    """Whether a stored value matches a ``find`` condition value as RouterOS compares them
    (typed: ``10.0.0.1`` is ``10.0.0.1/32``, ``1h`` is ``60m``, MAC case does not count)."""
    if have == want:
        return True
    a, b = print_value(key, have), print_value(key, want)
    if a == b:
        return True
    if key in ("address", "dst-address", "src-address"):
        pa, pb = _host_address(a), _host_address(b)
        return pa is not None and pb is not None and pa[0] == pb[0]
    return False
