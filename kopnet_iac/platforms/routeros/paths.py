"""Menu path schema, loaded from ``paths.yaml`` (platform quirks as data).

>>> schema = load_schema()
>>> schema.get(("ip", "address")).keys
('address', 'interface')
>>> schema.get(("ip", "firewall", "filter")).ordered
True
>>> schema.get(("no", "such", "menu")).known
False
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import yaml

from kopnet_iac.platforms.routeros import values
from kopnet_iac.platforms.routeros.model import Path


@dataclass(frozen=True)
class PathSchema:
    """What the engine knows about one menu path."""

    path: Path
    known: bool = True
    singleton: bool = False
    keys: tuple[str, ...] = ()
    ordered: bool = False
    defaults: dict[str, str] = field(default_factory=dict)
    sensitive: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()
    rates: frozenset[str] = frozenset()
    durations: frozenset[str] = frozenset()
    hosts: frozenset[str] = frozenset()
    macs: frozenset[str] = frozenset()
    typed: frozenset[str] = frozenset()  # durations | hosts | macs
    rank: int = 0
    norm_defaults: dict[str, str] = field(default_factory=dict)

    @property
    def content_identity(self) -> bool:
        """Entries are identified by their whole content (ordered or unknown, no keys)."""
        return not self.keys


@dataclass(frozen=True)
class Schema:
    """All known paths plus the global lists; unknown paths get a conservative schema."""

    paths: dict[Path, PathSchema]
    global_sensitive: frozenset[str]
    global_defaults: dict[str, str]
    global_ignore: frozenset[str]
    global_rates: frozenset[str]
    global_durations: frozenset[str] = frozenset()
    global_hosts: frozenset[str] = frozenset()
    global_macs: frozenset[str] = frozenset()

    def get(self, path: Path) -> PathSchema:
        found = self.paths.get(path)
        if found is not None:
            return found
        return _with_norm_defaults(
            PathSchema(
                path,
                known=False,
                ordered=True,
                defaults=dict(self.global_defaults),
                sensitive=self.global_sensitive,
                ignore=self.global_ignore,
                rates=self.global_rates,
                durations=self.global_durations,
                hosts=self.global_hosts,
                macs=self.global_macs,
                rank=len(self.paths),
            )
        )

    def blind_to_sensitive(self) -> Schema:
        """A copy that ignores sensitive values (except identity keys) when comparing: for a
        running config exported without ``show-sensitive`` (RouterOS 7 hides secrets)."""

        def blind(ps: PathSchema) -> PathSchema:
            return replace(ps, ignore=ps.ignore | (ps.sensitive - set(ps.keys)))

        return Schema(
            {p: blind(ps) for p, ps in self.paths.items()},
            self.global_sensitive,
            self.global_defaults,
            self.global_ignore | self.global_sensitive,
            self.global_rates,
            self.global_durations,
            self.global_hosts,
            self.global_macs,
        )

    def is_sensitive(self, path: Path, key: str) -> bool:
        return key.lstrip("!") in self.get(path).sensitive


_BOOLS = {"true": "yes", "false": "no"}


def _norm_default(ps: PathSchema, key: str, value: str) -> str:
    value = _BOOLS.get(value, value)
    if key in ps.durations:
        return values.duration(value)
    if key in ps.hosts:
        return values.host(value)
    if key in ps.macs:
        return values.mac(value)
    return value


def _with_norm_defaults(ps: PathSchema) -> PathSchema:
    """Defaults spelled as the normaliser compares them (bools as yes/no, durations in
    seconds, host prefixes without ``/32``)."""
    norm = {k: _norm_default(ps, k, v) for k, v in ps.defaults.items()}
    return replace(ps, norm_defaults=norm, typed=ps.durations | ps.hosts | ps.macs)


def _build(data: dict[str, Any]) -> Schema:
    glob = data.get("global", {})
    g_defaults = {str(k): str(v) for k, v in (glob.get("defaults") or {}).items()}
    g_sensitive = frozenset(str(k) for k in glob.get("sensitive") or ())
    g_ignore = frozenset(str(k) for k in glob.get("ignore") or ())
    g_rates = frozenset(str(k) for k in glob.get("rates") or ())
    g_durations = frozenset(str(k) for k in glob.get("durations") or ())
    g_hosts = frozenset(str(k) for k in glob.get("hosts") or ())
    g_macs = frozenset(str(k) for k in glob.get("macs") or ())
    paths: dict[Path, PathSchema] = {}
    for rank, (name, spec) in enumerate((data.get("paths") or {}).items()):
        spec = spec or {}
        path = tuple(str(name).split())
        defaults = dict(g_defaults)
        for k, v in (spec.get("defaults") or {}).items():
            if v is None:
                defaults.pop(str(k), None)
            else:
                defaults[str(k)] = str(v)
        paths[path] = _with_norm_defaults(
            PathSchema(
                path=path,
                singleton=bool(spec.get("singleton", False)),
                keys=tuple(str(k) for k in spec.get("keys") or ()),
                ordered=bool(spec.get("ordered", False)),
                defaults=defaults,
                sensitive=g_sensitive | frozenset(str(k) for k in spec.get("sensitive") or ()),
                ignore=g_ignore | frozenset(str(k) for k in spec.get("ignore") or ()),
                rates=g_rates | frozenset(str(k) for k in spec.get("rates") or ()),
                durations=g_durations | frozenset(str(k) for k in spec.get("durations") or ()),
                hosts=g_hosts | frozenset(str(k) for k in spec.get("hosts") or ()),
                macs=g_macs,
                rank=rank,
            )
        )
    return Schema(paths, g_sensitive, g_defaults, g_ignore, g_rates, g_durations, g_hosts, g_macs)


@functools.lru_cache(maxsize=1)
def load_schema() -> Schema:
    """The packaged schema (cached; treat as read-only)."""
    text = resources.files(__package__).joinpath("paths.yaml").read_text(encoding="utf-8")
    return _build(yaml.safe_load(text))
