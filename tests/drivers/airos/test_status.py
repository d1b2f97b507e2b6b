"""status.cgi documents mapped to getter results (pure)."""

from __future__ import annotations

from kopnet_iac.drivers.airos import status

AIROS8 = {
    "host": {"hostname": "sec-x", "devmodel": "Rocket 5AC Prism", "fwversion": "v8.7.11",
             "uptime": 3600, "netrole": "bridge"},
    "wireless": {
        "mode": "ap-ptmp", "essid": "LDS-SEC", "frequency": 5805, "chanbw": 20,
        "countrycode": 360, "polling": {"capacity": 120},
        "sta": [
            {"mac": "aa:bb:cc:dd:ee:ff", "signal": -63, "tx_rate": 130, "rx_rate": 117,
             "airmax": {"quality": 91, "capacity": 77}, "remote": {"hostname": "cpe-1"}},
            {"mac": "aa:bb:cc:dd:ee:00", "signal": "-70", "ccq": 64},
        ],
    },
    "interfaces": [
        {"ifname": "eth0", "hwaddr": "fc:ec:da:00:00:01", "enabled": True, "mtu": 1500,
         "status": {"plugged": True, "speed": 100}},
        {"ifname": "ath0", "hwaddr": "fc:ec:da:00:00:02", "enabled": False,
         "status": {"plugged": False}},
    ],
}  # fmt: skip


def test_facts_and_interfaces() -> None:
    facts = status.facts(AIROS8, {"board.hwaddr": "FCECDA000001"})
    assert facts["model"] == "Rocket 5AC Prism" and facts["uptime"] == 3600.0
    assert facts["serial_number"] == "FCECDA000001" and facts["vendor"] == "Ubiquiti"
    assert status.facts({}, None)["hostname"] == ""
    interfaces = status.interfaces(AIROS8)
    assert interfaces["eth0"] == {
        "is_up": True,
        "is_enabled": True,
        "description": "",
        "last_flapped": -1.0,
        "speed": 100.0,
        "mtu": 1500,
        "mac_address": "FC:EC:DA:00:00:01",
    }
    assert not interfaces["ath0"]["is_up"] and not interfaces["ath0"]["is_enabled"]
    assert interfaces["ath0"]["speed"] == 0.0


def test_wireless_link_airos8_and_airos6_fields() -> None:
    link = status.wireless_link(AIROS8)
    assert (link["mode"], link["access_point"], link["ptp"]) == ("ap-ptmp", True, False)
    assert link["capacity_mbps"] == 120.0 and link["channel_width_mhz"] == 20
    first, second = link["stations"]
    assert first["ccq_percent"] == 91 and first["capacity_percent"] == 77
    assert first["remote_hostname"] == "cpe-1" and first["mac"] == "AA:BB:CC:DD:EE:FF"
    assert second["signal_dbm"] == -70 and second["ccq_percent"] == 64
    assert second["capacity_percent"] is None and second["remote_hostname"] == ""
    station_mode = status.wireless_link({"wireless": {"mode": "sta-ptp"}})
    assert not station_mode["access_point"] and station_mode["ptp"]
    assert station_mode["stations"] == []
