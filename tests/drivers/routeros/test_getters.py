"""Getters through nornir_napalm's napalm_get: napalm-ros' reused ones and the new ones."""

from __future__ import annotations

from typing import Any

from napalm.base import models
from napalm.base.test.helpers import test_model as check_model
from nornir_napalm.plugins.tasks import napalm_configure, napalm_get

from kopnet_iac.lab.routeros.device import RouterOSDevice

from .conftest import Lab, make_driver, nornir_for, start_router
from .test_nornir_flow import SECRETS, run_ok, village_config


def test_napalm_ros_getters_are_reused(router: RouterOSDevice) -> None:
    nr = nornir_for(router)
    result = run_ok(
        nr,
        napalm_get,
        getters=["facts", "interfaces", "interfaces_ip", "arp_table", "users", "config"],
    ).result
    facts = result["facts"]
    assert check_model(models.FactsDict, facts)
    assert facts["model"] == router.spec.model and facts["serial_number"] == "HE10TEST001"
    assert all(check_model(models.InterfaceDict, v) for v in result["interfaces"].values())
    assert "admin" in result["users"]
    running = result["config"]["running"]
    assert running.startswith("# by RouterOS ") and "\n# 20" not in running  # no date line
    nr.close_connections()


def test_verification_getters_after_a_village_deploy(router: RouterOSDevice) -> None:
    nr = nornir_for(router, secrets=SECRETS)
    run_ok(nr, napalm_configure, configuration=village_config(), replace=True, revert_in=120)
    got: dict[str, Any] = run_ok(
        nr,
        napalm_get,
        getters=["get_pppoe_servers", "get_hotspot_servers", "get_scheduler_jobs"],
    ).result
    pppoe = got["get_pppoe_servers"]
    assert set(pppoe) == {"vlan101-dusun-1", "vlan102-dusun-2"}
    server = pppoe["vlan101-dusun-1"]
    assert server["enabled"] and server["service_name"] == "kopnet-sukadana"
    assert server["default_profile"] == "hemat-5" and server["authentication"] == [
        "pap",
        "chap",
        "mschap2",
    ]
    assert server["active_sessions"] == 0
    hotspot = got["get_hotspot_servers"]
    assert hotspot["hs-dusun-1"]["enabled"] and hotspot["hs-dusun-1"]["profile"] == "hsprof-kopnet"
    jobs = got["get_scheduler_jobs"]
    job = jobs["kopnet-revert"]  # the commit is still pending
    assert job["enabled"] and job["interval_s"] == 120 and "kopnet-revert.rsc" in job["on_event"]
    nr.close_connections()


def test_wireless_registrations(lab: Lab) -> None:
    radio = start_router(lab, wireless=True, ports=("ether1", "wlan1"))
    assert radio.router.interpreter is not None
    lab.loop.run(
        radio.router.interpreter.run_text(
            "/interface wireless set [ find default-name=wlan1 ] disabled=no\n", source="t"
        )
    )
    drv = make_driver(radio)
    drv.open()
    stations = drv.get_wireless_registrations()
    assert len(stations) == 1
    station = stations[0]
    assert station["interface"] == "wlan1" and station["signal_dbm"] == -58
    assert 0 < station["tx_ccq"] <= 100 and station["tx_rate_mbps"] == 130.0
    assert drv.get_hotspot_servers() == {} and drv.get_pppoe_servers() == {}
    drv.close()
