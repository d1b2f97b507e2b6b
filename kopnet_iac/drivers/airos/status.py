"""airOS ``status.cgi`` documents as NAPALM getter results. Pure functions.

Field names follow airOS 8's ``status.cgi``: ``host`` (hostname, devmodel, fwversion, uptime),
``wireless`` (mode, essid, frequency, chanbw, sta[] with signal, ccq or airmax quality/capacity,
rates), ``interfaces`` (ifname, hwaddr, enabled, status.plugged/speed/mtu).
"""

from __future__ import annotations

from typing import Any

VENDOR = "Ubiquiti"


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def facts(status: dict[str, Any], board: dict[str, str] | None = None) -> dict[str, Any]:
    """NAPALM ``get_facts``."""
    host = status.get("host", {})
    board = board or {}
    return {
        "hostname": str(host.get("hostname", "")),
        "fqdn": str(host.get("hostname", "")),
        "vendor": VENDOR,
        "model": str(host.get("devmodel") or board.get("board.name", "")),
        "os_version": str(host.get("fwversion", "")),
        "serial_number": str(board.get("board.hwaddr") or host.get("serialno", "")),
        "uptime": float(_int(host.get("uptime"))),
        "interface_list": [str(i.get("ifname", "")) for i in status.get("interfaces", [])],
    }


def interfaces(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """NAPALM ``get_interfaces``."""
    out: dict[str, dict[str, Any]] = {}
    for item in status.get("interfaces", []):
        state = item.get("status", {})
        out[str(item.get("ifname", ""))] = {
            "is_up": bool(state.get("plugged")),
            "is_enabled": bool(item.get("enabled", True)),
            "description": "",
            "last_flapped": -1.0,
            "speed": float(_int(state.get("speed"))),
            "mtu": _int(item.get("mtu", state.get("mtu")), 1500),
            "mac_address": str(item.get("hwaddr", "")).upper(),
        }
    return out


def wireless_link(status: dict[str, Any]) -> dict[str, Any]:
    """The radio link, see :meth:`AirOSDriver.get_wireless_link` for the shape."""
    wireless = status.get("wireless", {})
    mode = str(wireless.get("mode", ""))
    stations = []
    for sta in wireless.get("sta", []):
        airmax = sta.get("airmax") or {}
        ccq = sta.get("ccq", airmax.get("quality"))
        stations.append(
            {
                "mac": str(sta.get("mac", "")).upper(),
                "signal_dbm": _int(sta.get("signal")),
                "ccq_percent": None if ccq is None else _int(ccq),
                "capacity_percent": (
                    None if airmax.get("capacity") is None else _int(airmax.get("capacity"))
                ),
                "tx_rate_mbps": float(sta.get("tx_rate", 0) or 0),
                "rx_rate_mbps": float(sta.get("rx_rate", 0) or 0),
                "remote_hostname": str((sta.get("remote") or {}).get("hostname", "")),
            }
        )
    polling = wireless.get("polling") or {}
    return {
        "mode": mode,
        "access_point": mode.startswith("ap"),
        "ptp": mode.endswith("-ptp"),
        "ssid": str(wireless.get("essid", "")),
        "frequency_mhz": _int(wireless.get("frequency")),
        "channel_width_mhz": _int(wireless.get("chanbw")),
        "country_code": _int(wireless.get("countrycode")),
        "capacity_mbps": float(polling.get("capacity", 0) or 0),
        "stations": stations,
    }
