"""``nat-logging`` and ``dns-policy`` over outputs recorded from a configured lab gateway, and
over the same outputs tampered with: each way the policy can be broken is named."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from kopnet_iac.platforms.linux.checks import Output, split_outputs
from kopnet_iac.platforms.linux.policy_checks import (
    check_dns_policy,
    check_nat_logging,
    unbound_forwarders,
)
from tests.lab.gateway.test_checks_parse import FIBER, FIXTURES

OUTPUTS = split_outputs((FIXTURES / "bgp-ok.txt").read_text())


def _items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(OUTPUTS["nft"].text)["nftables"]
    return items


def test_recorded_gateway_passes_both() -> None:
    nat = check_nat_logging(_items(), OUTPUTS["cgnat-logged"], FIBER)
    assert nat.ok, nat.detail
    dns = check_dns_policy(OUTPUTS["unbound-conf"], _items(), FIBER)
    assert dns.ok, dns.detail


def test_a_changed_port_block_is_named() -> None:
    items = _items()
    cgnat = next(i["map"] for i in items if "map" in i and i["map"]["name"] == "cgnat_blocks")
    cgnat["elem"][5][1]["concat"][1]["range"] = [1024, 1527]  # overlaps subscriber 0's block
    result = check_nat_logging(items, OUTPUTS["cgnat-logged"], FIBER)
    assert not result.ok
    assert "100.64.8.5" in result.detail and "differs from the village's table" in result.detail


def test_a_missing_map_is_named() -> None:
    items = [i for i in _items() if "map" not in i]
    result = check_nat_logging(items, OUTPUTS["cgnat-logged"], FIBER)
    assert (result.ok, result.detail) == (
        False,
        "no CGNAT port-block map @cgnat_blocks in the ruleset",
    )


def test_blocks_never_logged_or_logged_elsewhere_or_stale() -> None:
    never = check_nat_logging(_items(), Output("cat: no such file", 1), FIBER)
    assert not never.ok and "never logged to the NOC" in never.detail
    elsewhere = check_nat_logging(
        _items(), OUTPUTS["cgnat-logged"], replace(FIBER, noc_syslog="10.255.0.99")
    )
    assert not elsewhere.ok and "not the NOC syslog 10.255.0.99" in elsewhere.detail
    text = OUTPUTS["cgnat-logged"].text
    stale = Output(text.replace("sha256=", "sha256=0"), 0)
    result = check_nat_logging(_items(), stale, FIBER)
    assert not result.ok and "differs from the one logged" in result.detail


def test_dns_forwarded_elsewhere_is_named() -> None:
    ctx = replace(FIBER, dns_forwarders=("10.255.0.53", "10.255.0.54"))
    result = check_dns_policy(OUTPUTS["unbound-conf"], _items(), ctx)
    assert not result.ok
    assert result.detail == (
        "root zone forwarded to 203.0.113.53, 203.0.113.54, expected 10.255.0.53, 10.255.0.54"
    )


def test_missing_redirect_is_named_only_when_enforced() -> None:
    items = [i for i in _items() if not ("rule" in i and i["rule"]["chain"] == "prerouting")]
    result = check_dns_policy(OUTPUTS["unbound-conf"], items, FIBER)
    assert not result.ok and "own tcp/udp DNS is not redirected" in result.detail
    relaxed = check_dns_policy(OUTPUTS["unbound-conf"], items, replace(FIBER, dns_enforce=False))
    assert relaxed.ok, relaxed.detail


def test_resolving_by_itself_is_not_the_policy() -> None:
    text = OUTPUTS["unbound-conf"].text.split("forward-zone:")[0]
    result = check_dns_policy(Output(text, 0), _items(), FIBER)
    assert (result.ok, result.detail) == (
        False,
        "the DNS cache forwards no root zone (resolves by itself)",
    )


def test_unbound_forwarders_reads_zones_and_ignores_comments() -> None:
    text = (
        'server:\n  interface: 0.0.0.0\n# forward-zone:\nforward-zone:\n  name: "."\n'
        '  forward-addr: 203.0.113.53@53 # filter\nforward-zone:\n  name: "oki.kopnet.id."\n'
        "  forward-addr: 10.255.0.53\nremote-control:\n  control-enable: no\n"
    )
    assert unbound_forwarders(text) == {".": ["203.0.113.53"], "oki.kopnet.id.": ["10.255.0.53"]}
