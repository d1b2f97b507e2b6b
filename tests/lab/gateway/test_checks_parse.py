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
    GatewayCheckContext,
    Output,
    check_bgp_established,
    check_nat_rules,
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
    assert list(results) == ["bgp-established", "default-route", "nat-rules", "dns", "forwarding"]
    assert all(ok for ok, _ in results.values()), results
    assert results["bgp-established"][1] == (
        "isp: Established with 172.30.0.0 AS64500, 1 route(s) imported"
    )
    assert results["nat-rules"][1] == "snat 100.64.8.0/22 to 198.18.0.16/29"
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
    assert script.count(f"{MARK} begin") == 7
    assert "birdc -s /run/bird/bird.ctl show protocols all" in script
    text = f"{MARK} begin route\n[]\n{MARK} end 0\n{MARK} begin nft\nboom\n{MARK} end 1\n"
    assert split_outputs(text) == {"route": Output("[]", 0), "nft": Output("boom", 1)}
