"""airOS ``system.cfg`` as data: parse, merge, replace, key-level diff, secret masking.

Pure functions, no device access. A configuration is a mapping ``key -> value`` of flat
``key=value`` lines (order carries no meaning on the device). Which keys are secret, which hold
crypt hashes and which the firmware maintains itself is data (``keys.yaml``).

>>> plan = plan_merge({"a.b": "1", "c": "2"}, parse_system_cfg("a.b=3\\n"))
>>> render_diff(plan.changes)
'-a.b=1\\n+a.b=3\\n'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import yaml

from kopnet_iac.errors import ParseError, SourcePosition
from kopnet_iac.platforms.airos.crypt import check_password, hash_password, is_crypt_hash

MASK = "********"
MAX_BYTES = 256 * 1024
KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class KeyRules:
    """Compiled ``keys.yaml``."""

    secret: re.Pattern[str]
    password: re.Pattern[str]
    device: re.Pattern[str]

    def is_secret(self, key: str) -> bool:
        return bool(self.secret.fullmatch(key))

    def is_password(self, key: str) -> bool:
        return bool(self.password.fullmatch(key))

    def is_device_key(self, key: str) -> bool:
        return bool(self.device.fullmatch(key))


@cache
def key_rules() -> KeyRules:
    data = yaml.safe_load(
        resources.files("kopnet_iac.platforms.airos").joinpath("keys.yaml").read_text()
    )

    def union(name: str) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{p})" for p in data[name]))

    return KeyRules(secret=union("secret"), password=union("password"), device=union("device"))


def parse_system_cfg(text: str, *, filename: str = "system.cfg") -> dict[str, str]:
    """``key -> value`` of a system.cfg; :class:`ParseError` names the first bad line.

    Blank lines are skipped; a line must be ``key=value`` with a valid key, keys are unique.
    Error messages carry the key, never the value (values may be secrets).
    """
    if len(text.encode("utf-8", "surrogateescape")) > MAX_BYTES:
        raise ParseError("configuration too large", position=SourcePosition(filename, 1, 1))
    values: dict[str, str] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.strip():
            continue
        position = SourcePosition(filename, number, 1)
        key, sep, value = line.partition("=")
        if not sep:
            raise ParseError("expected key=value", position=position)
        if not KEY_RE.match(key):
            raise ParseError("invalid key", position=position, token=key[:40])
        if _BAD_CHARS.search(line):
            raise ParseError("control character in the value", position=position, token=key)
        if key in values:
            raise ParseError("duplicate key", position=position, token=key)
        values[key] = value
    return values


def render_system_cfg(values: Mapping[str, str]) -> str:
    """The file text: one ``key=value`` line per key, sorted (as the renderer writes them)."""
    return "".join(f"{key}={values[key]}\n" for key in sorted(values))


@dataclass(frozen=True)
class Change:
    """One key that differs; ``None`` for absent on that side."""

    key: str
    old: str | None
    new: str | None
    secret: bool


@dataclass
class Plan:
    """What a push changes: the target file and the key-level changes (empty when converged)."""

    target: dict[str, str]
    changes: list[Change] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.changes

    def text(self) -> str:
        return render_system_cfg(self.target)


def _secret(key: str, extra_secret: Iterable[str]) -> bool:
    return key_rules().is_secret(key) or key in extra_secret


def resolve_passwords(
    running: Mapping[str, str],
    candidate: Mapping[str, str],
    hasher: Callable[[str], str] = hash_password,
) -> dict[str, str]:
    """Candidate with password keys as crypt hashes.

    A clear-text password the device's hash already verifies keeps the device's hash (no
    change); another clear text is hashed with a fresh salt. A value that is already a hash
    stays as given.
    """
    rules = key_rules()
    out = dict(candidate)
    for key, value in candidate.items():
        if not rules.is_password(key) or is_crypt_hash(value):
            continue
        stored = running.get(key, "")
        if stored and check_password(value, stored):
            out[key] = stored
        else:
            out[key] = hasher(value)
    return out


def diff(
    running: Mapping[str, str], target: Mapping[str, str], extra_secret: Iterable[str] = ()
) -> list[Change]:
    """Key-level changes from ``running`` to ``target``, sorted by key."""
    extra = set(extra_secret)
    changes = []
    for key in sorted(set(running) | set(target)):
        old, new = running.get(key), target.get(key)
        if old != new:
            changes.append(Change(key, old, new, _secret(key, extra)))
    return changes


def plan_merge(
    running: Mapping[str, str],
    candidate: Mapping[str, str],
    *,
    extra_secret: Iterable[str] = (),
    hasher: Callable[[str], str] = hash_password,
) -> Plan:
    """Merge: the keys named in ``candidate`` take its values, every other key stays."""
    target = dict(running)
    target.update(resolve_passwords(running, candidate, hasher))
    return Plan(target=target, changes=diff(running, target, extra_secret))


def plan_replace(
    running: Mapping[str, str],
    candidate: Mapping[str, str],
    *,
    extra_secret: Iterable[str] = (),
    hasher: Callable[[str], str] = hash_password,
) -> Plan:
    """Replace: the whole file becomes ``candidate``, except keys the firmware maintains."""
    rules = key_rules()
    target = resolve_passwords(running, candidate, hasher)
    for key, value in running.items():
        if rules.is_device_key(key) and key not in target:
            target[key] = value
    return Plan(target=target, changes=diff(running, target, extra_secret))


def render_diff(changes: Iterable[Change]) -> str:
    """``-key=old`` / ``+key=new`` lines, secrets as ``********``; empty when nothing changes."""
    lines = []
    for change in changes:
        if change.old is not None:
            lines.append(f"-{change.key}={MASK if change.secret else change.old}")
        if change.new is not None:
            lines.append(f"+{change.key}={MASK if change.secret else change.new}")
    return "".join(f"{line}\n" for line in lines)


def mask_values(values: Mapping[str, str], extra_secret: Iterable[str] = ()) -> dict[str, str]:
    """The configuration with secret values replaced by ``********``."""
    extra = set(extra_secret)
    return {k: (MASK if _secret(k, extra) and v else v) for k, v in values.items()}


def mask_text(text: str, extra_secret: Iterable[str] = ()) -> str:
    """A system.cfg text with secret values masked, every other line as it was."""
    extra = set(extra_secret)
    out = []
    for line in text.splitlines(keepends=True):
        key, sep, value = line.partition("=")
        if sep and value.strip() and _secret(key, extra):
            out.append(f"{key}={MASK}\n")
        else:
            out.append(line)
    return "".join(out)


_SSH_KEY_STATUS_RE = re.compile(r"sshd\.auth\.key\.(\d+)\.status")


def enabled_ssh_keys(values: Mapping[str, str]) -> set[tuple[str, str]]:
    """The enabled ``sshd.auth.key.N`` entries of a ``system.cfg`` as (type, base64) pairs."""
    found: set[tuple[str, str]] = set()
    for key, state in values.items():
        match = _SSH_KEY_STATUS_RE.fullmatch(key)
        if match is None or state != "enabled":
            continue
        prefix = f"sshd.auth.key.{match.group(1)}"
        kind, value = values.get(f"{prefix}.type", ""), values.get(f"{prefix}.value", "")
        if kind and value:
            found.add((kind, value))
    return found
