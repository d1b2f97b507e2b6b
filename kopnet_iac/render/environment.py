"""The Jinja2 environment every template renders in, and the filters it offers."""

from __future__ import annotations

import math
import re
import threading
from pathlib import Path
from typing import Any

import jinja2

_RATE = re.compile(r"^([0-9]+)([kKMG]?)$")
_UNITS = {"": 1, "k": 1_000, "K": 1_000, "M": 1_000_000, "G": 1_000_000_000}

# POSIX TZ strings for airOS (it has no zoneinfo database); Indonesia has no DST.
POSIX_TZ = {
    "Asia/Jakarta": "WIB-7",
    "Asia/Pontianak": "WIB-7",
    "Asia/Makassar": "WITA-8",
    "Asia/Jayapura": "WIT-9",
    "UTC": "UTC0",
}


def rate_bps(rate: str) -> int:
    """``"15M"`` -> 15000000 bits/s.

    >>> rate_bps("750k")
    750000
    """
    match = _RATE.match(rate)
    if match is None:
        raise ValueError(f"not a rate: {rate!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def format_rate(bps: int) -> str:
    """Shortest exact RouterOS rate: 7500000 -> ``7500k``, 15000000 -> ``15M``.

    >>> format_rate(11250000), format_rate(5000000), format_rate(999)
    ('11250k', '5M', '999')
    """
    for suffix, factor in (("G", 1_000_000_000), ("M", 1_000_000), ("k", 1_000)):
        if bps >= factor and bps % factor == 0:
            return f"{bps // factor}{suffix}"
    return str(bps)


def rate_percent(rate: str, percent: int) -> str:
    """``percent`` of a rate, for burst thresholds.

    >>> rate_percent("10M", 75)
    '7500k'
    """
    return format_rate(rate_bps(rate) * percent // 100)


def nv2_cell_radius(km: float | None) -> int:
    """RouterOS ``nv2-cell-radius`` (whole km, 10-200) covering ``km``; None: the default 30.

    >>> nv2_cell_radius(7.5), nv2_cell_radius(42.1), nv2_cell_radius(None)
    (10, 43, 30)
    """
    if km is None:
        return 30
    return min(200, max(10, math.ceil(km)))


def ack_distance_m(km: float | None) -> int:
    """airOS ``radio.1.ackdistance`` (metres, rounded up to 100 m, at least 1 km).

    >>> ack_distance_m(7.5), ack_distance_m(0.35), ack_distance_m(4.21)
    (7500, 1000, 4300)
    """
    if km is None:
        return 10_000
    return max(1000, math.ceil(km * 10) * 100)


def posix_tz(name: str) -> str:
    """A POSIX TZ string for an IANA zone used in Indonesia (airOS ``system.timezone``)."""
    try:
        return POSIX_TZ[name]
    except KeyError as exc:
        raise ValueError(f"no POSIX TZ known for time zone {name!r}") from exc


def ros_quote(value: Any) -> str:
    """Quote a value for a RouterOS script when it needs it (secret placeholders always are,
    so a substituted value with spaces stays one word).

    >>> ros_quote("ether1"), ros_quote("Desa Sukadana"), ros_quote('a"b$c')
    ('ether1', '"Desa Sukadana"', '"a\\\\"b\\\\$c"')
    """
    text = str(value)
    if text and re.fullmatch(r"[A-Za-z0-9_.:/@,+-]+", text) and not text.startswith("@@"):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


class CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates shared by every environment of the process.

    Jinja keys a template by its name and file and checks the checksum of its source before
    reusing the code, so an edited template is compiled again. Deploys of many villages in one
    process (a fleet rollout) each build a renderer; without this each compiled every template
    again, which was most of a deploy's own CPU time.
    """

    def __init__(self) -> None:
        self._code: dict[str, tuple[str, Any]] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with self._lock:
            hit = self._code.get(bucket.key)
        if hit is not None and hit[0] == bucket.checksum:
            bucket.code = hit[1]

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with self._lock:
            self._code[bucket.key] = (bucket.checksum, bucket.code)

    def clear(self) -> None:
        with self._lock:
            self._code.clear()


COMPILED = CompiledTemplates()


def make_environment(templates_dir: Path) -> jinja2.Environment:
    """A strict environment: undefined variables are errors, output is byte-stable.

    Compiled templates are cached by the environment (``cache_size=-1``: never evicted), so
    one environment should render a whole fleet, and by the process (:data:`COMPILED`) across
    environments.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        cache_size=-1,
        auto_reload=False,
        bytecode_cache=COMPILED,
    )
    env.filters["rate_bps"] = rate_bps
    env.filters["rate_percent"] = rate_percent
    env.filters["posix_tz"] = posix_tz
    env.filters["q"] = ros_quote
    env.filters["nv2_cell_radius"] = nv2_cell_radius
    env.filters["ack_distance_m"] = ack_distance_m
    return env
