"""Keeping secrets out of the release store.

The store keeps rendered configs with ``@@secret:NAME@@`` placeholders, and device texts (running
configs, plans, revert plans) with secret values masked. Three defences, all pure functions:

- :func:`mask_secrets` replaces the value of every sensitive property (RouterOS ``password=...``,
  ``wpa2-pre-shared-key="..."``; airOS ``users.1.password=...``, ``aaa.1.wpa.psk=...``) by
  ``***``, keeping placeholders, so what a device reported can be stored.
- :func:`cleartext_secrets` finds sensitive properties whose value is neither empty, a
  placeholder nor a mask: in a rendered config that means resolved secrets were passed in.
- :class:`SecretGuard` holds values the caller flags as secret (e.g. every value its resolver
  handed out) and finds or redacts them in any text, whatever its format.

Which property names are sensitive is data (:data:`SENSITIVE_KEYS`, :data:`SENSITIVE_SUFFIXES`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

MASK = "***"

#: RouterOS properties whose values are secrets (RouterOS 7 hides most of them in exports).
SENSITIVE_KEYS: frozenset[str] = frozenset(
    {
        "password",
        "secret",
        "passphrase",
        "wpa-pre-shared-key",
        "wpa2-pre-shared-key",
        "nv2-preshared-key",
        "authentication-key",
        "private-key",
        "preshared-key",
        "pre-shared-key",
        "auth-key",
        "key",
        "tcp-md5-key",
        "authentication-password",
        "encryption-password",
        "ipsec-secret",
        "psk",
        "trap-community",
        "static-key-0",
        "static-key-1",
        "static-key-2",
        "static-key-3",
    }
)

#: Last component of an airOS ``system.cfg`` key (``a.1.b=value``) whose value is a secret.
SENSITIVE_SUFFIXES: frozenset[str] = frozenset(
    {"password", "psk", "secret", "community", "passphrase", "key"}
)

_ROS_KEYS = "|".join(sorted((re.escape(k) for k in SENSITIVE_KEYS), key=len, reverse=True))
# ``key=value`` inside a RouterOS command line; not part of a longer name (``public-key=``).
_ROS_VALUE = re.compile(
    rf"(?<![\w.-])(?P<key>{_ROS_KEYS})="
    r'(?P<value>"(?:[^"\\]|\\.)*"|\\"(?:(?!\\").)*\\"|[^\s"]*)',
    re.IGNORECASE,
)
# a whole ``system.cfg`` line: ``dotted.key.N.suffix=value``
_CFG_LINE = re.compile(
    r"^(?P<key>[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*\.(?P<suffix>[A-Za-z0-9_]+))=(?P<value>.*)$",
    re.MULTILINE,
)
_PLACEHOLDER = re.compile(r'^"?@@secret:[a-z0-9][a-z0-9_-]{0,62}@@"?$')

#: flagged values shorter than this cannot be told apart from ordinary text and are not searched
MIN_SECRET_LEN = 4


def _harmless(value: str) -> bool:
    """Empty, a placeholder or already masked."""
    bare = value.strip('"')
    return bare == "" or bool(_PLACEHOLDER.match(value)) or set(bare) == {"*"}


def _cfg_sensitive(match: re.Match[str]) -> bool:
    return match.group("suffix").lower() in SENSITIVE_SUFFIXES and not match.group(
        "key"
    ).lower().startswith("sshd.auth.key.")  # authorised *public* keys


# A RouterOS line naming its menu: "/snmp community ..." (section header or terse command).
_MENU_LINE = re.compile(r"^[ \t]*/(?P<words>[a-z0-9][a-z0-9 -]*)")


@functools.lru_cache(maxsize=1)
def _menu_keys() -> dict[tuple[str, ...], re.Pattern[str]]:
    """Menu -> ``key=value`` pattern of the keys sensitive in that menu only (from the
    RouterOS path schema: e.g. the ``name`` of an SNMP community is the community string)."""
    from kopnet_iac.platforms.routeros.paths import load_schema

    out: dict[tuple[str, ...], re.Pattern[str]] = {}
    for path, ps in load_schema().paths.items():
        extra = ps.sensitive - SENSITIVE_KEYS
        if extra:
            keys = "|".join(sorted((re.escape(k) for k in extra), key=len, reverse=True))
            out[path] = re.compile(
                rf"(?<![\w.-])(?P<key>{keys})=" r'(?P<value>"(?:[^"\\]|\\.)*"|[^\s"]*)'
            )
    return out


def _menu_values(text: str) -> list[tuple[int, re.Match[str]]]:
    """``(line, match)`` of each property that is sensitive in the menu of its line."""
    keys = _menu_keys()
    section: tuple[str, ...] = ()
    found: list[tuple[int, re.Match[str]]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        head = _MENU_LINE.match(line)
        if head:
            words = head.group("words").split()
            path = tuple(w for w in words if w)
            # the menu is the longest known prefix ("/snmp community set ..." -> snmp community)
            for cut in range(len(path), 0, -1):
                if path[:cut] in keys or cut == 1:
                    section = path[:cut]
                    break
        pattern = keys.get(section)
        if pattern is not None:
            found.extend((number, match) for match in pattern.finditer(line))
    return found


def _mask_menu_values(text: str) -> str:
    hits = _menu_values(text)
    if not hits:
        return text
    lines = text.split("\n")
    for number, match in sorted(hits, key=lambda h: (h[0], -h[1].start())):
        if _harmless(match.group("value")):
            continue
        line = lines[number - 1]
        lines[number - 1] = (
            line[: match.start()] + f"{match.group('key')}={MASK}" + line[match.end() :]
        )
    return "\n".join(lines)


def mask_secrets(text: str) -> str:
    """``text`` with the value of every sensitive property replaced by ``***``.

    >>> mask_secrets('/user add name=noc password="s3 cret" group=full')
    '/user add name=noc password=*** group=full'
    >>> mask_secrets('users.1.password=$1$abc$def\\nusers.1.name=noc')
    'users.1.password=***\\nusers.1.name=noc'
    >>> mask_secrets('/radius add secret="@@secret:radius-secret@@"')
    '/radius add secret="@@secret:radius-secret@@"'
    """

    def ros(match: re.Match[str]) -> str:
        if _harmless(match.group("value")):
            return match.group(0)
        return f"{match.group('key')}={MASK}"

    def cfg(match: re.Match[str]) -> str:
        if not _cfg_sensitive(match) or _harmless(match.group("value")):
            return match.group(0)
        return f"{match.group('key')}={MASK}"

    return _CFG_LINE.sub(cfg, _ROS_VALUE.sub(ros, _mask_menu_values(text)))


def cleartext_secrets(text: str) -> list[tuple[int, str]]:
    """``(line, property)`` of each sensitive property carrying a value in clear.

    >>> cleartext_secrets('/user add name=noc password=hunter22\\n/snmp set trap-community=***')
    [(1, 'password')]
    """
    found: list[tuple[int, str]] = []
    for match in _ROS_VALUE.finditer(text):
        if not _harmless(match.group("value")):
            found.append((text.count("\n", 0, match.start()) + 1, match.group("key")))
    for match in _CFG_LINE.finditer(text):
        if _cfg_sensitive(match) and not _harmless(match.group("value")):
            found.append((text.count("\n", 0, match.start()) + 1, match.group("key")))
    for number, menu_match in _menu_values(text):
        if not _harmless(menu_match.group("value")):
            found.append((number, menu_match.group("key")))
    return sorted(set(found))


class SecretGuard:
    """Values the caller flags as secret; never stored, found in any text."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        """Flag more values (those shorter than :data:`MIN_SECRET_LEN` are not searched)."""
        self._values.update(v for v in values if len(v) >= MIN_SECRET_LEN)

    def __len__(self) -> int:
        return len(self._values)

    def found_in(self, text: str) -> bool:
        """Whether ``text`` contains a flagged value."""
        return any(value in text for value in self._values)

    def redact(self, text: str) -> str:
        """``text`` with flagged values (longest first) and sensitive properties masked."""
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, MASK)
        return mask_secrets(text)

    def redact_data(self, data: Any) -> Any:
        """A JSON-ready value with every string redacted (keys too); other objects become
        their redacted text."""
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, dict):
            return {self.redact(str(k)): self.redact_data(v) for k, v in data.items()}
        if isinstance(data, list | tuple | set | frozenset):
            return [self.redact_data(v) for v in data]
        if data is None or isinstance(data, bool | int | float):
            return data
        return self.redact(str(data))  # any other object is stored as its text: redact that
