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
        )

    def is_sensitive(self, path: Path, key: str) -> bool:
        return key.lstrip("!") in self.get(path).sensitive


_BOOLS = {"true": "yes", "false": "no"}


def _with_norm_defaults(ps: PathSchema) -> PathSchema:
    """Defaults spelled as the normaliser compares them (bools as yes/no)."""
    norm = {k: _BOOLS.get(v, v) for k, v in ps.defaults.items()}
    return replace(ps, norm_defaults=norm)


def _build(data: dict[str, Any]) -> Schema:
    glob = data.get("global", {})
    g_defaults = {str(k): str(v) for k, v in (glob.get("defaults") or {}).items()}
    g_sensitive = frozenset(str(k) for k in glob.get("sensitive") or ())
    g_ignore = frozenset(str(k) for k in glob.get("ignore") or ())
    g_rates = frozenset(str(k) for k in glob.get("rates") or ())
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
                rank=rank,
            )
        )
    return Schema(paths, g_sensitive, g_defaults, g_ignore, g_rates)


@functools.lru_cache(maxsize=1)
def load_schema() -> Schema:
    """The packaged schema (cached; treat as read-only)."""
    text = resources.files(__package__).joinpath("paths.yaml").read_text(encoding="utf-8")
    return _build(yaml.safe_load(text))
