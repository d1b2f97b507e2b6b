"""Policy lint over intended RouterOS configs; the rules are data (``lint_rules.yaml``).

Each finding names the rule, the menu path, the entry and, when the export text is given, the
line of that entry (else the line of its section, else 0). ``describe_rules()`` lists every rule
for ``kopnet routeros lint --rules`` and the README.

>>> from kopnet_iac.platforms.routeros.parser import parse_export
>>> cfg = parse_export("/interface wireless\\nset [ find default-name=wlan1 ] country=no_country_set\\n")
>>> [f.rule for f in lint(cfg) if f.rule.startswith("ROS-RF")]  # no country, no security
['ROS-RF-001', 'ROS-RF-004']
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import yaml

from kopnet_iac.platforms.routeros.emitter import format_selector
from kopnet_iac.platforms.routeros.model import Entry, Path, RouterOSConfig, path_text
from kopnet_iac.platforms.routeros.normalize import NEntry, NPath, normalize
from kopnet_iac.platforms.routeros.parser import parse_script
from kopnet_iac.platforms.routeros.paths import load_schema
from kopnet_iac.platforms.routeros.planner import MASK

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Finding:
    """One policy violation (``line``: 1-based line of the entry in the export, 0 unknown)."""

    rule: str
    message: str
    path: str
    entry: str
    line: int = field(default=0, compare=False)

    def as_dict(self) -> dict[str, str | int]:
        return {
            "rule": self.rule,
            "message": self.message,
            "path": self.path,
            "entry": self.entry,
            "line": self.line,
        }

    def __str__(self) -> str:
        where = f"{self.path} {self.entry}".strip()
        return f"{self.rule}: {where}: {self.message}"


@dataclass(frozen=True)
class _Ctx:
    config: RouterOSConfig
    npaths: dict[Path, NPath]
    networks: dict[str, tuple[Network, ...]]


def _p(text: str) -> Path:
    return tuple(text.split())


#: what a check yields: (path text, entry label, index of the entry in its path or None)
Hit = tuple[str, str, int | None]


def _entries(ctx: _Ctx, path: Path) -> Iterator[tuple[str, dict[str, str], int]]:
    """(label, raw props, index) of every entry of ``path`` (items, singletons, list entries)."""
    for index, entry in enumerate(ctx.config.entries(path)):
        yield _entry_label(entry, path), entry.props, index


def _entry_label(entry: Entry, path: Path) -> str:
    """How a finding names the entry; sensitive values (an SNMP community name) are masked."""
    sensitive = load_schema().get(path).sensitive
    sel = entry.selector
    if sel is not None:
        if not any(c[0] in sensitive for c in sel.conditions) and not (
            sel.exotic and any(k in sel.raw for k in sensitive)
        ):
            return sel.raw
        if sel.exotic:
            return "[ ... ]"
        conds = tuple((k, op, MASK if k in sensitive else v) for k, op, v in sel.conditions)
        return format_selector(replace(sel, conditions=conds))
    if entry.target is not None:
        return MASK if "name" in sensitive else entry.target
    name = entry.props.get("name")
    if name is None:
        return ""
    return f"name={MASK if 'name' in sensitive else name}"


def _item(npath: NPath | None, name: str) -> NEntry | None:
    """A named item of a fixed list (``/ip service``) whether set by name or added."""
    if npath is None:
        return None
    for ident, e in npath.sels.items():
        if ident == (("name", "=", name),):
            return e
    for e in npath.adds:
        if e.raw.get("name") == name:
            return e
    return None


def _item_index(ctx: _Ctx, path: str, name: str) -> int | None:
    """Index of the (last) line naming item ``name`` of a fixed list, for its line number."""
    found = None
    for index, entry in enumerate(ctx.config.entries(_p(path))):
        sel = entry.selector
        named = entry.target == name or entry.props.get("name") == name
        if sel is not None and (("name", "=", name) in sel.conditions):
            named = True
        if named:
            found = index
    return found


def _within(value: str, nets: tuple[Network, ...]) -> bool:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts:
        return False
    for part in parts:
        try:
            net = ipaddress.ip_network(part, strict=False)
        except ValueError:
            return False
        if net.prefixlen == 0:
            return False
        if nets and not any(
            net.version == n.version and net.subnet_of(n)  # type: ignore[arg-type]
            for n in nets
        ):
            return False
    return True


def _forbid_value(rule: dict[str, Any], ctx: _Ctx) -> Iterator[Hit]:
    paths = rule["paths"]
    values = set(rule["values"])
    prop = rule["property"]
    for path in ctx.config.sections:
        if "*" not in paths and " ".join(path) not in paths:
            continue
        for label, props, index in _entries(ctx, path):
            if props.get(prop) in values:
                yield path_text(path), label, index
    for prop_name, default in (rule.get("include_defaults") or {}).items():
        # A built-in entry never renamed keeps its default value (the "public" community).
        for p in paths:
            npath = ctx.npaths.get(_p(p))
            if npath is None:
                continue
            for ident, e in npath.sels.items():
                is_default = ident == (("default", "=", "yes"),)
                if is_default and prop_name not in e.raw and default in values:
                    yield "/" + p, "[ find default=yes ]", e.index


def _frequency_band(rule: dict[str, Any], ctx: _Ctx) -> Iterator[Hit]:
    lo, hi, above = int(rule["min"]), int(rule["max"]), int(rule.get("only_above", 0))
    for p in rule["paths"]:
        for label, props, index in _entries(ctx, _p(p)):
            for prop in rule["properties"]:
                value = props.get(prop)
                if not value:
                    continue
                for part in value.split(","):
                    bounds = [b for b in part.strip().split("-") if b]
                    if not bounds or not all(b.isdigit() for b in bounds):
                        continue
                    nums = [int(b) for b in bounds]
                    if max(nums) <= above:
                        continue
                    if min(nums) < lo or max(nums) > hi:
                        yield "/" + p, f"{label} {prop}={value}".strip(), index
                        break


def _item_value(rule: dict[str, Any], ctx: _Ctx) -> Iterator[Hit]:
    npath = ctx.npaths.get(_p(rule["path"]))
    for name in rule["items"]:
        e = _item(npath, name)
        value = e.props.get(rule["property"]) if e is not None else None
        if value != rule["value"]:
            yield "/" + rule["path"], name, _item_index(ctx, rule["path"], name)


def _item_restricted(rule: dict[str, Any], ctx: _Ctx) -> Iterator[Hit]:
    npath = ctx.npaths.get(_p(rule["path"]))
    nets = ctx.networks.get(rule.get("within", ""), ())
    for name in rule["items"]:
        e = _item(npath, name)
        if e is not None and e.props.get("disabled") == "yes":
            continue
        value = e.raw.get(rule["property"], "") if e is not None else ""
        if not _within(value, nets):
            yield "/" + rule["path"], name, _item_index(ctx, rule["path"], name)


def _require_nonempty(rule: dict[str, Any], ctx: _Ctx) -> Iterator[Hit]:
    for index, entry in enumerate(ctx.config.entries(_p(rule["path"]))):
        if entry.verb == "add" and not entry.props.get(rule["property"]):
            yield "/" + rule["path"], _entry_label(entry, _p(rule["path"])), index


def _entries_restricted(rule: dict[str, Any], ctx: _Ctx) -> Iterator[Hit]:
    nets = ctx.networks.get(rule.get("within", ""), ())
    for label, props, index in _entries(ctx, _p(rule["path"])):
        if props.get("disabled") in ("yes", "true"):
            continue
        if not _within(props.get(rule["property"], ""), nets):
            yield "/" + rule["path"], label, index


def _ntp_client(rule: dict[str, Any], ctx: _Ctx) -> Iterator[Hit]:
    npath = ctx.npaths.get(("system", "ntp", "client"))
    props = npath.single.props if npath is not None and npath.single else {}
    servers = ctx.npaths.get(("system", "ntp", "client", "servers"))
    has_servers = bool(
        props.get("servers") or props.get("primary-ntp") or props.get("server-dns-names")
    ) or bool(servers is not None and servers.adds)
    if props.get("enabled") != "yes" or not has_servers:
        yield "/system ntp client", "", None


def _singleton_set(rule: dict[str, Any], ctx: _Ctx) -> Iterator[Hit]:
    npath = ctx.npaths.get(_p(rule["path"]))
    props = npath.single.props if npath is not None and npath.single else {}
    if not props.get(rule["property"]):
        yield "/" + rule["path"], "", None


def _security_profiles(ctx: _Ctx, path: str) -> dict[str, dict[str, str]]:
    """Security profiles by name (the built-in one is ``default``), later lines winning."""
    profiles: dict[str, dict[str, str]] = {}
    for entry in ctx.config.entries(_p(path)):
        sel = entry.selector
        if sel is not None and sel.default:
            name = "default"
        elif sel is not None:
            name = next((v for k, op, v in sel.conditions if k == "name" and op == "="), "")
        else:
            name = entry.target or entry.props.get("name", "")
        if name:
            profiles.setdefault(name, {}).update(entry.props)
    return profiles


def _open_radio(rule: dict[str, Any], ctx: _Ctx) -> Iterator[Hit]:
    """A wireless interface anyone in range can join: Nv2 without ``nv2-security`` and a key,
    or an 802.11 protocol whose security profile does not authenticate (RouterOS defaults:
    wireless-protocol=any, security-profile=default with mode=none)."""
    profiles = _security_profiles(ctx, rule["profiles"])
    secure = set(rule["authentication"])
    for label, props, index in _entries(ctx, _p(rule["path"])):
        if props.get("disabled") in ("yes", "true"):
            continue
        protocol = props.get("wireless-protocol", "any")
        if protocol.startswith("nv2") or protocol == "any":
            if props.get("nv2-security") != "enabled" or not props.get("nv2-preshared-key"):
                yield "/" + rule["path"], f"{label} wireless-protocol={protocol}".strip(), index
                continue
            if protocol == "nv2":
                continue  # Nv2 only: the profile is not used
        name = props.get("security-profile", "default")
        profile = profiles.get(name, {})
        kinds = {k.strip() for k in profile.get("authentication-types", "").split(",")}
        if profile.get("mode") not in ("dynamic-keys",) or not kinds & secure:
            yield "/" + rule["path"], f"{label} security-profile={name}".strip(), index


_CHECKS: dict[str, Callable[[dict[str, Any], _Ctx], Iterator[Hit]]] = {
    "forbid_value": _forbid_value,
    "frequency_band": _frequency_band,
    "item_value": _item_value,
    "item_restricted": _item_restricted,
    "require_nonempty": _require_nonempty,
    "entries_restricted": _entries_restricted,
    "ntp_client": _ntp_client,
    "singleton_set": _singleton_set,
    "open_radio": _open_radio,
}


@functools.lru_cache(maxsize=1)
def load_rules() -> tuple[dict[str, Any], ...]:
    """The packaged rules (each a mapping with at least ``id``, ``message``, ``check``)."""
    text = resources.files(__package__).joinpath("lint_rules.yaml").read_text(encoding="utf-8")
    rules = tuple(yaml.safe_load(text)["rules"])
    for rule in rules:
        if rule["check"] not in _CHECKS:
            raise ValueError(f"lint rule {rule['id']}: unknown check {rule['check']!r}")
    return rules


def entry_lines(text: str, source: str = "<string>") -> dict[Path, tuple[int, list[int]]]:
    """Per menu path: the line of its first section header (0 if none) and the line of each
    ``add``/``set`` entry in order (as ``parse_export`` lists them)."""
    lines: dict[Path, tuple[int, list[int]]] = {}
    for cmd in parse_script(text, source):
        header, entries = lines.setdefault(cmd.path, (0, []))
        if cmd.verb == "" and header == 0:
            lines[cmd.path] = (cmd.line, entries)
        elif cmd.verb in ("add", "set"):
            entries.append(cmd.line)
    return lines


def _line(lines: dict[Path, tuple[int, list[int]]], path: str, index: int | None) -> int:
    header, entries = lines.get(_p(path.lstrip("/")), (0, []))
    if index is not None and 0 <= index < len(entries):
        return entries[index]
    return header


def lint(
    config: RouterOSConfig,
    *,
    mgmt_networks: Sequence[str] = (),
    noc_networks: Sequence[str] = (),
    rules: Sequence[dict[str, Any]] | None = None,
    text: str | None = None,
) -> list[Finding]:
    """Policy findings for an intended config (empty list when it is clean).

    With ``text`` (the export the config was parsed from) every finding carries its line.
    """
    networks = {
        "mgmt": tuple(ipaddress.ip_network(n, strict=False) for n in mgmt_networks),
        "noc": tuple(ipaddress.ip_network(n, strict=False) for n in noc_networks),
    }
    ctx = _Ctx(config, normalize(config, load_schema()).paths, networks)
    lines = entry_lines(text, config.source) if text is not None else {}
    findings: list[Finding] = []
    for rule in rules if rules is not None else load_rules():
        for path, entry, index in _CHECKS[rule["check"]](rule, ctx):
            line = _line(lines, path, index)
            findings.append(Finding(rule["id"], rule["message"], path, entry, line))
    return findings


def describe_rules() -> list[tuple[str, str]]:
    """``(id, message)`` of every packaged rule, for help texts and documentation."""
    return [(str(rule["id"]), str(rule["message"])) for rule in load_rules()]
