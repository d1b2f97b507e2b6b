"""Day-0 bootstrap of a replaced device, computed from its intended configuration (pure).

A factory-fresh device only needs enough configuration to be reached and managed from the NOC:
its identity, the management VLAN and address, the NOC account with its SSH key and hardened
services. Which parts of the intended configuration that is, per platform, is data
(``day0.yaml``); the full configuration follows through the normal deploy transaction.

* RouterOS: the day-0 menus of the rendered ``.rsc``, run by the device itself after a
  ``/system reset-configuration no-defaults=yes run-after-reset=...`` (a clean slate without
  the MikroTik defconf, as netinstall leaves it). The script removes itself at its end.
* airOS: the factory ``system.cfg`` with the day-0 keys of the rendered one laid over it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from kopnet_iac.errors import KopnetError, SecretError
from kopnet_iac.inventory.secrets import PLACEHOLDER_RE

DAY0_FILE = "kopnet-day0.rsc"
KEY_FILE_PREFIX = "kopnet-day0-key"
SSH_KEY_COMMENT = re.compile(r"^#\s*ssh-key\s+user=(\S+)\s+(.+)$")


@dataclass(frozen=True)
class Day0Rules:
    """What a day-0 bootstrap keeps of the intended configuration, per platform."""

    routeros_paths: tuple[str, ...]
    airos_prefixes: tuple[str, ...]
    routeros_fresh_identity: str
    airos_factory_user: str


@cache
def load_rules(path: Path | None = None) -> Day0Rules:
    """The rules of ``day0.yaml`` next to this module (or ``path``)."""
    source = path or Path(__file__).with_name("day0.yaml")
    data: Any = yaml.safe_load(source.read_text(encoding="utf-8"))
    return Day0Rules(
        routeros_paths=tuple(str(p) for p in data["routeros"]["paths"]),
        airos_prefixes=tuple(str(p) for p in data["airos"]["prefixes"]),
        routeros_fresh_identity=str(data["routeros"]["fresh_identity"]),
        airos_factory_user=str(data["airos"]["factory_user"]),
    )


def _section(line: str) -> str | None:
    """``/interface vlan`` → ``interface vlan`` for a section header line, else None."""
    stripped = line.strip()
    if not stripped.startswith("/") or "=" in stripped:
        return None
    words = stripped[1:].split()
    if any(w in ("add", "set", "remove") for w in words):
        return None
    return " ".join(words)


def routeros_ssh_keys(intended: str) -> list[tuple[str, str]]:
    """``(user, public key line)`` of the ``# ssh-key user=...`` lines of a rendered .rsc."""
    keys = []
    for line in intended.splitlines():
        match = SSH_KEY_COMMENT.match(line.strip())
        if match:
            keys.append((match.group(1), match.group(2).strip()))
    return keys


def routeros_day0(intended: str, rules: Day0Rules | None = None) -> str:
    """The day-0 script: the day-0 sections of ``intended`` (placeholders kept), in their
    order, then the import of the SSH keys uploaded beside it, then its own removal."""
    rules = rules or load_rules()
    keep = set(rules.routeros_paths)
    out: list[str] = ["# kopnet day-0 bootstrap (run after reset-configuration no-defaults=yes)"]
    current: str | None = None
    for line in intended.splitlines():
        header = _section(line)
        if header is not None:
            current = header
            if current in keep:
                out.append(line.strip())
            continue
        if line.lstrip().startswith("#") or not line.strip():
            continue
        if current in keep:
            out.append(line)
    for index, (user, _key) in enumerate(routeros_ssh_keys(intended)):
        out.append(
            f"/user ssh-keys import public-key-file={KEY_FILE_PREFIX}{index}.pub user={user}"
        )
    out.append(f"/file remove [ find where name={DAY0_FILE} ]")
    return "\n".join(out) + "\n"


def routeros_key_files(intended: str) -> dict[str, str]:
    """File name → contents of the SSH public keys the day-0 script imports."""
    return {
        f"{KEY_FILE_PREFIX}{index}.pub": key + "\n"
        for index, (_user, key) in enumerate(routeros_ssh_keys(intended))
    }


def substitute_routeros(text: str, value_of: Callable[[str], str]) -> str:
    """Placeholders replaced by RouterOS-quoted values (one word, escapes applied)."""
    from kopnet_iac.platforms.routeros.emitter import escape, quote

    def one(match: re.Match[str]) -> str:
        start = match.start()
        inside_quotes = text.count('"', 0, start) % 2 == 1
        value = value_of(match.group(1))
        return escape(value) if inside_quotes else quote(value)

    return PLACEHOLDER_RE.sub(one, text)


def parse_cfg(text: str) -> dict[str, str]:
    """``system.cfg`` as a mapping (the last value of a repeated key wins)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise KopnetError(f"system.cfg: a line without '=' near {key[:20]!r}", step="parse")
        values[key.strip()] = value
    return values


def render_cfg(values: dict[str, str]) -> str:
    return "".join(f"{key}={values[key]}\n" for key in sorted(values))


def airos_day0(factory: str, intended: str, rules: Day0Rules | None = None) -> str:
    """The factory ``system.cfg`` with every day-0 key of ``intended`` laid over it (the
    factory's own keys of those families removed first, so no stale user or address stays)."""
    rules = rules or load_rules()
    prefixes = rules.airos_prefixes

    def day0(key: str) -> bool:
        return key.startswith(prefixes)

    values = {k: v for k, v in parse_cfg(factory).items() if not day0(k)}
    values.update({k: v for k, v in parse_cfg(intended).items() if day0(k)})
    return render_cfg(values)


def check_no_placeholder(text: str, *, village: str, host: str) -> None:
    """Refuse text that still holds a placeholder (a secret could not be filled in)."""
    found = sorted(set(PLACEHOLDER_RE.findall(text)))
    if found:
        raise SecretError(
            f"secrets not filled in: {', '.join(found)}", village=village, host=host, step="day0"
        )


__all__ = [
    "DAY0_FILE",
    "Day0Rules",
    "airos_day0",
    "check_no_placeholder",
    "load_rules",
    "parse_cfg",
    "render_cfg",
    "routeros_day0",
    "routeros_key_files",
    "routeros_ssh_keys",
    "substitute_routeros",
]
