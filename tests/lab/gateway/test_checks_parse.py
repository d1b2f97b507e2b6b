"""The gateway checks' evaluation over outputs recorded from a real lab gateway (no root needed):
fiber/eBGP healthy and with a wrong peer ASN, VSAT/static healthy and fresh (unconfigured)."""

from __future__ import annotations

import json
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from kopnet_iac.platforms.linux.checks import (
    MARK,
    CheckResult,
    GatewayCheckContext,
    Output,
    check_bgp_established,
    check_default_route,
    check_dns,
    check_forwarding,
    check_nat_rules,
    check_static_default,
    collect_script,
    evaluate,
    parse_bird_protocols,
    split_outputs,
)

FIXTURES = Path(__file__).parent / "fixtures"

FIBER = GatewayCheckContext(
    village="sukadana",
    hostname="gw-sukadana",
    routing="bgp",
    edge_address=IPv4Address("172.30.0.0"),
    isp_asn=64500,
    pop_asn=65010,
    uplink_port="enp1s0",
    subscribers=IPv4Network("100.64.8.0/22"),
    public_nat=IPv4Network("198.18.0.16/29"),
    dns_name="oki.kopnet.id",
    noc_syslog="10.255.0.14",
    dns_forwarders=("203.0.113.53", "203.0.113.54"),
    dns_enforce=True,
)
VSAT = replace(
    FIBER,
    village="pematang-panggang",
    hostname="gw-pematang",
    routing="static",
    edge_address=IPv4Address("172.30.32.0"),
    subscribers=IPv4Network("100.64.4.0/22"),
    public_nat=IPv4Network("198.18.0.8/29"),
)


def _outputs(name: str) -> dict[str, Output]:
    return split_outputs((FIXTURES / f"{name}.txt").read_text())


def _results(name: str, ctx: GatewayCheckContext) -> dict[str, tuple[bool, str]]:
    return {r.name: (r.ok, r.detail) for r in evaluate(_outputs(name), ctx)}


def test_healthy_bgp_gateway_passes_every_check() -> None:
    results = _results("bgp-ok", FIBER)
    assert list(results) == [
        *("bgp-established", "default-route", "nat-rules", "dns", "forwarding"),
        *("nat-logging", "dns-policy"),
    ]
    assert all(ok for ok, _ in results.values()), results
    assert results["bgp-established"][1] == (
        "isp: Established with 172.30.0.0 AS64500, 1 route(s) imported"
    )
    assert results["nat-rules"][1] == "snat 100.64.8.0/22 through port-block map @cgnat_blocks"
    assert results["nat-logging"][1].startswith("1024 port blocks in force, logged to 10.255.0.14")
    assert results["dns-policy"][1] == (
        "subscriber DNS forwarded to 203.0.113.53, 203.0.113.54, "
        "subscribers' own DNS queries redirected to the cache"
    )
    assert results["default-route"][1] == "default via 172.30.0.0 dev enp1s0 proto bird"


def test_wrong_peer_asn_fails_with_birds_reason() -> None:
    results = _results("bgp-wrong-asn", FIBER)
    ok, detail = results["bgp-established"]
    assert not ok
    assert "Idle" in detail and "AS64999" in detail and "inventory says AS64500" in detail
    assert "Bad peer AS" in detail
    assert results["default-route"] == (False, "no default route")
    assert results["nat-rules"][0] and results["forwarding"][0]


def test_healthy_vsat_gateway_uses_the_static_default_check() -> None:
    results = _results("static-ok", VSAT)
    assert next(iter(results)) == "static-default"
    assert all(ok for ok, _ in results.values()), results
    assert results["static-default"][1].startswith("0.0.0.0/0 via 172.30.32.0 on enp1s0")


def test_fresh_gateway_fails_every_check_with_a_reason() -> None:
    results = _results("static-fresh", VSAT)
    assert not any(ok for ok, _ in results.values())
    assert "bird.ctl" in results["static-default"][1]
    assert results["nat-rules"][1] == "no nat postrouting chain in the ruleset"
    assert results["forwarding"][1] == "net.ipv4.ip_forward = 0 (expected 1)"
    assert "does not answer" in results["dns"][1]


def test_checks_against_the_wrong_village_fail() -> None:
    # the BGP gateway's outputs judged with the VSAT village's expectations
    results = _results("bgp-ok", VSAT)
    assert not results["static-default"][0]
    assert not results["default-route"][0]
    assert "expected via 172.30.32.0" in results["default-route"][1]
    assert results["nat-rules"][1].startswith("no snat/masquerade rule for 100.64.4.0/22")


def test_parse_bird_protocols_reads_header_and_details() -> None:
    text = _outputs("bgp-wrong-asn")["protocols"].text
    protocols = {p["name"]: p for p in parse_bird_protocols(text)}
    assert set(protocols) == {"device1", "kernel1", "village", "nat_block", "isp"}
    isp = protocols["isp"]
    assert (isp["proto"], isp["state"], isp["BGP state"]) == ("BGP", "start", "Idle")
    assert isp["Neighbor AS"] == "64999"
    assert isp["Last error"] == "BGP Error: Bad peer AS"


def test_bgp_to_another_neighbor_is_not_counted() -> None:
    ctx = replace(FIBER, edge_address=IPv4Address("172.30.0.2"))
    result = check_bgp_established(_outputs("bgp-ok")["protocols"], ctx)
    assert not result.ok and result.detail == "no BGP protocol with neighbor 172.30.0.2"


def _ruleset(*exprs: dict[str, object], hook: str = "postrouting") -> Output:
    items = [
        {"chain": {"family": "ip", "table": "nat", "name": "post", "type": "nat", "hook": hook}},
        {"rule": {"family": "ip", "table": "nat", "chain": "post", "expr": list(exprs)}},
    ]
    return Output(json.dumps({"nftables": items}), 0)


SADDR = {
    "match": {
        "op": "==",
        "left": {"payload": {"protocol": "ip", "field": "saddr"}},
        "right": {"prefix": {"addr": "100.64.0.0", "len": 12}},  # covers the village block
    }
}


@pytest.mark.parametrize(
    ("statement", "ok", "detail"),
    [
        ({"masquerade": None}, True, "masquerade 100.64.8.0/22"),
        ({"snat": {"addr": {"range": ["198.18.0.16", "198.18.0.23"]}}}, True,
         "snat 100.64.8.0/22 to 198.18.0.16-198.18.0.23"),
        ({"snat": {"addr": "198.18.0.17"}}, True, "snat 100.64.8.0/22 to 198.18.0.17"),
        ({"snat": {"addr": "203.0.113.9"}}, False,
         "snat 100.64.8.0/22 to 203.0.113.9, outside 198.18.0.16/29"),
        ({"accept": None}, False,
         "no snat/masquerade rule for 100.64.8.0/22 in a nat postrouting chain"),
    ],
)  # fmt: skip
def test_nat_rule_variants(statement: dict[str, object], ok: bool, detail: str) -> None:
    result = check_nat_rules(_ruleset(SADDR, statement), FIBER)
    assert (result.ok, result.detail) == (ok, detail)


def test_nat_rule_in_a_prerouting_chain_does_not_count() -> None:
    result = check_nat_rules(_ruleset(SADDR, {"masquerade": None}, hook="prerouting"), FIBER)
    assert not result.ok and result.detail == "no nat postrouting chain in the ruleset"


def test_nat_rule_for_another_block_does_not_count() -> None:
    other = json.loads(json.dumps(SADDR))
    other["match"]["right"] = {"prefix": {"addr": "100.64.4.0", "len": 22}}
    assert not check_nat_rules(_ruleset(other, {"masquerade": None}), FIBER).ok


def test_unreadable_nft_output_is_reported() -> None:
    result = check_nat_rules(Output("Error: syntax", 0), FIBER)
    assert not result.ok and "unreadable" in result.detail


def test_collect_script_marks_every_output() -> None:
    script = collect_script(FIBER)
    assert script.count(f"{MARK} begin") == 9
    assert "birdc -s /run/bird/bird.ctl show protocols all" in script
    text = f"{MARK} begin route\n[]\n{MARK} end 0\n{MARK} begin nft\nboom\n{MARK} end 1\n"
    assert split_outputs(text) == {"route": Output("[]", 0), "nft": Output("boom", 1)}


# --------------------------------------------------------------------------- more shapes

BGP_HEADER = "BIRD 2.0.12 ready.\nName       Proto      Table      State  Since         Info\n"


def _bgp(name: str, state: str, info: str, neighbor: str, peer_as: int, extra: str = "") -> str:
    return (
        f"{name:<10} BGP        ---        {state:<6} 10:00:00.000  {info}\n"
        f"  BGP state:          {info.split()[0]}\n"
        f"    Neighbor address: {neighbor}\n"
        f"    Neighbor AS:      {peer_as}\n"
        f"    Local AS:         65010\n{extra}\n"
    )


def test_bgp_connect_state_without_last_error_uses_the_info_column() -> None:
    text = BGP_HEADER + _bgp(
        "isp", "start", "Connect       Socket: No route to host", "172.30.0.0", 64500
    )
    result = check_bgp_established(Output(text, 0), FIBER)
    assert not result.ok
    assert (
        result.detail == "isp: Connect to 172.30.0.0 AS64500; last error: Socket: No route to host"
    )


def test_established_session_without_routes_fails() -> None:
    routes = "  Channel ipv4\n    State:          UP\n    Routes:         0 imported, 1 exported, 0 preferred"
    text = BGP_HEADER + _bgp("isp", "up", "Established", "172.30.0.0", 64500, routes)
    result = check_bgp_established(Output(text, 0), FIBER)
    assert (result.ok, result.detail) == (False, "isp: Established but no route imported")


def test_one_good_session_among_several_is_enough() -> None:
    routes = "  Channel ipv4\n    Routes:         1 imported, 1 exported, 1 preferred"
    text = (
        BGP_HEADER
        + _bgp("other", "up", "Established", "192.0.2.1", 64999, routes)
        + _bgp("isp_old", "start", "Active", "172.30.0.0", 64500)
        + _bgp("isp", "up", "Established", "172.30.0.0", 64500, routes)
    )
    result = check_bgp_established(Output(text, 0), FIBER)
    assert result.ok and result.detail.startswith("isp: Established")


def test_bird_down_is_reported_with_birdc_message() -> None:
    text = "Unable to connect to server control socket (/run/bird/bird.ctl): Connection refused"
    result = check_bgp_established(Output(text, 1), FIBER)
    assert (result.ok, result.detail) == (False, f"BIRD not answering: {text}")


STATIC_ROUTE = (
    "BIRD 2.0.12 ready.\nTable master4:\n"
    "0.0.0.0/0            unicast [uplink_default 10:00:00.000] * (200)\n"
    "\tvia {via} on enp1s0\n\tType: {kind} univ\n"
)
PING_OK = Output("64 bytes from 172.30.32.0: icmp_seq=1 ttl=64 time=612 ms", 0)


@pytest.mark.parametrize(
    ("via", "kind", "ping", "ok", "detail"),
    [
        ("172.30.32.0", "static", PING_OK, True,
         "0.0.0.0/0 via 172.30.32.0 on enp1s0, edge answers (612 ms)"),
        ("172.30.32.0", "static", Output("1 packets transmitted, 0 received", 1), False,
         "static default via 172.30.32.0, but the edge does not answer ping"),
        ("172.30.32.9", "static", PING_OK, False,
         "static default via 172.30.32.9, expected 172.30.32.0"),
        ("172.30.32.0", "BGP", PING_OK, False, "BIRD has no static 0.0.0.0/0 route"),
    ],
)  # fmt: skip
def test_static_default_variants(via: str, kind: str, ping: Output, ok: bool, detail: str) -> None:
    route = Output(STATIC_ROUTE.format(via=via, kind=kind), 0)
    result = check_static_default(route, ping, VSAT)
    assert (result.ok, result.detail) == (ok, detail)


def test_static_default_absent_in_bird() -> None:
    result = check_static_default(Output("BIRD 2.0.12 ready.\nNetwork not found", 0), PING_OK, VSAT)
    assert (result.ok, result.detail) == (False, "BIRD has no static 0.0.0.0/0 route")


def test_multipath_default_route_counts_each_next_hop() -> None:
    routes = [{"dst": "default", "protocol": "bird", "flags": [], "nexthops": [
        {"gateway": "172.30.0.4", "dev": "enp3s0", "weight": 1, "flags": []},
        {"gateway": "172.30.0.0", "dev": "enp1s0", "weight": 1, "flags": []},
    ]}]  # fmt: skip
    result = check_default_route(Output(json.dumps(routes), 0), FIBER)
    assert (result.ok, result.detail) == (True, "default via 172.30.0.0 dev enp1s0 proto bird")


def test_default_route_via_someone_else() -> None:
    routes = [{"dst": "default", "gateway": "10.0.2.2", "dev": "eth0", "protocol": "dhcp"}]
    result = check_default_route(Output(json.dumps(routes), 0), FIBER)
    assert (result.ok, result.detail) == (
        False, "default route via 10.0.2.2 dev eth0 proto dhcp; expected via 172.30.0.0",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "status", "ok", "detail"),
    [
        ("rcode=0 answers=1", 0, True, "127.0.0.1 resolves oki.kopnet.id SOA (1 answer)"),
        ("rcode=2 answers=0", 0, False,
         "127.0.0.1 answers SERVFAIL with 0 answer(s) for oki.kopnet.id SOA"),
        ("rcode=3 answers=0", 0, False,
         "127.0.0.1 answers NXDOMAIN with 0 answer(s) for oki.kopnet.id SOA"),
        ("rcode=0 answers=0", 0, False,
         "127.0.0.1 answers NOERROR with 0 answer(s) for oki.kopnet.id SOA"),
        ("error=timed out", 1, False,
         "local DNS cache does not answer for oki.kopnet.id: error=timed out"),
        ("sh: 1: python3: not found", 127, False,
         "local DNS cache does not answer for oki.kopnet.id: sh: 1: python3: not found"),
    ],
)  # fmt: skip
def test_dns_variants(text: str, status: int, ok: bool, detail: str) -> None:
    result = check_dns(Output(text, status), FIBER)
    assert (result.ok, result.detail) == (ok, detail)


@pytest.mark.parametrize(
    ("text", "status", "ok"), [("1", 0, True), ("0", 0, False), ("", 1, False), ("1\n", 0, True)]
)
def test_forwarding_variants(text: str, status: int, ok: bool) -> None:
    assert check_forwarding(Output(text, status)).ok is ok


def test_missing_outputs_fail_instead_of_crashing() -> None:
    results = evaluate({}, FIBER)
    assert [r.ok for r in results] == [False] * 7
    assert all(r.detail for r in results)


def test_check_results_serialise() -> None:
    assert CheckResult("dns", True, "fine").to_json() == {
        "name": "dns",
        "ok": True,
        "detail": "fine",
    }
