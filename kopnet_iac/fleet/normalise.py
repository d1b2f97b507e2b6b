"""A device's running configuration as it is kept in the backup history: stable from one read
to the next unless the configuration itself changed, and without a secret value.

- RouterOS: the export through the engine (parse, then emit terse: canonical quoting, one
  line per entry), the date header left out (the driver's ``get_config`` already does both;
  a raw export given here is normalised the same way);
- airOS: ``system.cfg`` lines sorted by key (the radio writes them in no fixed order);
- then, for both, the volatile lines of :data:`VOLATILE` dropped and every sensitive value
  masked with the release store's masking (:func:`kopnet_iac.state.redact.mask_secrets`).

Volatile lines are data: a pattern per platform.
"""

from __future__ import annotations

import re

from kopnet_iac.state.redact import mask_secrets

#: lines that change without a configuration change (times, counters, generated ids)
VOLATILE: dict[str, tuple[re.Pattern[str], ...]] = {
    "routeros": (
        re.compile(r"^# \w{3}/\d{2}/\d{4} \d{2}:\d{2}:\d{2} by RouterOS"),  # RouterOS 6 header
        re.compile(r"^# \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} by RouterOS"),  # RouterOS 7 header
        re.compile(r"^# (?:software id|serial number) ="),
    ),
    "airos": (
        re.compile(r"^system\.date(?:\.\w+)*="),
        re.compile(r"^system\.timestamp="),
    ),
}


def _routeros(text: str) -> str:
    from kopnet_iac.errors import KopnetError
    from kopnet_iac.platforms.routeros import emit, parse_export

    try:
        return emit(parse_export(text), terse=True)
    except KopnetError:  # not an export the engine reads: keep the text, still masked
        return text


def normalise(platform: str, text: str) -> str:
    """``text`` as stored in the backup history (see the module docstring).

    >>> normalise("airos", "users.1.password=$1$x$y\\nradio.1.freq=5765\\nsystem.date=2026\\n")
    'radio.1.freq=5765\\nusers.1.password=***\\n'
    """
    if platform == "routeros":
        text = _routeros(text)
    lines = text.replace("\r\n", "\n").split("\n")
    volatile = VOLATILE.get(platform, ())
    kept = [line.rstrip() for line in lines if not any(p.match(line) for p in volatile)]
    kept = [line for line in kept if line]
    if platform == "airos":
        kept.sort(key=lambda line: line.split("=", 1)[0])
    return mask_secrets("\n".join(kept) + "\n") if kept else ""


__all__ = ["VOLATILE", "normalise"]
