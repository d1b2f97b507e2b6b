#!/usr/bin/python3
"""Bring the kernel's addresses, MTUs and static routes in line with KopNet's network files.

    netapply.py [--check] networkd|ifupdown FILE...

The files are the gateway's rendered interface configuration (systemd-networkd ``.network``
units or ifupdown ``interfaces.d`` stanzas, per the hardware catalogue). With ``--check`` they
are only parsed and checked (the role's validator). Otherwise, for every interface they name:
missing addresses are added and addresses the files no longer list are removed (IPv4, global
scope; on ``lo`` only /32s), the MTU is set, ``proto static`` routes are replaced and stale
ones removed. Nothing goes down: no interface is restarted, so a change over the management
path does not cut the session applying it. systemd-networkd, when it runs, is told to reload
so it agrees. Stdlib only: it runs on the gateway.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
import sys

KEYS_NETWORKD = {
    "Match": {"Name"},
    "Link": {"MTUBytes", "RequiredForOnline"},
    "Network": {"Address", "ConfigureWithoutCarrier", "KeepConfiguration", "LinkLocalAddressing",
                "IPv6AcceptRA", "Description"},
    "Route": {"Destination", "Gateway"},
}  # fmt: skip


class ConfigError(Exception):
    pass


def _interface():
    return {"addresses": [], "mtu": None, "routes": []}


def parse_networkd(text, origin="<text>"):
    """``.network`` text -> {ifname: {addresses, mtu, routes}}."""
    section, name, route, result = None, None, None, {}
    pending = _interface()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            if section not in KEYS_NETWORKD:
                raise ConfigError(f"{origin}:{number}: unknown section [{section}]")
            if section == "Route":
                route = {}
                pending["routes"].append(route)
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or section is None or key not in KEYS_NETWORKD[section]:
            raise ConfigError(f"{origin}:{number}: unexpected {line!r} in [{section}]")
        if key == "Name":
            if " " in value or not value:
                raise ConfigError(f"{origin}:{number}: one interface name per file")
            name = value
        elif key == "Address":
            pending["addresses"].append(_address(value, origin, number))
        elif key == "MTUBytes":
            pending["mtu"] = _mtu(value, origin, number)
        elif key == "Destination":
            route["dest"] = str(_network(value, origin, number))
        elif key == "Gateway":
            route["via"] = str(_ip(value, origin, number))
    if name is None:
        raise ConfigError(f"{origin}: no [Match] Name=")
    for r in pending["routes"]:
        if "dest" not in r or "via" not in r:
            raise ConfigError(f"{origin}: a [Route] needs Destination= and Gateway=")
    result[name] = pending
    return result


def parse_ifupdown(text, origin="<text>"):
    """interfaces(5) stanzas (``iface X inet static``, address, mtu, ``up ip route replace``)."""
    result, current = {}, None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if words[0] in ("auto", "allow-hotplug"):
            continue
        if words[0] == "iface":
            if len(words) != 4 or words[2] != "inet" or words[3] != "static":
                raise ConfigError(f"{origin}:{number}: expected 'iface NAME inet static'")
            current = result.setdefault(words[1], _interface())
            continue
        if current is None:
            raise ConfigError(f"{origin}:{number}: {words[0]!r} outside an iface stanza")
        if words[0] == "address" and len(words) == 2:
            current["addresses"].append(_address(words[1], origin, number))
        elif words[0] == "mtu" and len(words) == 2:
            current["mtu"] = _mtu(words[1], origin, number)
        elif words[:4] == ["up", "ip", "route", "replace"] and len(words) >= 7 and words[5] == "via":
            current["routes"].append(
                {"dest": str(_network(words[4], origin, number)), "via": str(_ip(words[6], origin, number))}
            )
        else:
            raise ConfigError(f"{origin}:{number}: unexpected {line!r}")
    if not result:
        raise ConfigError(f"{origin}: no iface stanza")
    return result


def _address(value, origin, number):
    try:
        iface = ipaddress.IPv4Interface(value)
    except ValueError as exc:
        raise ConfigError(f"{origin}:{number}: bad address {value!r}: {exc}") from None
    if "/" not in value:
        raise ConfigError(f"{origin}:{number}: address {value!r} needs a prefix length")
    return str(iface)


def _network(value, origin, number):
    try:
        return ipaddress.IPv4Network(value)
    except ValueError as exc:
        raise ConfigError(f"{origin}:{number}: bad destination {value!r}: {exc}") from None


def _ip(value, origin, number):
    try:
        return ipaddress.IPv4Address(value)
    except ValueError as exc:
        raise ConfigError(f"{origin}:{number}: bad gateway {value!r}: {exc}") from None


def _mtu(value, origin, number):
    if not value.isdigit() or not 576 <= int(value) <= 9216:
        raise ConfigError(f"{origin}:{number}: bad MTU {value!r}")
    return int(value)


def parse(backend, paths):
    parser = {"networkd": parse_networkd, "ifupdown": parse_ifupdown}.get(backend)
    if parser is None:
        raise ConfigError(f"unknown backend {backend!r} (networkd or ifupdown)")
    wanted = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for name, config in parser(handle.read(), path).items():
                if name in wanted:
                    raise ConfigError(f"{path}: interface {name} configured twice")
                wanted[name] = config
    return wanted


# --------------------------------------------------------------------------- kernel


def _ip_json(*args):
    out = subprocess.run(["ip", "-j", *args], capture_output=True, text=True, check=True).stdout
    return json.loads(out or "[]")


def _run(argv, actions):
    subprocess.run(argv, check=True, capture_output=True, text=True)
    actions.append(" ".join(argv))


def plan_interface(name, wanted, current_addrs, current_mtu, current_routes):
    """The ``ip`` commands that make one interface match (pure)."""
    commands = []
    have = set(current_addrs)
    want = set(wanted["addresses"])
    for addr in sorted(want - have):
        commands.append(["ip", "addr", "add", addr, "dev", name])
    for addr in sorted(have - want):
        if name == "lo" and not addr.endswith("/32"):
            continue
        commands.append(["ip", "addr", "del", addr, "dev", name])
    if wanted["mtu"] is not None and wanted["mtu"] != current_mtu:
        commands.append(["ip", "link", "set", name, "mtu", str(wanted["mtu"])])
    wanted_routes = {(r["dest"], r["via"]) for r in wanted["routes"]}
    for dest, via in sorted(wanted_routes - set(current_routes)):
        commands.append(["ip", "route", "replace", dest, "via", via, "dev", name, "proto", "static"])
    for dest, via in sorted(set(current_routes) - wanted_routes):
        commands.append(["ip", "route", "del", dest, "via", via, "dev", name, "proto", "static"])
    return commands


def apply(wanted):
    actions = []
    for name, config in wanted.items():
        links = _ip_json("link", "show", "dev", name)
        if not links:
            raise ConfigError(f"no interface {name} on this gateway")
        addrs = [
            f"{a['local']}/{a['prefixlen']}"
            for entry in _ip_json("-4", "addr", "show", "dev", name)
            for a in entry.get("addr_info", [])
            if a.get("scope") == "global" or (name == "lo" and a.get("prefixlen") == 32
                                             and not a["local"].startswith("127."))
        ]  # fmt: skip
        routes = [
            (r["dst"] if "/" in r["dst"] else r["dst"] + "/32", r.get("gateway", ""))
            for r in _ip_json("-4", "route", "show", "dev", name, "proto", "static")
            if r.get("gateway")
        ]
        if name != "lo" and "UP" not in links[0].get("flags", []):
            _run(["ip", "link", "set", name, "up"], actions)
        for argv in plan_interface(name, config, addrs, links[0].get("mtu"), routes):
            _run(argv, actions)
    return actions


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    if len(args) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        wanted = parse(args[0], args[1:])
        if check:
            print(f"ok: {', '.join(sorted(wanted))}")
            return 0
        if args[0] == "networkd" and shutil.which("systemctl") and subprocess.run(
            ["systemctl", "is-active", "--quiet", "systemd-networkd"], check=False,
            capture_output=True,
        ).returncode == 0:  # fmt: skip
            subprocess.run(["networkctl", "reload"], check=False, capture_output=True)
        for action in apply(wanted):
            print(action)
    except (ConfigError, OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        print(f"netapply: {exc} {detail}".strip(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
