"""Examples of the right form for values written with units (schema errors get them appended).

An engineer writes ``frequency: 5745.5`` or ``download: 7 Mbps``; the bare schema message says
what is wrong, the hint shows what to write instead.

>>> unit_hint(("plans", 0, "download"), "string_pattern_mismatch", "7 Mbps")
'write a rate as a whole number with an optional k, M or G suffix, no space or unit: 7M'
>>> unit_hint(("hamlets", 0, "sectors", 0, "frequency"), "int_from_float", 5745.5)
'frequencies are whole MHz (the channel centre), e.g. 5745'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_RATE_WORDS = re.compile(r"^\s*([0-9]+)\s*([kKmMgG])?(?:bit|b)?(?:ps|/s)?\s*$")
_RATE_FIELDS = frozenset({"download", "upload"})
_UNIT_TYPES = frozenset(
    {
        "int_from_float",
        "int_parsing",
        "int_type",
        "float_parsing",
        "float_type",
        "string_pattern_mismatch",
        "literal_error",
        "greater_than_equal",
        "less_than_equal",
        "greater_than",
        "less_than",
    }
)


def _rate_example(value: Any) -> str:
    m = _RATE_WORDS.match(str(value))
    if m is None:
        return "e.g. 10M (10 Mbit/s) or 512k"
    suffix = (m.group(2) or "").upper().replace("K", "k")
    return f"{m.group(1)}{suffix}"


def _whole(value: Any, default: int) -> int:
    try:
        number = float(str(value).split()[0].replace(",", "."))
    except (ValueError, IndexError):
        return default
    if number < 10:  # GHz written for MHz (5.745)
        number *= 1000
    return round(number)


_MISSING = {
    "distance_km": "the radio path length in km, e.g. distance_km: 7.5 (it sets RouterOS "
    "nv2-cell-radius and the airOS ack distance)",
    "range_km": "the distance to the farthest subscriber in km, e.g. range_km: 3 (it sets "
    "RouterOS nv2-cell-radius and the airOS ack distance)",
}


def unit_hint(loc: Sequence[str | int], kind: str, value: Any) -> str | None:
    """A hint for a schema error at ``loc`` of pydantic error type ``kind``, or None."""
    if loc and kind == "missing":
        return _MISSING.get(str(loc[-1]))
    if not loc or kind not in _UNIT_TYPES:
        return None
    name = str(loc[-1])
    if name in _RATE_FIELDS and kind == "string_pattern_mismatch":
        return (
            "write a rate as a whole number with an optional k, M or G suffix, no space or "
            f"unit: {_rate_example(value)}"
        )
    if name == "frequency":
        example = _whole(value, 5745) if kind in ("int_from_float", "int_parsing") else 5745
        example = 5 * round(example / 5)  # channel centres sit on a 5 MHz raster
        if not 2400 <= example <= 6000:
            example = 5745
        return f"frequencies are whole MHz (the channel centre), e.g. {example}"
    if name in ("channel_width", "max_channel_width"):
        return "channel widths are MHz: 10, 20, 40 or 80, e.g. 20"
    if name == "bandwidth_mbps":
        return f"write whole Mbit/s without a unit, e.g. {_whole(value, 100)}"
    if name in ("distance_km", "range_km"):
        return "write kilometres as a number without a unit, e.g. 7.5"
    if name in ("vlan", "management_vlan"):
        return "a VLAN id is a whole number from 2 to 4094, e.g. 101"
    return None
