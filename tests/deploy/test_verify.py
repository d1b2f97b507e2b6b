"""The verification evaluator and the inventory expectations: pure, no device."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kopnet_iac.deploy.expect import DeviceExpectation, RadioPeer, village_expectations
from kopnet_iac.deploy.verify import (
    CheckOutcome,
    Observation,
    VerifySpec,
    evaluate,
    load_verify_spec,
    ping_targets,
    row_enabled,
    signal_dbm,
)
from kopnet_iac.errors import KopnetError
from kopnet_iac.inventory.loader import Inventory, load_inventory
from tests.conftest import EXAMPLE_FLEET

INVENTORY = EXAMPLE_FLEET


@pytest.fixture(scope="module")
def inv() -> Inventory:
    return load_inventory(INVENTORY)


@pytest.fixture(scope="module")
def spec() -> VerifySpec:
    return load_verify_spec()


def core() -> DeviceExpectation:
    return DeviceExpectation(
        village="v",
        hostname="core-v",
        role="core-router",
        platform="routeros",
        model="RB5009UG+S+IN",
        ports=("ether1", "ether2"),
        targets={
            "upstream": "10.92.0.0",
            "gateway-link": "10.92.0.0",
            "management-gateway": "10.90.0.1",
            "uplink-edge": "172.30.0.0",
        },
        pppoe_servers=2,
        hotspot_servers=0,
    )


def backhaul(signal: int = -58) -> DeviceExpectation:
    return DeviceExpectation(
        village="v",
        hostname="bh-a",
        role="backhaul-radio",
        platform="airos",
        model="PowerBeam-5AC-Gen2",
        ports=("ath0",),
        targets={"upstream": "10.90.0.1", "management-gateway": "10.90.0.1"},
        radio=RadioPeer(peer="bh-b", local_port="ath0", ssid="BH", expected_signal_dbm=signal),
    )


def ping_ok(sent: int = 3, lost: int = 0) -> dict[str, Any]:
    return {"success": {"probes_sent": sent, "packet_loss": lost, "rtt_avg": 1.5, "results": []}}


def healthy_core() -> Observation:
    return Observation(
        hostname="core-v",
        reachable=True,
        facts={"model": "RB5009UG+S+IN", "uptime": 1234.0},
        diff="",
        interfaces={
            "ether1": {"is_up": True, "is_enabled": True},
            "ether2": {"is_up": True, "is_enabled": True},
            "ether3": {"is_up": False, "is_enabled": True},
        },
        pings={"10.92.0.0": ping_ok()},
        pppoe_servers=[
            {"interface": "vlan101-dusun-1", "disabled": False},
            {"interface": "vlan102-dusun-2", "disabled": "no"},
        ],
        hotspot_servers=[],
    )


def by_check(results: list[CheckOutcome]) -> dict[str, CheckOutcome]:
    return {r.check: r for r in results}


# --------------------------------------------------------------------------- the data file


def test_every_role_declares_its_checks(spec: VerifySpec) -> None:
    assert set(spec.roles) == {"core-router", "sector-radio", "backhaul-radio"}
    for role, checks in spec.roles.items():
        kinds = [c.check for c in checks]
        assert kinds[:2] == ["converged", "management"], role
        assert "upstream-ping" in kinds and "interfaces-up" in kinds, role
    assert "radio-link" in [c.check for c in spec.roles["backhaul-radio"]]
    assert {"pppoe-server", "hotspot"} <= {c.check for c in spec.roles["core-router"]}


def test_an_unknown_check_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text("roles:\n  core-router:\n    - {check: telepathy}\n")
    with pytest.raises(KopnetError, match="invalid verification checks"):
        load_verify_spec(path)
    path.write_text("roles: {}\nbogus: 1\n")
    with pytest.raises(KopnetError, match="bogus"):
        load_verify_spec(path)


# --------------------------------------------------------------------------- evaluator


def test_a_healthy_core_router_passes_every_check(spec: VerifySpec) -> None:
    results = by_check(evaluate(spec, core(), healthy_core()))
    assert list(results) == [
        "converged",
        "management",
        "upstream-ping",
        "interfaces-up",
        "pppoe-server",
        "hotspot",
    ]
    assert all(r.ok for r in results.values()), results
    assert results["hotspot"].skipped and "no hotspot plan" in results["hotspot"].detail
    assert not results["pppoe-server"].skipped
    assert "2 PPPoE server(s) enabled" in results["pppoe-server"].detail
    assert results["interfaces-up"].detail == "up: ether1, ether2"  # ether3 has no link
    assert "3/3 answered" in results["upstream-ping"].detail


def test_a_diff_left_fails_converged(spec: VerifySpec) -> None:
    obs = healthy_core()
    obs.diff = "/system identity\n-set name=old\n+set name=new\n"
    result = by_check(evaluate(spec, core(), obs))["converged"]
    assert not result.ok and "2 difference(s)" in result.detail
    obs.diff = None
    obs.getter_errors["compare"] = "compare failed: PlanError"
    assert by_check(evaluate(spec, core(), obs))["converged"].detail == "compare failed: PlanError"


def test_unreachable_device_fails_every_check_with_the_reason(spec: VerifySpec) -> None:
    obs = Observation(hostname="core-v", reachable=False, error="timed out")
    results = evaluate(spec, core(), obs)
    assert results and not any(r.ok for r in results)
    assert by_check(results)["management"].detail.endswith("timed out")
    assert by_check(results)["converged"].detail == "device not reachable"


def test_wrong_model_fails_management(spec: VerifySpec) -> None:
    obs = healthy_core()
    obs.facts["model"] = "hAP-ac2"
    result = by_check(evaluate(spec, core(), obs))["management"]
    assert not result.ok and "'hAP-ac2'" in result.detail


def test_ping_loss_above_the_limit_fails(spec: VerifySpec) -> None:
    obs = healthy_core()
    obs.pings["10.92.0.0"] = ping_ok(3, 1)  # 33 % > 20 %
    assert not by_check(evaluate(spec, core(), obs))["upstream-ping"].ok
    obs.pings["10.92.0.0"] = ping_ok(10, 2)  # 20 %: allowed
    assert by_check(evaluate(spec, core(), obs))["upstream-ping"].ok
    obs.pings["10.92.0.0"] = {"error": "timeout"}
    assert "timeout" in by_check(evaluate(spec, core(), obs))["upstream-ping"].detail
    del obs.pings["10.92.0.0"]
    assert "not run" in by_check(evaluate(spec, core(), obs))["upstream-ping"].detail


def test_lab_skips_pings_the_lab_cannot_answer_and_says_so(spec: VerifySpec) -> None:
    obs = healthy_core()
    obs.pings = {}
    result = by_check(evaluate(spec, core(), obs, lab=True))["upstream-ping"]
    assert result.ok and result.skipped and "skipped in the lab" in result.detail
    assert ping_targets(spec, core(), lab=True) == {}
    assert ping_targets(spec, core(), lab=False) == {"upstream": "10.92.0.0"}
    # a target the lab emulates is pinged in the lab too
    assert ping_targets(spec, backhaul(), lab=True) == {"upstream": "10.90.0.1"}


def test_interface_down_or_absent_fails(spec: VerifySpec) -> None:
    obs = healthy_core()
    assert obs.interfaces is not None
    obs.interfaces["ether2"]["is_up"] = False
    del obs.interfaces["ether1"]
    result = by_check(evaluate(spec, core(), obs))["interfaces-up"]
    assert not result.ok and result.detail == "down: ether2; absent: ether1"


def test_pppoe_servers_disabled_fail(spec: VerifySpec) -> None:
    obs = healthy_core()
    obs.pppoe_servers = [{"interface": "vlan101-dusun-1", "disabled": "yes"}]
    result = by_check(evaluate(spec, core(), obs))["pppoe-server"]
    assert not result.ok and result.detail.startswith("0 of 2 PPPoE")
    obs.pppoe_servers = None
    obs.getter_errors["pppoe"] = "the x driver has no get_pppoe_servers"
    result = by_check(evaluate(spec, core(), obs))["pppoe-server"]
    assert not result.ok and "no get_pppoe_servers" in result.detail


def _radio_obs(rows: list[dict[str, Any]] | None) -> Observation:
    return Observation(
        hostname="bh-a",
        reachable=True,
        facts={"model": "PowerBeam-5AC-Gen2"},
        diff="",
        interfaces={"ath0": {"is_up": True, "is_enabled": True}},
        pings={"10.90.0.1": ping_ok()},
        wireless=rows,
    )


@pytest.mark.parametrize(
    ("rows", "ok", "needle"),
    [
        ([{"remote_hostname": "bh-b", "signal": -60}], True, "signal -60 dBm"),
        ([{"radio-name": "bh-b", "signal-strength": "-64dBm@6Mbps"}], True, "-64 dBm"),
        ([{"radio_name": "BH-B", "signal_dbm": -65}], False, "expected -58 dBm, margin 6 dB"),
        ([{"mac": "00:11", "signal": -50}], True, "bh-b registered"),  # the only station
        ([{"name": "x", "signal": -50}, {"name": "y", "signal": -50}], False, "not among 2"),
        ([], False, "bh-b not registered on ath0"),
        ([{"radio_name": "bh-b"}], False, "signal not reported"),
    ],
)
def test_radio_link(spec: VerifySpec, rows: list[dict[str, Any]], ok: bool, needle: str) -> None:
    result = by_check(evaluate(spec, backhaul(), _radio_obs(rows)))["radio-link"]
    assert result.ok is ok, result
    assert needle in result.detail


def test_radio_link_not_read_fails_and_sector_without_ptp_is_skipped(spec: VerifySpec) -> None:
    result = by_check(evaluate(spec, backhaul(), _radio_obs(None)))["radio-link"]
    assert not result.ok
    no_link = DeviceExpectation(**{**backhaul().__dict__, "radio": None})
    result = by_check(evaluate(spec, no_link, _radio_obs([])))["radio-link"]
    assert result.ok and result.skipped


def test_helpers() -> None:
    assert row_enabled({"enabled": "yes"}) and not row_enabled({"enabled": False})
    assert not row_enabled({"disabled": "true"}) and row_enabled({"interface": "x"})
    assert signal_dbm({"signal": "-71 dBm"}) == -71.0
    assert signal_dbm({"rssi": 40, "signal": True}) == 40.0
    assert signal_dbm({}) is None


def test_outcome_json() -> None:
    outcome = CheckOutcome("h", "converged", False, "1 difference(s)")
    assert outcome.to_json() == {
        "host": "h",
        "check": "converged",
        "ok": False,
        "detail": "1 difference(s)",
        "skipped": False,
    }


# --------------------------------------------------------------------------- expectations


def test_expectations_of_the_ptp_village(inv: Inventory) -> None:
    exp = village_expectations(inv, "lebung-itam")
    core_exp = exp["core-lebung-itam"]
    assert core_exp.targets["upstream"] == core_exp.targets["gateway-link"] == "10.92.0.0"
    assert core_exp.pppoe_servers == 2 and core_exp.hotspot_servers == 0
    assert core_exp.ports == ("ether1", "ether2", "ether3")
    a, b = exp["bh-lebung-itam-a"], exp["bh-lebung-itam-b"]
    assert a.radio == RadioPeer("bh-lebung-itam-b", "ath0", "LDS-BH-LEBUNG", -58)
    assert b.radio is not None and b.radio.peer == "bh-lebung-itam-a"
    # the uplink radio pair sits between the NOC and the gateway
    assert a.targets["upstream"] == a.targets["uplink-edge"]
    assert exp["sec-lebung-itam-1"].targets["upstream"] == "10.90.0.1"


def test_management_rank_orders_the_far_end_first(inv: Inventory) -> None:
    rank = {h: e.rank for h, e in village_expectations(inv, "lebung-itam").items()}
    assert rank == {
        "gw-lebung-itam": 0,
        "core-lebung-itam": -1,
        "sec-lebung-itam-1": -2,
        "sec-lebung-itam-2": -2,
        "bh-lebung-itam-b": 1,
        "bh-lebung-itam-a": 2,
    }
    rank = {h: e.rank for h, e in village_expectations(inv, "pematang-panggang").items()}
    # the sector behind the PtP hop is the farthest device of the village
    assert min(rank, key=lambda h: rank[h]) == "sec-pematang-3"
    assert rank["bh-pematang-b"] < rank["bh-pematang-a"] < rank["core-pematang"] < 0


def test_hotspot_expected_where_sold(inv: Inventory) -> None:
    exp = village_expectations(inv, "sukadana")["core-sukadana"]
    assert (exp.pppoe_servers, exp.hotspot_servers) == (2, 2)  # both hamlets sell hotspot
    exp = village_expectations(inv, "pematang-panggang")["core-pematang"]
    assert (exp.pppoe_servers, exp.hotspot_servers) == (3, 2)  # one hamlet sells none
    assert village_expectations(inv, "lebung-itam")["core-lebung-itam"].hotspot_servers == 0


# --------------------------------------------------------------------------- task helpers


def test_count_operations() -> None:
    from kopnet_iac.deploy.tasks import count_operations

    assert count_operations("") == 0
    assert count_operations("--- a\n+++ b\n-radio.1.freq=5745\n+radio.1.freq=5765\n") == 1
    assert count_operations("+a.b=1\n-c=2\n+c=3\n") == 2
    assert count_operations("core-x: 73 operation(s): 52 add, 21 change\n  /system\n") == 73
    script = "/system identity\nset name=x\n# comment\n/ip address\nadd address=1.2.3.4/32\n"
    assert count_operations(script) == 2


def test_getter_rows() -> None:
    from kopnet_iac.deploy.tasks import _rows

    assert _rows([{"a": 1}, "junk"]) == [{"a": 1}]
    assert _rows({"stations": [{"signal": -60}], "mode": "ap"}) == [{"signal": -60}]
    assert _rows({"vlan101": {"disabled": False}}) == [{"name": "vlan101", "disabled": False}]
    assert _rows({}) == [] and _rows(None) == []


def test_a_driver_without_ping_is_reported_as_skipped(spec: VerifySpec) -> None:
    obs = _radio_obs([{"remote_hostname": "bh-b", "signal_dbm": -57}])
    obs.pings["10.90.0.1"] = {"unsupported": "the kopnet_airos driver has no ping"}
    result = by_check(evaluate(spec, backhaul(), obs))["upstream-ping"]
    assert result.ok and result.skipped and "has no ping" in result.detail


def test_same_configuration_is_semantic() -> None:
    from kopnet_iac.deploy.intent import same_configuration

    before = "/system identity\nset name=x\n"
    after = "/system identity\nset name=x\n/ip service\nset telnet disabled=no\n"
    assert same_configuration("routeros", before, after)  # a default spelled out
    assert not same_configuration("routeros", before, "/system identity\nset name=y\n")
    assert same_configuration("airos", "a.b=1\nc=2\n", "c=2\na.b=1\n")
    assert not same_configuration("airos", "a.b=1\n", "a.b=2\n")
    assert same_configuration("linux", "x", "x") and not same_configuration("linux", "x", "y")


def test_masker_replaces_values_longest_first() -> None:
    from kopnet_iac.deploy.intent import Masker

    mask = Masker({"a": "canary-secret", "b": "canary-secret-long", "tiny": "ab"})
    assert mask("x canary-secret-long y canary-secret") == ("x @@secret:b@@ y @@secret:a@@")
    assert mask("ab") == "ab"  # too short to mask without mangling text
    assert "canary" not in repr(mask)


def _village(links: list[tuple[str, str]], uplink_port: str = "enp1s0") -> Any:
    from types import SimpleNamespace

    hosts = sorted({e.split(":")[0] for link in links for e in link} | {"gw", "lonely"})
    return SimpleNamespace(
        id="v",
        devices=[
            SimpleNamespace(hostname=h, role="gateway" if h == "gw" else "radio") for h in hosts
        ],
        links=[SimpleNamespace(a=a, b=b) for a, b in links],
        uplink=SimpleNamespace(gateway_port=uplink_port),
    )


def test_management_rank_of_a_synthetic_village() -> None:
    from kopnet_iac.deploy.expect import management_rank

    village = _village(
        [
            ("isp-radio:eth0", "gw-radio:ath0"),
            ("gw-radio:eth0", "gw:enp1s0"),  # the uplink side
            ("gw:enp2s0", "core:ether1"),
            ("core:ether2", "hop-a:ether1"),
            ("hop-a:wlan1", "hop-b:wlan1"),
            ("hop-b:ether1", "far:eth0"),
        ]
    )
    rank = management_rank(village)
    assert rank == {
        "gw": 0,
        "gw-radio": 1,
        "isp-radio": 2,
        "core": -1,
        "hop-a": -2,
        "hop-b": -3,
        "far": -4,
        "lonely": -5,  # linked to nothing: treated as the farthest
    }
    order = sorted(rank, key=lambda h: rank[h])
    assert order[0] == "lonely" and order[-1] == "isp-radio"


def test_a_village_without_a_gateway_cannot_be_ordered() -> None:
    from types import SimpleNamespace

    from kopnet_iac.deploy.expect import management_rank

    village = SimpleNamespace(
        id="v", devices=[], links=[], uplink=SimpleNamespace(gateway_port="x")
    )
    with pytest.raises(KopnetError, match="no device with role gateway"):
        management_rank(village)  # type: ignore[arg-type]
