"""Normalisation: the comparable form of a config, so only real differences show.

* the header (export date, software id ...) is not part of the comparison;
* ``yes``/``true`` and ``no``/``false`` are the same; rate fields compare with units expanded
  (``10M`` == ``10000000``, ``1M/5M`` == ``1000000/5000000``);
* durations compare in seconds (``1h`` == ``60m`` == ``01:00:00``), host prefixes without
  their length (``10.0.0.1/32`` == ``10.0.0.1``), MAC addresses without case;
* a property equal to its schema default equals an absent one, and so does an empty value
  (``comment=""``; RouterOS treats empty as unset); read-only/derived fields are ignored;
* all selector-less ``set`` lines of a path merge into one singleton record; ``set`` lines on
  existing items merge per item (``set telnet`` == ``set [ find name=telnet ]``);
* ``add`` entries keep their order only where the schema says order matters.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from kopnet_iac.platforms.routeros import values
from kopnet_iac.platforms.routeros.model import Condition, Entry, Path, RouterOSConfig
from kopnet_iac.platforms.routeros.paths import PathSchema, Schema, load_schema

_BOOLS = {"true": "yes", "false": "no"}
_RATE_TOKEN = re.compile(r"(\d+(?:\.\d+)?)([kKMG]?)\Z")
_RATE_SPLIT = re.compile(r"([/ ,])")
_MULT = {"": 1, "k": 1000, "K": 1000, "M": 1000_000, "G": 1000_000_000}

Ident = tuple[object, ...]


@functools.lru_cache(maxsize=4096)
def _rate(value: str) -> str:
    parts = _RATE_SPLIT.split(value)
    out = []
    for part in parts:
        m = _RATE_TOKEN.match(part)
        if m:
            number = float(m.group(1)) * _MULT[m.group(2)]
            out.append(str(int(number)) if number == int(number) else str(number))
        else:
            out.append(part)
    return "".join(out)


def norm_value(schema: PathSchema, key: str, value: str) -> str:
    """Comparable spelling of one property value.

    >>> from kopnet_iac.platforms.routeros.paths import load_schema
    >>> s = load_schema().get(("queue", "simple"))
    >>> norm_value(s, "max-limit", "10M/512k"), norm_value(s, "disabled", "true")
    ('10000000/512000', 'yes')
    """
    b = _BOOLS.get(value)
    if b is not None:
        return b
    if key in schema.rates and value:
        return _rate(value)
    if key in schema.durations:
        return values.duration(value)
    if key in schema.hosts:
        return values.host(value)
    if key in schema.macs:
        return values.mac(value)
    return value


def norm_props(schema: PathSchema, props: dict[str, str]) -> dict[str, str]:
    """Normalised values, without ignored fields, empty values and values equal to the
    default; a ``!key`` negation removes ``key``. Keys keep their order."""
    out = {k: v for k, v in props.items() if v and k not in schema.ignore}
    if len(out) < len(props):
        for k in props:
            if k[0] == "!":
                out.pop(k[1:], None)
    values = out.values()
    if "true" in values or "false" in values:
        for k, v in list(out.items()):
            if v == "true" or v == "false":
                out[k] = _BOOLS[v]
    rates = schema.rates
    if not rates.isdisjoint(out):
        for k in rates.intersection(out):
            out[k] = _rate(out[k])
    typed = schema.typed
    if not typed.isdisjoint(out):
        for k in typed.intersection(out):
            out[k] = norm_value(schema, k, out[k])
    for k, d in schema.norm_defaults.items():
        if out.get(k) == d:
            del out[k]
    return out


def effective(schema: PathSchema, props: dict[str, str], key: str) -> str:
    """Normalised value of ``key`` as RouterOS sees it (default when absent, else ``""``)."""
    v = props.get(key) or schema.defaults.get(key, "")
    return norm_value(schema, key, v)


@dataclass(slots=True)
class NEntry:
    """One comparable entry: identity, normalised props and the original props for emitting."""

    ident: Ident
    props: dict[str, str]
    raw: dict[str, str]
    where: tuple[Condition, ...] = ()
    target: str | None = None  # numeric item target (``/port set 0``)
    index: int = 0  # position in the source config


@dataclass
class NPath:
    """A normalised menu path."""

    schema: PathSchema
    single: NEntry | None = None
    sels: dict[Ident, NEntry] = field(default_factory=dict)
    adds: list[NEntry] = field(default_factory=list)

    def add_key(self, e: NEntry) -> tuple[str, str]:
        return (repr(e.ident), repr(sorted(e.props.items())))

    def comparable(self) -> tuple[object, ...]:
        adds = [(e.ident, sorted(e.props.items())) for e in self.adds]
        if not self.schema.ordered:
            try:
                adds.sort()
            except TypeError:  # mixed identity shapes: any stable total order will do
                adds.sort(key=repr)
        return (
            sorted(self.single.props.items()) if self.single else [],
            sorted((repr(k), sorted(v.props.items())) for k, v in self.sels.items() if v.props),
            adds,
        )

    def same_as(self, other: NPath) -> bool:
        """``self.comparable() == other.comparable()``, computed cheaply when possible."""
        a_single = self.single.props if self.single else {}
        b_single = other.single.props if other.single else {}
        if a_single != b_single:
            return False
        if {k: v.props for k, v in self.sels.items() if v.props} != {
            k: v.props for k, v in other.sels.items() if v.props
        }:
            return False
        if len(self.adds) != len(other.adds):
            return False
        if self.schema.ordered:
            return all(
                a.ident == b.ident and a.props == b.props
                for a, b in zip(self.adds, other.adds, strict=True)
            )
        mine = {e.ident: e.props for e in self.adds}
        theirs = {e.ident: e.props for e in other.adds}
        if len(mine) == len(self.adds) and len(theirs) == len(other.adds):
            return mine == theirs
        return self.comparable() == other.comparable()

    def is_empty(self) -> bool:
        return (
            (self.single is None or not self.single.props)
            and not any(e.props for e in self.sels.values())
            and not self.adds
        )


def selector_ident(entry: Entry) -> tuple[Ident, tuple[Condition, ...], str | None]:
    """Identity, ``find where`` conditions and numeric target of a ``set`` on an item."""
    if entry.selector is not None:
        conds = entry.selector.canonical()
        return (conds, entry.selector.conditions, None)
    assert entry.target is not None
    if entry.target.isdigit():
        return ((("#", "=", entry.target),), (), entry.target)
    cond: Condition = ("name", "=", entry.target)
    return (((cond,)), (cond,), None)


_Memo = dict[tuple[tuple[str, str], ...], tuple[dict[str, str], Ident]]


def normalize_path(schema: PathSchema, entries: list[Entry], memo: _Memo | None = None) -> NPath:
    """Normalise the entries of one path. ``memo`` (shared between the two configs of a plan)
    normalises ``add`` entries with the same properties only once; entries sharing a memo
    share their normalised ``props`` dict, which must then not be modified."""
    npath = NPath(schema)
    adds: list[NEntry] = []
    keys = schema.keys
    norm_defaults = schema.norm_defaults
    if memo is None:
        memo = {}
    known_props = memo.get
    add = adds.append
    for index, entry in enumerate(entries):
        if entry.verb != "add":
            if entry.selector is None and entry.target is None:
                if npath.single is None:
                    npath.single = NEntry((), {}, {}, index=index)
                npath.single.raw.update(entry.props)
                npath.single.props = norm_props(schema, npath.single.raw)
                continue
            sel_ident, where, target = selector_ident(entry)
            found = npath.sels.get(sel_ident)
            if found is None:
                found = npath.sels[sel_ident] = NEntry(sel_ident, {}, {}, where, target, index)
            found.raw.update(entry.props)
            found.props = norm_props(schema, found.raw)
            continue
        raw = entry.props
        memo_key = tuple(raw.items())
        known = known_props(memo_key)
        if known is None:
            props = norm_props(schema, raw)
            if keys:
                # Same as effective(): normalised value, else the default, else "".
                ident: Ident = tuple([props.get(k) or norm_defaults.get(k, "") for k in keys])
            else:
                ident = tuple(sorted(props.items()))
            known = memo[memo_key] = (props, ident)
        add(NEntry(known[1], known[0], raw, (), None, index))
    npath.sels = {k: v for k, v in npath.sels.items() if v.props}
    if npath.single is not None and not npath.single.props:
        npath.single = None
    npath.adds = adds
    return npath


@dataclass
class NConfig:
    """A normalised config: per path, comparable entries."""

    paths: dict[Path, NPath]

    def comparable(self) -> dict[Path, tuple[object, ...]]:
        return {p: n.comparable() for p, n in self.paths.items() if not n.is_empty()}


def normalize(
    config: RouterOSConfig,
    schema: Schema | None = None,
    paths: set[Path] | None = None,
    *,
    memo: dict[Path, _Memo] | None = None,
) -> NConfig:
    """The comparable form of ``config`` (see the module docstring), optionally only for
    ``paths``. Passing the same ``memo`` dict for two configs normalises entries they have
    in common once (see :func:`normalize_path`)."""
    schema = schema or load_schema()
    memos: dict[Path, _Memo] = {} if memo is None else memo
    return NConfig(
        {
            p: normalize_path(schema.get(p), entries, memos.setdefault(p, {}))
            for p, entries in config.sections.items()
            if paths is None or p in paths
        }
    )


def equivalent(a: RouterOSConfig, b: RouterOSConfig, schema: Schema | None = None) -> bool:
    """True when the two configs differ in nothing but spelling, order of unordered entries,
    default-valued properties and header lines."""
    return normalize(a, schema).comparable() == normalize(b, schema).comparable()
