"""Gateway checks of the subscriber policy the regulator asks for (pure, over collected output).

- ``nat-logging``: the CGNAT port-block map in force is exactly the village's table (every
  subscriber address, its public address and port range), and that very table was sent to the
  NOC syslog (the logger's record names the syslog host and the table's SHA-256).
- ``dns-policy``: the DNS cache forwards the root zone to the resolvers the fleet requires (the
  regulator's, else the NOC's) and, when enforced, subscribers' own DNS queries are redirected
  to the cache.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Any, Protocol

from kopnet_iac.platforms.linux.cgnat import port_blocks

if TYPE_CHECKING:
    from kopnet_iac.platforms.linux.checks import CheckResult, Output

CGNAT_MAP = "cgnat_blocks"
CGNAT_TABLE = "/etc/kopnet/cgnat-blocks"
CGNAT_LOGGED = "/var/lib/kopnet/cgnat-logged"
UNBOUND_CONF = "/etc/unbound/unbound.conf"


class PolicyContext(Protocol):
    """The parts of ``GatewayCheckContext`` these checks read."""

    @property
    def subscribers(self) -> IPv4Network: ...
    @property
    def public_nat(self) -> IPv4Network: ...
    @property
    def cgnat_first_port(self) -> int: ...
    @property
    def noc_syslog(self) -> str: ...
    @property
    def dns_forwarders(self) -> tuple[str, ...]: ...
    @property
    def dns_enforce(self) -> bool: ...


def _result(name: str, ok: bool, detail: str) -> CheckResult:
    from kopnet_iac.platforms.linux.checks import CheckResult

    return CheckResult(name, ok, detail)


def nft_map_elements(items: list[dict[str, Any]], name: str = CGNAT_MAP) -> list[Any] | None:
    """Elements of the nftables map ``name`` from ``nft -j list ruleset`` items (None: no map)."""
    for item in items:
        found = item.get("map")
        if isinstance(found, dict) and found.get("name") == name:
            elements = found.get("elem", [])
            return elements if isinstance(elements, list) else []
    return None


def _block(element: Any) -> tuple[str, str, int, int] | None:
    """``['100.64.8.0', {'concat': ['198.18.0.16', {'range': [1024, 1527]}]}]`` -> tuple."""
    try:
        key, value = element
        public, ports = value["concat"]
        low, high = ports["range"] if isinstance(ports, dict) else (ports, ports)
        return str(key), str(public), int(low), int(high)
    except (TypeError, ValueError, KeyError):
        return None


def check_nat_logging(
    nft_items: list[dict[str, Any]] | None, logged: Output, ctx: PolicyContext
) -> CheckResult:
    name = "nat-logging"
    if nft_items is None:
        return _result(name, False, "nftables ruleset not readable")
    elements = nft_map_elements(nft_items)
    if elements is None:
        return _result(name, False, f"no CGNAT port-block map @{CGNAT_MAP} in the ruleset")
    expected = [
        (str(b.subscriber), str(b.public), b.first, b.last)
        for b in port_blocks(ctx.subscribers, ctx.public_nat, ctx.cgnat_first_port)
    ]
    actual = [_block(e) for e in elements]
    if actual != expected:
        wrong = next(
            (f"{a} (expected {e})" for a, e in zip(actual, expected, strict=False) if a != e),
            f"{len(actual)} blocks, expected {len(expected)}",
        )
        return _result(name, False, f"port-block map differs from the village's table: {wrong}")
    record = dict(re.findall(r"(\w+)=(\S+)", logged.text))
    sums = re.findall(r"^([0-9a-f]{64})\s", logged.text, re.M)
    if logged.status != 0 or "logged" not in record:
        return _result(
            name, False, f"{len(expected)} port blocks in force, never logged to the NOC"
        )
    if record.get("syslog") != ctx.noc_syslog:
        return _result(
            name,
            False,
            f"blocks logged to {record.get('syslog')}, not the NOC syslog {ctx.noc_syslog}",
        )
    if not sums or record.get("sha256") != sums[0]:
        return _result(
            name, False, f"the block table in force differs from the one logged to {ctx.noc_syslog}"
        )
    when = datetime.fromtimestamp(int(record["logged"]), UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return _result(
        name, True, f"{len(expected)} port blocks in force, logged to {ctx.noc_syslog} at {when}"
    )


def unbound_forwarders(text: str) -> dict[str, list[str]]:
    """``forward-zone`` name -> forward-addr list of an unbound.conf.

    >>> unbound_forwarders('forward-zone:\\n  name: "."\\n  forward-addr: 203.0.113.53\\n')
    {'.': ['203.0.113.53']}
    """
    zones: dict[str, list[str]] = {}
    current: str | None = None
    in_zone = False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.endswith(":") and not line.startswith(("name:", "forward-addr:")):
            in_zone, current = line == "forward-zone:", None
            continue
        if in_zone and line.startswith("name:"):
            current = line.split(":", 1)[1].strip().strip('"')
            zones.setdefault(current, [])
        elif in_zone and current is not None and line.startswith("forward-addr:"):
            zones[current].append(line.split(":", 1)[1].strip().split("@", 1)[0])
    return zones


def _redirects_dns(items: list[dict[str, Any]], subscribers: IPv4Network) -> set[str]:
    protocols = set()
    for item in items:
        rule = item.get("rule")
        if not isinstance(rule, dict):
            continue
        exprs = rule.get("expr", [])
        if not any("redirect" in e or "dnat" in e for e in exprs):
            continue
        saddr_ok = proto = None
        for e in exprs:
            match = e.get("match", {})
            payload = (match.get("left") or {}).get("payload", {}) if match else {}
            if payload.get("field") == "saddr":
                right = match.get("right")
                net = right.get("prefix") if isinstance(right, dict) else None
                saddr_ok = net is not None and subscribers.subnet_of(
                    IPv4Network(f"{net['addr']}/{net['len']}", strict=False)
                )
            if payload.get("field") == "dport" and match.get("right") == 53:
                proto = payload.get("protocol")
        if saddr_ok and proto:
            protocols.add(str(proto))
    return protocols


def check_dns_policy(
    unbound: Output, nft_items: list[dict[str, Any]] | None, ctx: PolicyContext
) -> CheckResult:
    name = "dns-policy"
    if unbound.status != 0:
        return _result(name, False, f"cannot read {UNBOUND_CONF}")
    root = unbound_forwarders(unbound.text).get(".")
    wanted = list(ctx.dns_forwarders)
    if root is None:
        return _result(name, False, "the DNS cache forwards no root zone (resolves by itself)")
    if sorted(root, key=IPv4Address) != sorted(wanted, key=IPv4Address):
        return _result(
            name, False, f"root zone forwarded to {', '.join(root)}, expected {', '.join(wanted)}"
        )
    detail = f"subscriber DNS forwarded to {', '.join(root)}"
    if ctx.dns_enforce:
        missing = {"udp", "tcp"} - _redirects_dns(nft_items or [], ctx.subscribers)
        if missing:
            return _result(
                name,
                False,
                f"{detail}, but subscribers' own {'/'.join(sorted(missing))} DNS is not redirected",
            )
        detail += ", subscribers' own DNS queries redirected to the cache"
    return _result(name, True, detail)
