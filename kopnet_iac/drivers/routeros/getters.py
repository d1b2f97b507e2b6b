"""Shapes of the getters verification needs, built from API print rows (pure functions).

RouterOS prints booleans as ``true``/``false`` over the API, durations as ``1d2h3m4s``,
signal as ``-58dBm@6Mbps`` (or ``-58``), CCQ as a percentage and rates as ``130Mbps`` or
``130Mbps-20MHz/2S``. The getters turn those into plain numbers.
"""

from __future__ import annotations

import re
from typing import Any

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|w|d|h|m|s)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def parse_duration(text: str) -> float:
    """Seconds in a RouterOS duration.

    >>> parse_duration("1d2h3m4s"), parse_duration("00:01:30"), parse_duration("250ms")
    (93784.0, 90.0, 0.25)
    """
    text = (text or "").strip()
    if not text:
        return 0.0
    if ":" in text:
        total = 0.0
        days = 0.0
        if "d" in text:  # "1d 02:00:00"
            head, _, text = text.partition("d")
            days = float(head.strip() or 0)
        for part in text.strip().split(":"):
            total = total * 60 + float(part or 0)
        return days * 86400 + total
    if text.replace(".", "", 1).isdigit():
        return float(text)
    return sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(text))


def _number(text: str | None) -> float | None:
    if not text:
        return None
    m = _NUMBER.search(text)
    return float(m.group()) if m else None


def _int(text: str | None) -> int | None:
    value = _number(text)
    return int(value) if value is not None else None


def _true(text: str | None) -> bool:
    return (text or "").lower() in ("true", "yes")


def pppoe_servers(rows: list[dict[str, str]], active: list[dict[str, str]]) -> dict[str, Any]:
    """``{interface: {service_name, enabled, default_profile, authentication, max_mtu,
    max_mru, keepalive_timeout, one_session_per_host, active_sessions}}``, one per
    ``/interface pppoe-server server`` entry (sessions counted from ``/ppp active``)."""
    sessions: dict[str, int] = {}
    for row in active:
        if row.get("service", "pppoe") == "pppoe":
            key = row.get("interface") or row.get("caller-id", "")
            sessions[key] = sessions.get(key, 0) + 1
    out: dict[str, Any] = {}
    for row in rows:
        iface = row.get("interface", "")
        out[iface] = {
            "service_name": row.get("service-name", ""),
            "enabled": not _true(row.get("disabled")),
            "default_profile": row.get("default-profile", "default"),
            "authentication": [a for a in row.get("authentication", "").split(",") if a],
            "max_mtu": _int(row.get("max-mtu")),
            "max_mru": _int(row.get("max-mru")),
            "keepalive_timeout": _int(row.get("keepalive-timeout")),
            "one_session_per_host": _true(row.get("one-session-per-host")),
            "active_sessions": sessions.get(iface, 0),
        }
    return out


def hotspot_servers(rows: list[dict[str, str]]) -> dict[str, Any]:
    """``{name: {interface, enabled, profile, address_pool, invalid}}`` from ``/ip hotspot``."""
    return {
        row.get("name", ""): {
            "interface": row.get("interface", ""),
            "enabled": not _true(row.get("disabled")),
            "profile": row.get("profile", "default"),
            "address_pool": row.get("address-pool", ""),
            "invalid": _true(row.get("invalid")),
        }
        for row in rows
    }


def wireless_registrations(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """One dict per station of ``/interface wireless registration-table``:
    ``interface``, ``mac_address`` (upper case), ``radio_name``, ``signal_dbm`` (int or
    None), ``signal_to_noise_db``, ``tx_ccq``/``rx_ccq`` (percent or None), ``tx_rate_mbps``/
    ``rx_rate_mbps`` (float or None), ``uptime_s`` (float)."""
    out = []
    for row in rows:
        out.append(
            {
                "interface": row.get("interface", ""),
                "mac_address": row.get("mac-address", "").upper(),
                "radio_name": row.get("radio-name", ""),
                "signal_dbm": _int(row.get("signal-strength")),
                "signal_to_noise_db": _int(row.get("signal-to-noise")),
                "tx_ccq": _int(row.get("tx-ccq")),
                "rx_ccq": _int(row.get("rx-ccq")),
                "tx_rate_mbps": _number(row.get("tx-rate")),
                "rx_rate_mbps": _number(row.get("rx-rate")),
                "uptime_s": parse_duration(row.get("uptime", "")),
            }
        )
    return out


def scheduler_jobs(rows: list[dict[str, str]]) -> dict[str, Any]:
    """``{name: {enabled, interval_s, start_time, next_run, run_count, on_event, comment}}``
    from ``/system scheduler`` (``next_run`` as RouterOS prints it, ``""`` when none)."""
    return {
        row.get("name", ""): {
            "enabled": not _true(row.get("disabled")),
            "interval_s": parse_duration(row.get("interval", "0s")),
            "start_time": row.get("start-time", ""),
            "next_run": row.get("next-run", ""),
            "run_count": _int(row.get("run-count")) or 0,
            "on_event": row.get("on-event", ""),
            "comment": row.get("comment", ""),
        }
        for row in rows
    }
