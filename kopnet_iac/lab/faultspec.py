"""Changing a device's :class:`Faults` from the CLI and the control channel.

A change set is a dict with any of these keys (all optional)::

    latency_ms, jitter_ms (per command: a slow device), stall_seconds,
    link_rtt_ms, link_jitter_ms, link_loss_burst_ms, link_loss_every_s, link_kbps, link_nagle
    (the link in front of the device, see kopnet_iac.lab.wire), geo (a GEO link: 600 ms RTT),
    drop_after_commands, drop_at_pattern, trap_pattern, trap_message,
    refuse_login, disk_full, scheduler_disabled, boot_seconds (slow boot),
    link_down: [port, ...], link_up: [port, ...], clear (reset everything first),
    reboot (reboot the device now; handled by the daemon)

``--fault HOST:SPEC`` on ``kopnet lab up`` uses a compact text form of the same keys:
``core-x:rtt=600,loss-burst=1500,loss-every=20,latency=50,trap=/ip address*,link-down=ether2``.
"""

from __future__ import annotations

from typing import Any

from kopnet_iac.errors import LabError
from kopnet_iac.lab.faults import Faults

GEO_RTT_MS = 600.0
GEO_JITTER_MS = 20.0

LINK_FIELDS = (
    "link_rtt_ms",
    "link_jitter_ms",
    "link_loss_burst_ms",
    "link_loss_every_s",
    "link_kbps",
    "link_nagle",
)
_FLOATS = {"latency_ms", "jitter_ms", "stall_seconds", "boot_seconds", *LINK_FIELDS[:-1]}
_BOOLS = {"refuse_login", "disk_full", "scheduler_disabled", "geo", "clear", "reboot", "link_nagle"}
_STRINGS = {"drop_at_pattern", "trap_pattern", "trap_message"}
_LISTS = {"link_down", "link_up"}
_INTS = {"drop_after_commands"}
KNOWN = _FLOATS | _BOOLS | _STRINGS | _LISTS | _INTS

# short names accepted in the text form
_ALIASES = {
    "latency": "latency_ms",
    "jitter": "jitter_ms",
    "stall": "stall_seconds",
    "drop-after": "drop_after_commands",
    "drop-at": "drop_at_pattern",
    "trap": "trap_pattern",
    "trap-message": "trap_message",
    "refuse-login": "refuse_login",
    "disk-full": "disk_full",
    "scheduler-disabled": "scheduler_disabled",
    "slow-boot": "boot_seconds",
    "link-down": "link_down",
    "link-up": "link_up",
    "rtt": "link_rtt_ms",
    "link-rtt": "link_rtt_ms",
    "link-jitter": "link_jitter_ms",
    "loss-burst": "link_loss_burst_ms",
    "loss-every": "link_loss_every_s",
    "kbps": "link_kbps",
    "link-kbps": "link_kbps",
    "nagle": "link_nagle",
}


def parse_fault_spec(text: str) -> tuple[str, dict[str, Any]]:
    """Parse ``HOST:key=value,flag,...`` into the host and a change set."""
    host, sep, rest = text.partition(":")
    if not sep or not host:
        raise LabError(f"fault {text!r}: expected HOST:SPEC")
    changes: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        name, has_value, value = item.partition("=")
        key = _ALIASES.get(name, name.replace("-", "_"))
        if key not in KNOWN:
            raise LabError(f"fault {text!r}: unknown setting {name!r}")
        if key in _BOOLS:
            changes[key] = value.lower() not in ("0", "no", "false") if has_value else True
        elif not has_value:
            raise LabError(f"fault {text!r}: {name} needs a value")
        elif key in _LISTS:
            changes.setdefault(key, []).append(value)
        else:
            changes[key] = value
    return host, validate_changes(changes)


def validate_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Check keys and coerce types; raises :class:`LabError` on anything else."""
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in KNOWN:
            raise LabError(f"unknown fault setting {key!r}")
        try:
            if key in _FLOATS:
                number = float(value)
                if number < 0:
                    raise ValueError("negative")
                clean[key] = number
            elif key in _INTS:
                count = int(value)
                if count < 0:
                    raise ValueError("negative")
                clean[key] = count
            elif key in _BOOLS:
                if not isinstance(value, bool):
                    raise ValueError("not a boolean")
                clean[key] = value
            elif key in _LISTS:
                if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                    raise ValueError("not a list of port names")
                clean[key] = list(value)
            else:
                if not isinstance(value, str):
                    raise ValueError("not a string")
                clean[key] = value
        except (TypeError, ValueError) as exc:
            raise LabError(f"fault setting {key}={value!r}: {exc}") from exc
    return clean


def apply_changes(faults: Faults, changes: dict[str, Any]) -> None:
    """Apply a validated change set in place (``reboot`` is the caller's business)."""
    if changes.get("clear"):
        fresh = Faults()
        for name in (
            "latency_ms",
            "jitter_ms",
            "stall_seconds",
            "drop_after_commands",
            "drop_at_pattern",
            "trap_pattern",
            "trap_message",
            "refuse_login",
            "disk_full",
            "scheduler_disabled",
            "boot_seconds",
            *LINK_FIELDS,
        ):
            setattr(faults, name, getattr(fresh, name))
        faults.links_down.clear()
    if changes.get("geo"):
        faults.link_rtt_ms = GEO_RTT_MS
        faults.link_jitter_ms = GEO_JITTER_MS
    for key, value in changes.items():
        if key in ("clear", "geo", "reboot", "link_down", "link_up"):
            continue
        setattr(faults, key, value)
    faults.links_down.update(changes.get("link_down", ()))
    faults.links_down.difference_update(changes.get("link_up", ()))


def describe(faults: Faults) -> dict[str, Any]:
    """The active (non-default) fault settings, JSON-ready."""
    fresh = Faults()
    active: dict[str, Any] = {}
    for name in (
        "latency_ms",
        "jitter_ms",
        "stall_seconds",
        "drop_after_commands",
        "drop_at_pattern",
        "trap_pattern",
        "refuse_login",
        "disk_full",
        "scheduler_disabled",
        "boot_seconds",
        *LINK_FIELDS,
    ):
        value = getattr(faults, name)
        if value != getattr(fresh, name):
            active[name] = value
    if faults.trap_pattern and faults.trap_message != fresh.trap_message:
        active["trap_message"] = faults.trap_message
    if faults.links_down:
        active["links_down"] = sorted(faults.links_down)
    return active
