"""Candidate configurations: parse, split off users, fill in secrets, build the merge target.

Pure functions over text and the engine's model; no device access.

* :func:`parse_candidate` reads RouterOS export text (sectioned or terse). ``/user`` and
  ``/user ssh-keys`` are taken out: RouterOS does not export them, so they are planned from the
  API's view of the users (:mod:`~kopnet_iac.drivers.routeros.users`), never from an export
  diff. SSH keys come from ``# ssh-key user=NAME <public key line>`` comments.
* :func:`fill_secrets` replaces ``@@secret:NAME@@`` placeholders in the parsed model (values and
  ``find`` conditions) with values from a secret source. Values are quoted and escaped by the
  engine's emitter when a script is written (see :func:`escape_value`); the filled model only
  lives in memory.
* :func:`merge_target` is the intended state of a merge: the running entries of the named paths
  with the candidate's entries laid over them (same identity: properties updated; new: added).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from kopnet_iac.errors import KopnetError, SecretError
from kopnet_iac.inventory.secrets import PLACEHOLDER_RE
from kopnet_iac.platforms.routeros import Entry, RouterOSConfig, Selector, parse_export
from kopnet_iac.platforms.routeros.emitter import quote
from kopnet_iac.platforms.routeros.model import Path
from kopnet_iac.platforms.routeros.normalize import normalize_path
from kopnet_iac.platforms.routeros.paths import Schema, load_schema

USER_PATHS: frozenset[Path] = frozenset({("user",), ("user", "ssh-keys")})
_SSH_KEY_COMMENT = re.compile(r"^\s*#\s*ssh-key\s+user=(\S+)\s+(\S+\s+\S+.*?)\s*$", re.MULTILINE)


class SecretSource(Protocol):
    """Anything with ``get(name) -> value`` (``SecretResolver``); a plain mapping also works."""

    def get(self, name: str) -> str: ...


def escape_value(value: str) -> str:
    """A value as a RouterOS script literal: bare when safe, else double-quoted with ``"``,
    ``\\``, ``$`` and ``?`` escaped (``$`` would start a variable, ``?`` help) and control
    or non-ASCII characters as escapes, exactly as RouterOS itself exports them.

    >>> escape_value("plain"), escape_value('a"b'), escape_value("c\\\\d"), escape_value("$x")
    ('plain', '"a\\\\"b"', '"c\\\\\\\\d"', '"\\\\$x"')
    """
    return quote(value)


def resolve_secret(
    source: SecretSource | Mapping[str, str] | Callable[[str], str], name: str
) -> str:
    """The value of secret ``name``; :class:`SecretError` (naming only the secret) if absent."""
    try:
        if isinstance(source, Mapping):
            value = source[name]
        elif hasattr(source, "get"):
            value = source.get(name)
        else:
            value = source(name)
    except SecretError:
        raise
    except KeyError:
        value = None
    if value is None:
        raise SecretError(f"secret {name!r} has no value", step="secrets")
    return str(value)


@dataclass(frozen=True)
class UserSpec:
    """One ``/user`` line of the candidate: ``name``, properties without the password, and
    the password as written (usually a placeholder; ``None`` when not given)."""

    name: str
    props: dict[str, str]
    password: str | None
    create: bool  # an ``add`` line (create when missing) rather than ``set``


@dataclass
class Candidate:
    """A parsed candidate: the export part, the users and the SSH keys."""

    config: RouterOSConfig
    users: list[UserSpec] = field(default_factory=list)
    keys: list[tuple[str, str]] = field(default_factory=list)  # (user, public key line)
    text: str = ""

    def secret_names(self) -> set[str]:
        return set(PLACEHOLDER_RE.findall(self.text))


def _user_name(entry: Entry) -> str | None:
    if entry.verb == "add":
        return entry.props.get("name")
    if entry.target is not None:
        return entry.target
    if entry.selector is not None:
        for key, op, value in entry.selector.conditions:
            if key == "name" and op == "=":
                return value
    return None


def parse_candidate(text: str, source: str = "candidate") -> Candidate:
    """Parse candidate export text (raises the engine's ``ParseError`` with the position)."""
    config = parse_export(text, source)
    users: list[UserSpec] = []
    for entry in config.sections.get(("user",), []):
        name = _user_name(entry)
        if name is None:
            raise KopnetError(
                f"{source}: /user line without a user name ({entry.verb}): users are managed "
                "by name through the API",
                step="load",
            )
        props = {k: v for k, v in entry.props.items() if k != "password"}
        props.pop("name", None)
        users.append(UserSpec(name, props, entry.props.get("password"), entry.verb == "add"))
    sections = {p: e for p, e in config.sections.items() if p not in USER_PATHS}
    managed = tuple(p for p in config.managed if p not in USER_PATHS)
    stripped = RouterOSConfig(config.header, sections, managed, config.source)
    keys = [(m.group(1), m.group(2)) for m in _SSH_KEY_COMMENT.finditer(text)]
    return Candidate(stripped, users, keys, text)


def _fill(value: str, lookup: Callable[[str], str]) -> str:
    if "@@secret:" not in value:
        return value
    return PLACEHOLDER_RE.sub(lambda m: lookup(m.group(1)), value)


def fill_secrets(config: RouterOSConfig, lookup: Callable[[str], str]) -> RouterOSConfig:
    """A copy of ``config`` with every placeholder replaced by ``lookup(name)``."""
    sections: dict[Path, list[Entry]] = {}
    for path, entries in config.sections.items():
        out = []
        for entry in entries:
            props = {k: _fill(v, lookup) for k, v in entry.props.items()}
            selector = entry.selector
            if selector is not None and "@@secret:" in selector.raw + repr(selector.conditions):
                conds = tuple((k, op, _fill(v, lookup)) for k, op, v in selector.conditions)
                selector = replace(selector, conditions=conds, raw="")
            out.append(Entry(entry.verb, props, selector, entry.target))
        sections[path] = out
    return RouterOSConfig(config.header, sections, config.managed, config.source)


def _item_key(entry: Entry) -> tuple[Any, ...]:
    if entry.selector is not None:
        return ("sel", entry.selector.canonical())
    if entry.target is not None:
        return ("target", entry.target)
    return ("single",)


def merge_target(
    running: RouterOSConfig, candidate: RouterOSConfig, schema: Schema | None = None
) -> RouterOSConfig:
    """Intended state for a merge: per path the candidate names, running entries with the
    candidate's entries laid over them. Nothing is removed."""
    schema = schema or load_schema()
    sections: dict[Path, list[Entry]] = {}
    for path, wanted in candidate.sections.items():
        ps = schema.get(path)
        current = [
            Entry(e.verb, dict(e.props), e.selector, e.target) for e in running.entries(path)
        ]
        adds = [e for e in current if e.verb == "add"]
        idents = [n.ident for n in normalize_path(ps, adds).adds]
        by_ident = dict(zip(idents, adds, strict=True))
        for entry in wanted:
            if entry.verb == "add":
                ident = normalize_path(ps, [entry]).adds[0].ident
                found = by_ident.get(ident)
                if found is not None:
                    found.props.update(entry.props)
                else:
                    new = Entry("add", dict(entry.props))
                    current.append(new)
                    by_ident[ident] = new
                continue
            key = _item_key(entry)
            for existing in current:
                if existing.verb != "add" and _item_key(existing) == key:
                    existing.props.update(entry.props)
                    break
            else:
                current.append(Entry(entry.verb, dict(entry.props), entry.selector, entry.target))
        sections[path] = current
    return RouterOSConfig(candidate.header, sections, candidate.managed, candidate.source)


def subset(config: RouterOSConfig, paths: set[Path]) -> RouterOSConfig:
    """Only the sections of ``paths``."""
    sections = {p: list(e) for p, e in config.sections.items() if p in paths}
    return RouterOSConfig(config.header, sections, (), config.source)


_MODEL_SUFFIXES = ("IN", "RM", "IC", "EU", "US", "R2")


def _model_key(model: str) -> str:
    return re.sub(r"[\s_-]", "", model).upper()


def model_matches(expected: str, reported: str) -> bool:
    """Whether the device's board name is the inventory's model.

    RouterOS reports the board name without the regional/packaging suffix of the catalogue
    name (``RB5009UG+S+IN`` reports ``RB5009UG+S+``); case, spaces and dashes do not count.

    >>> model_matches("RB5009UG+S+IN", "RB5009UG+S+"), model_matches("RB4011iGS+", "CCR2004")
    (True, False)
    """
    want, have = _model_key(expected), _model_key(reported)
    if not have:
        return False
    if want == have:
        return True
    return want.startswith(have) and want[len(have) :] in _MODEL_SUFFIXES


def selector_for_name(name: str) -> Selector:
    return Selector((("name", "=", name),), where=True)
