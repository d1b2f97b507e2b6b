"""Gateway checks against real lab gateways (root): BIRD, nftables, unbound in namespaces,
configured from the rendered templates."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.lab import gateway_netns
from kopnet_iac.platforms.linux.checks import (
    CheckResult,
    gateway_check_context,
    run_gateway_checks,
)
from tests.lab.gateway import helpers
from tests.lab.gateway.helpers import by_name, wait_checks

pytestmark = pytest.mark.root


def _all_ok(results: list[CheckResult]) -> bool:
    return all(r.ok for r in results)


def test_configured_bgp_gateway_passes(inv: Inventory, sukadana: dict[str, Any]) -> None:
    ctx = gateway_check_context(inv, "sukadana")
    results = wait_checks(sukadana, ctx, _all_ok)
    assert [r.name for r in results] == [
        "bgp-established", "default-route", "nat-rules", "dns", "forwarding",
        "nat-logging", "dns-policy",
    ]  # fmt: skip
    assert _all_ok(results), results
    checks = by_name(results)
    assert "Established with 172.30.0.0 AS64500" in checks["bgp-established"].detail
    assert checks["default-route"].detail.startswith("default via 172.30.0.0 dev enp1s0")


def test_wrong_peer_asn_fails_then_the_previous_config_restores_the_session(
    inv: Inventory, sukadana: dict[str, Any]
) -> None:
    ctx = gateway_check_context(inv, "sukadana")
    good = helpers.rendered_files(inv, "sukadana", str(sukadana["hostname"]))["bird.conf"]
    assert "define ISP_ASN = 64500;" in good
    try:
        helpers.configure(
            sukadana, {"bird.conf": good.replace("ISP_ASN = 64500", "ISP_ASN = 64999")}
        )
        # BIRD first tries to connect (Active), the OPEN exchange then fails on the peer AS
        results = by_name(
            wait_checks(
                sukadana, ctx, lambda rs: "Bad peer AS" in by_name(rs)["bgp-established"].detail
            )
        )
        bgp = results["bgp-established"]
        assert not bgp.ok
        assert "AS64999" in bgp.detail and "Bad peer AS" in bgp.detail, bgp.detail
        assert not results["default-route"].ok
    finally:
        helpers.configure(sukadana, {"bird.conf": good})
    results = wait_checks(sukadana, ctx, _all_ok)
    assert _all_ok(results), results


def test_checks_are_read_only(inv: Inventory, sukadana: dict[str, Any]) -> None:
    ctx = gateway_check_context(inv, "sukadana")
    wait_checks(sukadana, ctx, _all_ok)
    snapshot = "sudo -n sh -c 'nft list ruleset; cat /etc/bird/bird.conf; ls -la /run /etc/bird'\n"
    before = helpers.sudo_run(sukadana, snapshot)
    run_gateway_checks(helpers.target_of(sukadana), ctx)
    assert helpers.sudo_run(sukadana, snapshot) == before


def test_configured_vsat_gateway_passes_with_static_default(
    inv: Inventory, pematang: dict[str, Any]
) -> None:
    ctx = gateway_check_context(inv, "pematang-panggang")
    results = wait_checks(pematang, ctx, _all_ok)
    assert _all_ok(results), results
    assert results[0].name == "static-default"
    assert "via 172.30.32.0" in results[0].detail and "edge answers" in results[0].detail


def test_vsat_gateway_without_routing_daemon_fails_static_default(
    inv: Inventory, pematang: dict[str, Any]
) -> None:
    ctx = gateway_check_context(inv, "pematang-panggang")
    try:
        helpers.sudo_run(pematang, "kill $(cat /run/bird/bird.pid)\nsleep 0.5\n")
        results = by_name(run_gateway_checks(helpers.target_of(pematang), ctx))
        assert not results["static-default"].ok
        assert "BIRD not answering" in results["static-default"].detail
        assert results["default-route"].detail == "no default route"
    finally:
        helpers.configure(
            pematang, helpers.rendered_files(inv, "pematang-panggang", str(pematang["hostname"]))
        )
    assert _all_ok(wait_checks(pematang, ctx, _all_ok))


def test_failed_login_is_one_clear_failed_check(inv: Inventory, sukadana: dict[str, Any]) -> None:
    ctx = gateway_check_context(inv, "sukadana")
    target = replace(helpers.target_of(sukadana), password="wrong-fake-pw", key_file=None)
    sshd_log = Path(str(sukadana["key_file"])).parent / "sshd.log"
    before = sshd_log.read_text().count("Failed password for kopnet")
    results = run_gateway_checks(target, ctx, attempts=3, backoff=0.1)
    assert [(r.name, r.ok) for r in results] == [("ssh", False)]
    assert "authentication failed for user 'kopnet'" in results[0].detail
    # a refused login is not retried (retrying a wrong password only locks the account)
    assert sshd_log.read_text().count("Failed password for kopnet") == before + 1


def test_unreachable_gateway_is_retried_then_reported(
    inv: Inventory, sukadana: dict[str, Any]
) -> None:
    ctx = gateway_check_context(inv, "sukadana")
    # the lab gateway's own management address, on a port nothing listens on
    target = replace(helpers.target_of(sukadana), port=2222, connect_timeout=1.0)
    results = run_gateway_checks(target, ctx, attempts=2, backoff=0.1)
    assert [(r.name, r.ok) for r in results] == [("ssh", False)]
    assert results[0].detail.startswith(
        f"unreachable at {sukadana['host']}:2222 after 2 attempt(s)"
    )


def test_gateway_behind_a_dead_management_link_is_unreachable_then_back(
    inv: Inventory, pematang: dict[str, Any], shared_lab_dir: Path
) -> None:
    ctx = gateway_check_context(inv, "pematang-panggang")
    target = replace(helpers.target_of(pematang), connect_timeout=1.0)
    try:
        gateway_netns.set_management_link(shared_lab_dir, "pematang-panggang", up=False)
        results = run_gateway_checks(target, ctx, attempts=2, backoff=0.1)
        assert [(r.name, r.ok) for r in results] == [("ssh", False)]
        assert "unreachable at" in results[0].detail
    finally:
        gateway_netns.set_management_link(shared_lab_dir, "pematang-panggang", up=True)
    assert all(r.ok for r in wait_checks(pematang, ctx, lambda rs: all(r.ok for r in rs)))


def test_the_noc_ntp_stand_in_serves_time_to_a_configured_gateway(
    pematang: dict[str, Any],
) -> None:
    out = helpers.sudo_run(
        pematang, "chronyd -Q -t 8 'server 10.255.0.123 iburst maxsamples 2' 2>&1\n"
    )
    assert "System clock wrong by" in out, out
