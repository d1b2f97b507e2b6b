"""The intended state of a village for a deploy: rendered configs per device, secrets checked.

:func:`village_intent` renders every device (placeholders ``@@secret:NAME@@`` stay in place:
drivers substitute values at push time). :func:`preflight_secrets` resolves every secret the
intent needs *before* any device is touched, so a missing secret stops the deploy with nothing
applied, and returns a :class:`Masker` that takes any resolved value back out of text that is
shown, logged or stored (diffs, running configs, errors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kopnet_iac.errors import SecretError
from kopnet_iac.inventory.secrets import SecretResolver, placeholder, referenced_secrets

if TYPE_CHECKING:
    from kopnet_iac.inventory.loader import Inventory

#: inventory platform -> how the deploy drives it
NAPALM_PLATFORMS = ("routeros", "airos")


@dataclass(frozen=True)
class DeviceIntent:
    """One device's rendered intent. ``files`` maps build paths to text; ``config`` is the single
    file a NAPALM device gets (empty for the gateway, which gets ``files``)."""

    hostname: str
    platform: str
    role: str
    model: str
    credentials: str
    files: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> str:
        if self.platform not in NAPALM_PLATFORMS or len(self.files) != 1:
            return ""
        return next(iter(self.files.values()))

    def gateway_files(self) -> dict[str, str]:
        """``name -> text`` as the gateway role wants them (``bird.conf``, ...)."""
        prefix = f"{self.hostname}."
        return {Path(path).name.removeprefix(prefix): text for path, text in self.files.items()}


@dataclass(frozen=True)
class VillageIntent:
    village: str
    devices: dict[str, DeviceIntent]

    @property
    def rendered(self) -> dict[str, str]:
        """Every rendered file of the village, build path -> text (secrets as placeholders)."""
        return {path: text for d in self.devices.values() for path, text in d.files.items()}


def village_intent(
    inv: Inventory, village_id: str, *, rendered: Mapping[str, str] | None = None
) -> VillageIntent:
    """Render ``village_id`` (or take ``rendered``, build path -> text, e.g. a stored release)."""
    village = inv.village(village_id)
    if rendered is None:
        from kopnet_iac.render.renderer import render_inventory

        rendered = {a.path: a.text for a in render_inventory(inv, [village_id])}
    devices: dict[str, DeviceIntent] = {}
    for device in village.devices:
        files = {
            path: text
            for path, text in rendered.items()
            if Path(path).name.startswith(f"{device.hostname}.")
        }
        devices[device.hostname] = DeviceIntent(
            hostname=device.hostname,
            platform=inv.hardware_of(device).platform,
            role=device.role,
            model=device.model,
            credentials=device.credentials,
            files=files,
        )
    return VillageIntent(village=village_id, devices=devices)


class Masker:
    """Replaces known secret values in text by their placeholders (longest value first)."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        pairs = [(v, placeholder(k)) for k, v in (values or {}).items() if len(v) >= 3]
        self._pairs = sorted(pairs, key=lambda p: len(p[0]), reverse=True)

    def __call__(self, text: str) -> str:
        for value, marker in self._pairs:
            if value in text:
                text = text.replace(value, marker)
        return text

    def __repr__(self) -> str:  # never show values
        return f"Masker({len(self._pairs)} secrets)"


def preflight_secrets(
    inv: Inventory,
    intent: VillageIntent,
    hosts: list[str],
    *,
    credentials: bool,
    resolver: SecretResolver | None = None,
) -> tuple[dict[str, str], Masker]:
    """Resolve every secret ``hosts`` need (placeholders in their intent, and their login
    ``credentials`` when asked; without, the login secret is left to the caller, e.g. the lab's
    own password); SecretError naming village, host and step when one is missing.

    Returns the resolved values (name -> value, for the drivers) and a :class:`Masker`.
    """
    resolver = resolver or SecretResolver(inv)
    values: dict[str, str] = {}
    for hostname in hosts:
        device = intent.devices[hostname]
        names = set()
        for text in device.files.values():
            names |= referenced_secrets(text)
        if credentials:
            names.add(device.credentials)
        else:  # the lab's device password stands in for the login secret (the NOC account's)
            names.discard(device.credentials)
        for name in sorted(names - set(values)):
            try:
                values[name] = resolver.get(name)
            except SecretError as exc:
                raise SecretError(
                    f"{exc.message}; nothing was applied",
                    village=intent.village,
                    host=hostname,
                    step="preflight",
                ) from exc
    return values, Masker(values)


def same_configuration(platform: str, before: str, after: str) -> bool:
    """Whether two running configurations of a device are the same configuration.

    RouterOS: the engine's semantic equivalence (a revert may spell a default value that the
    export before omitted, ``/ip service set telnet disabled=no``); airOS: the same ``system.cfg``
    keys and values in any order; otherwise the same text.
    """
    if platform == "routeros":
        from kopnet_iac.platforms.routeros import equivalent, parse_export

        return bool(equivalent(parse_export(before, "before"), parse_export(after, "after")))
    if platform == "airos":
        from kopnet_iac.platforms.airos.syscfg import parse_system_cfg

        return parse_system_cfg(before) == parse_system_cfg(after)
    return before == after


__all__ = [
    "NAPALM_PLATFORMS",
    "DeviceIntent",
    "Masker",
    "VillageIntent",
    "preflight_secrets",
    "same_configuration",
    "village_intent",
]
