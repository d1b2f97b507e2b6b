"""Read-only health checks of a Linux gateway: routing, NAT, DNS cache, forwarding.

:func:`run_gateway_checks` collects every command output in ONE SSH exec (one round trip: VSAT
hops cost ~600 ms each) and evaluates them with pure functions (``check_*``), which the tests
drive with outputs recorded from real BIRD, iproute2 and nftables. Nothing here changes the
gateway.

Checks (names are stable, the deploy pipeline and ``kopnet verify`` use them):

- ``bgp-established`` (BGP uplinks): the BIRD BGP session to the ISP edge is Established and
  imports a route; otherwise the detail quotes BIRD's state and last error.
- ``static-default`` (static uplinks, e.g. VSAT): BIRD holds a static 0.0.0.0/0 via the ISP edge
  and the edge answers ping.
- ``default-route``: the kernel's default route points at the ISP edge.
- ``nat-rules``: a nat/postrouting rule translates the subscriber block (snat into the public
  NAT block, or masquerade).
- ``dns``: the local DNS cache (127.0.0.1:53) resolves the fleet domain (SOA).
- ``forwarding``: ``net.ipv4.ip_forward`` is 1.
- ``nat-logging`` and ``dns-policy``: the regulator's subscriber policy, see
  :mod:`kopnet_iac.platforms.linux.policy_checks`.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, ip_address, ip_network
from typing import TYPE_CHECKING, Any

from kopnet_iac.errors import ConnectError
from kopnet_iac.platforms.linux.policy_checks import (
    CGNAT_LOGGED,
    CGNAT_TABLE,
    UNBOUND_CONF,
    check_dns_policy,
    check_nat_logging,
    nft_map_elements,
)
from kopnet_iac.platforms.linux.sshrun import SshTarget, connect

if TYPE_CHECKING:
    from kopnet_iac.inventory.loader import Inventory

log = logging.getLogger(__name__)

MARK = "@@kopnet-check"


@dataclass(frozen=True)
class CheckResult:
    """One check: ``name``, whether it passed, and a human-readable ``detail``."""

    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class GatewayCheckContext:
    """What a healthy gateway of this village looks like (from the inventory)."""

    village: str
    hostname: str
    routing: str  # "bgp" | "static"
    edge_address: IPv4Address
    isp_asn: int
    pop_asn: int
    uplink_port: str
    subscribers: IPv4Network
    public_nat: IPv4Network
    dns_name: str
    bird_socket: str = "/run/bird/bird.ctl"
    # subscriber policy (nat-logging, dns-policy)
    cgnat_first_port: int = 1024
    noc_syslog: str = ""
    dns_forwarders: tuple[str, ...] = ()
    dns_enforce: bool = False


def gateway_check_context(inv: Inventory, village_id: str) -> GatewayCheckContext:
    """Build the check context of ``village_id``'s gateway from the inventory."""
    from kopnet_iac.inventory.addressing import village_addressing

    village = inv.village(village_id)
    gateway = next(d for d in village.devices if d.role == "gateway")
    addr = village_addressing(inv, village_id)
    isp = inv.fleet.partner_isp
    regulator = inv.fleet.regulator_dns
    return GatewayCheckContext(
        village=village_id,
        hostname=gateway.hostname,
        routing=isp.uplinks[village.uplink.type].routing,
        edge_address=addr.uplink_edge.ip,
        isp_asn=isp.asn,
        pop_asn=isp.pop_asn,
        uplink_port=village.uplink.gateway_port,
        subscribers=addr.subscribers,
        public_nat=addr.public_nat,
        dns_name=inv.fleet.fleet.domain,
        cgnat_first_port=inv.fleet.cgnat.first_port,
        noc_syslog=inv.fleet.noc.syslog,
        dns_forwarders=tuple(regulator.resolvers if regulator else inv.fleet.noc.dns),
        dns_enforce=bool(regulator and regulator.enforce),
    )


@dataclass(frozen=True)
class Output:
    """Output of one collected command."""

    text: str
    status: int


# --------------------------------------------------------------------------- collection

# Sends one DNS query to the local cache, prints "rcode=N answers=M" (stdlib only: python3 is on
# every gateway because Ansible needs it; dig/drill may not be).
DNS_PROBE = r"""
import random, socket, struct, sys
name, qtype = sys.argv[1].rstrip("."), int(sys.argv[2])
qid = random.randrange(65536)
q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
q += struct.pack(">HH", qtype, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for attempt in range(2):
    try:
        s.sendto(q, ("127.0.0.1", 53))
        r = s.recv(4096)
    except OSError as exc:
        err = exc
        continue
    h = struct.unpack(">HHHHHH", r[:12])
    if h[0] != qid:
        continue
    print("rcode=%d answers=%d" % (h[1] & 15, h[3]))
    sys.exit(0)
print("error=%s" % (err if "err" in dir() else "no answer"))
sys.exit(1)
"""


def collect_script(ctx: GatewayCheckContext) -> str:
    """The shell script that prints every output the checks need, between markers."""
    sock = shlex.quote(ctx.bird_socket)
    edge = shlex.quote(str(ctx.edge_address))
    commands = {
        "protocols": f"birdc -s {sock} show protocols all",
        "bird-default": f"birdc -s {sock} show route for 0.0.0.0/0 all",
        "route": "ip -j route show default",
        "ping": f"ping -c 1 -W 3 {edge}",
        "nft": "nft -j list ruleset",
        "forward": "cat /proc/sys/net/ipv4/ip_forward",
        "dns": f"python3 -c {shlex.quote(DNS_PROBE)} {shlex.quote(ctx.dns_name)} 6",
        "unbound-conf": f"cat {UNBOUND_CONF}",
        "cgnat-logged": f"cat {CGNAT_LOGGED} && sha256sum {CGNAT_TABLE}",
    }
    lines = ["export LC_ALL=C"]
    for key, command in commands.items():
        lines.append(f'echo "{MARK} begin {key}"; {command} 2>&1; echo "{MARK} end $?"')
    return "\n".join(lines) + "\n"


def split_outputs(text: str) -> dict[str, Output]:
    """Parse the collector's marked output into ``key -> Output``."""
    outputs: dict[str, Output] = {}
    key: str | None = None
    body: list[str] = []
    for line in text.splitlines():
        if line.startswith(f"{MARK} begin "):
            key, body = line.split()[-1], []
        elif line.startswith(f"{MARK} end ") and key is not None:
            outputs[key] = Output("\n".join(body), int(line.split()[-1]))
            key = None
        elif key is not None:
            body.append(line)
    return outputs


def run_gateway_checks(
    target: SshTarget, ctx: GatewayCheckContext, *, attempts: int = 3, backoff: float = 1.0
) -> list[CheckResult]:
    """Run every check on the gateway over SSH (read-only). An unreachable gateway or refused
    login yields a single failed ``ssh`` check naming the reason (callers need not catch)."""
    script = collect_script(ctx)
    command = "sh -s" if target.username == "root" else "sudo -n sh -s"
    try:
        with connect(target, attempts=attempts, backoff=backoff) as session:
            result = session.run(command, stdin=script)
    except ConnectError as exc:
        log.info("%s: checks not run: %s", target.label, exc.message)
        return [CheckResult("ssh", False, exc.message)]
    outputs = split_outputs(result.stdout)
    if not outputs:
        reason = (result.stderr or result.stdout).strip()[:300] or f"exit {result.exit_status}"
        return [CheckResult("ssh", False, f"cannot run checks as root: {reason}")]
    return evaluate(outputs, ctx)


def evaluate(outputs: dict[str, Output], ctx: GatewayCheckContext) -> list[CheckResult]:
    """All checks over collected outputs (pure)."""
    missing = Output("(not collected)", 127)
    results = []
    if ctx.routing == "bgp":
        results.append(check_bgp_established(outputs.get("protocols", missing), ctx))
    else:
        results.append(
            check_static_default(
                outputs.get("bird-default", missing), outputs.get("ping", missing), ctx
            )
        )
    results.append(check_default_route(outputs.get("route", missing), ctx))
    nft = outputs.get("nft", missing)
    results.append(check_nat_rules(nft, ctx))
    results.append(check_dns(outputs.get("dns", missing), ctx))
    results.append(check_forwarding(outputs.get("forward", missing)))
    items = _nft_items(nft)
    results.append(check_nat_logging(items, outputs.get("cgnat-logged", missing), ctx))
    results.append(check_dns_policy(outputs.get("unbound-conf", missing), items, ctx))
    return results


def _nft_items(output: Output) -> list[dict[str, Any]] | None:
    if output.status != 0:
        return None
    try:
        items = json.loads(output.text).get("nftables", [])
    except (ValueError, AttributeError):
        return None
    return items if isinstance(items, list) else None


# --------------------------------------------------------------------------- BIRD


def parse_bird_protocols(text: str) -> list[dict[str, str]]:
    """``birdc show protocols all`` -> one dict per protocol with ``name``, ``proto``,
    ``state``, ``info`` and the ``Key: value`` detail lines (BGP state, Neighbor address, ...).
    """
    protocols: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in text.splitlines():
        if not line.strip() or line.startswith(("BIRD ", "Name ")):
            continue
        if not line[0].isspace():
            words = line.split(None, 5)
            if len(words) < 4:
                continue
            current = {"name": words[0], "proto": words[1], "table": words[2], "state": words[3]}
            current["info"] = words[5].strip() if len(words) > 5 else ""
            protocols.append(current)
        elif current is not None and ":" in line:
            key, _, value = line.strip().partition(":")
            current.setdefault(key.strip(), value.strip())
    return protocols


def check_bgp_established(output: Output, ctx: GatewayCheckContext) -> CheckResult:
    name = "bgp-established"
    if output.status != 0:
        return CheckResult(name, False, f"BIRD not answering: {_summary(output.text)}")
    sessions = [
        p
        for p in parse_bird_protocols(output.text)
        if p["proto"] == "BGP" and p.get("Neighbor address") == str(ctx.edge_address)
    ]
    if not sessions:
        return CheckResult(name, False, f"no BGP protocol with neighbor {ctx.edge_address}")
    problems = []
    for p in sessions:
        state = p.get("BGP state", p["info"] or p["state"])
        peer_as = p.get("Neighbor AS", "?")
        if state == "Established":
            imported = _imported_routes(p.get("Routes", ""))
            if imported:
                return CheckResult(
                    name,
                    True,
                    f"{p['name']}: Established with {ctx.edge_address} AS{peer_as}, "
                    f"{imported} route(s) imported",
                )
            problems.append(f"{p['name']}: Established but no route imported")
            continue
        text = f"{p['name']}: {state} to {ctx.edge_address} AS{peer_as}"
        if peer_as != str(ctx.isp_asn):
            text += f" (inventory says AS{ctx.isp_asn})"
        error = p.get("Last error") or _info_error(p["info"])
        if error:
            text += f"; last error: {error}"
        problems.append(text)
    return CheckResult(name, False, "; ".join(problems))


def _imported_routes(routes: str) -> int:
    match = re.match(r"(\d+) imported", routes)
    return int(match.group(1)) if match else 0


def _info_error(info: str) -> str:
    # the Info column after the state word, e.g. "Active        Socket: Connection refused"
    parts = info.split(None, 1)
    return parts[1].strip() if len(parts) > 1 else ""


def check_static_default(route: Output, ping: Output, ctx: GatewayCheckContext) -> CheckResult:
    name = "static-default"
    if route.status != 0:
        return CheckResult(name, False, f"BIRD not answering: {_summary(route.text)}")
    text = route.text
    via = re.search(r"via (\S+) on (\S+)", text)
    if "0.0.0.0/0" not in text or "Type: static" not in text:
        return CheckResult(name, False, "BIRD has no static 0.0.0.0/0 route")
    if via is None or via.group(1) != str(ctx.edge_address):
        got = via.group(1) if via else "no next hop"
        return CheckResult(name, False, f"static default via {got}, expected {ctx.edge_address}")
    if ping.status != 0:
        return CheckResult(
            name, False, f"static default via {ctx.edge_address}, but the edge does not answer ping"
        )
    rtt = re.search(r"time=([\d.]+) ms", ping.text)
    answer = f", edge answers ({rtt.group(1)} ms)" if rtt else ", edge answers"
    return CheckResult(name, True, f"0.0.0.0/0 via {via.group(1)} on {via.group(2)}{answer}")


# --------------------------------------------------------------------------- kernel


def check_default_route(output: Output, ctx: GatewayCheckContext) -> CheckResult:
    name = "default-route"
    if output.status != 0:
        return CheckResult(name, False, f"ip route failed: {_summary(output.text)}")
    try:
        routes = json.loads(output.text or "[]")
    except ValueError:
        return CheckResult(name, False, f"unreadable `ip -j route` output: {output.text[:80]!r}")
    if not routes:
        return CheckResult(name, False, "no default route")
    described = []
    for route in routes:
        proto = route.get("protocol", "")
        # a multipath route lists its next hops under "nexthops"
        for hop in route.get("nexthops") or [route]:
            gateway, dev = hop.get("gateway"), hop.get("dev")
            described.append(f"via {gateway} dev {dev}" + (f" proto {proto}" if proto else ""))
            if gateway == str(ctx.edge_address):
                return CheckResult(name, True, f"default {described[-1]}")
    return CheckResult(
        name, False, f"default route {', '.join(described)}; expected via {ctx.edge_address}"
    )


def check_forwarding(output: Output) -> CheckResult:
    value = output.text.strip()
    if output.status == 0 and value == "1":
        return CheckResult("forwarding", True, "net.ipv4.ip_forward = 1")
    return CheckResult("forwarding", False, f"net.ipv4.ip_forward = {value or '?'} (expected 1)")


def check_dns(output: Output, ctx: GatewayCheckContext) -> CheckResult:
    name = "dns"
    match = re.search(r"rcode=(\d+) answers=(\d+)", output.text)
    if output.status != 0 or match is None:
        return CheckResult(
            name, False, f"local DNS cache does not answer for {ctx.dns_name}: "
            f"{_summary(output.text) or 'no output'}"
        )  # fmt: skip
    rcode, answers = int(match.group(1)), int(match.group(2))
    rcodes = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}
    if rcode == 0 and answers > 0:
        return CheckResult(name, True, f"127.0.0.1 resolves {ctx.dns_name} SOA ({answers} answer)")
    return CheckResult(
        name, False,
        f"127.0.0.1 answers {rcodes.get(rcode, rcode)} with {answers} answer(s) for "
        f"{ctx.dns_name} SOA",
    )  # fmt: skip


# --------------------------------------------------------------------------- nftables


def check_nat_rules(output: Output, ctx: GatewayCheckContext) -> CheckResult:
    name = "nat-rules"
    if output.status != 0:
        return CheckResult(name, False, f"nft failed: {_summary(output.text)}")
    try:
        items = json.loads(output.text).get("nftables", [])
    except (ValueError, AttributeError):
        return CheckResult(name, False, f"unreadable `nft -j` output: {output.text[:80]!r}")
    nat_chains = {
        (c["family"], c["table"], c["name"])
        for item in items
        if (c := item.get("chain")) and c.get("type") == "nat" and c.get("hook") == "postrouting"
    }
    if not nat_chains:
        return CheckResult(name, False, "no nat postrouting chain in the ruleset")
    wrong: list[str] = []
    for item in items:
        rule = item.get("rule")
        if not rule or (rule["family"], rule["table"], rule["chain"]) not in nat_chains:
            continue
        exprs = rule.get("expr", [])
        if not any(_matches_saddr(e, ctx.subscribers) for e in exprs):
            continue
        for expr in exprs:
            if "masquerade" in expr:
                return CheckResult(name, True, f"masquerade {ctx.subscribers}")
            if "snat" in expr and _snat_map(expr["snat"]):
                ref = _snat_map(expr["snat"])
                elements = nft_map_elements(items, ref.lstrip("@")) or []
                publics = {str(e[1]["concat"][0]) for e in elements if _is_block(e)}
                outside = sorted(p for p in publics if not _within(p, ctx.public_nat))
                if elements and not outside:
                    return CheckResult(
                        name, True, f"snat {ctx.subscribers} through port-block map {ref}"
                    )
                wrong.append(f"snat {ctx.subscribers} through {ref}: {outside or 'empty map'}")
                continue
            if "snat" in expr:
                target = _snat_target(expr["snat"])
                if target is not None and _within(target, ctx.public_nat):
                    return CheckResult(name, True, f"snat {ctx.subscribers} to {target}")
                wrong.append(f"snat {ctx.subscribers} to {target}, outside {ctx.public_nat}")
    if wrong:
        return CheckResult(name, False, "; ".join(wrong))
    return CheckResult(
        name, False, f"no snat/masquerade rule for {ctx.subscribers} in a nat postrouting chain"
    )


def _matches_saddr(expr: dict[str, Any], block: IPv4Network) -> bool:
    match = expr.get("match")
    if not match or match.get("op") not in ("==", "in"):
        return False
    left = match.get("left", {})
    payload = left.get("payload", {}) if isinstance(left, dict) else {}
    if payload.get("protocol") != "ip" or payload.get("field") != "saddr":
        return False
    right = match.get("right")
    values = right["set"] if isinstance(right, dict) and "set" in right else [right]
    return any(_covers(_as_network(v), block) for v in values)


def _as_network(value: Any) -> IPv4Network | None:
    try:
        if isinstance(value, str):
            net = ip_network(value, strict=False)
        elif isinstance(value, dict) and "prefix" in value:
            net = ip_network(f"{value['prefix']['addr']}/{value['prefix']['len']}", strict=False)
        else:
            return None
    except ValueError:
        return None
    return net if isinstance(net, IPv4Network) else None


def _covers(net: IPv4Network | None, block: IPv4Network) -> bool:
    return net is not None and block.subnet_of(net)


def _snat_map(snat: dict[str, Any]) -> str:
    """``@map`` when the snat takes its address (and ports) from a map, else ''."""
    addr = snat.get("addr")
    if isinstance(addr, dict) and isinstance(addr.get("map"), dict):
        return str(addr["map"].get("data", ""))
    return ""


def _is_block(element: Any) -> bool:
    return (
        isinstance(element, list)
        and len(element) == 2
        and isinstance(element[1], dict)
        and "concat" in element[1]
    )


def _snat_target(snat: dict[str, Any]) -> str | None:
    addr = snat.get("addr")
    if isinstance(addr, str):
        return addr
    if isinstance(addr, dict) and "prefix" in addr:
        return f"{addr['prefix']['addr']}/{addr['prefix']['len']}"
    if isinstance(addr, dict) and "range" in addr:
        low, high = addr["range"]
        return f"{low}-{high}"
    return None


def _within(target: str, block: IPv4Network) -> bool:
    try:
        if "-" in target:
            return all(ip_address(part) in block for part in target.split("-"))
        net = ip_network(target, strict=False)
    except ValueError:
        return False
    return isinstance(net, IPv4Network) and net.subnet_of(block)


def _summary(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""
