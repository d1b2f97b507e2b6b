"""Comparable spellings of typed RouterOS values (pure, cached helpers for the normaliser).

RouterOS stores typed values and prints them its own way, so a config typed one way and
exported by the router another way must compare equal:

* durations: ``1h`` == ``60m`` == ``3600s`` == ``01:00:00`` == ``3600`` (plain numbers are
  seconds); ``0.2s`` == ``200ms``;
* host prefixes: ``10.0.0.1/32`` == ``10.0.0.1`` (``/128`` for IPv6), as an export prints a
  host address without its prefix length;
* MAC addresses: case does not count.

>>> duration("1d10m"), duration("00:05:00"), duration("200ms"), duration("auto")
('87000', '300', '0.2', 'auto')
>>> host("10.0.0.1/32"), host("10.0.0.0/24"), mac("4c:5e:0c:a4:f9:29")
('10.0.0.1', '10.0.0.0/24', '4C:5E:0C:A4:F9:29')
"""

from __future__ import annotations

import functools
import re

_UNIT = re.compile(r"(\d+(?:\.\d+)?)(ms|us|w|d|h|m|s)")
_UNITS = {
    "us": 0.000001,
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_CLOCK = re.compile(r"(?:(\d+)d ?)?(\d+):(\d{1,2})(?::(\d{1,2}(?:\.\d+)?))?\Z")
_NUMBER = re.compile(r"\d+(?:\.\d+)?\Z")
_MAC = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}\Z")


def _text(seconds: float) -> str:
    seconds = round(seconds, 6)
    return str(int(seconds)) if seconds == int(seconds) else repr(seconds)


@functools.lru_cache(maxsize=4096)
def duration(value: str) -> str:
    """Seconds as text, or ``value`` unchanged when it is not a duration."""
    if _NUMBER.match(value):
        return _text(float(value))
    m = _CLOCK.match(value)
    if m:
        days, hours, minutes, secs = m.groups()
        total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60
        return _text(total + float(secs or 0))
    if not value or _UNIT.sub("", value):
        return value
    return _text(sum(float(n) * _UNITS[u] for n, u in _UNIT.findall(value)))


def host(value: str) -> str:
    """A host prefix without its length; anything else unchanged."""
    if value.endswith("/32") and "." in value and "," not in value:
        return value[:-3]
    if value.endswith("/128") and ":" in value and "," not in value:
        return value[:-4]
    return value


def mac(value: str) -> str:
    return value.upper() if _MAC.match(value) else value
