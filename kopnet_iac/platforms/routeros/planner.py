"""Plan: ordered operations that turn a running config into the intended one, plus the revert.

Plan scripts use exactly this subset of RouterOS script (one command per line, absolute paths,
no continuations; lines starting with ``#`` are comments):

* ``/path add k=v ...`` - new list entry; on ordered paths optionally
  ``place-before=[ find where ... ]`` (insert before the single entry that matches);
* ``/path set [ find where k1=v1 k2=v2 ] k=v ... !k ...`` - change every entry matching all
  conditions; a bare ``!k`` word unsets property ``k`` (back to its default);
* ``/path set <number> k=v ...`` - only for items an export itself addresses by number
  (``/port set 0 ...``);
* ``/path set k=v ... !k`` - singleton menus (``/system identity``, ``/ip dns`` ...);
* ``/path remove [ find where ... ]`` - remove every entry matching.

``find where`` conditions are ``key=value`` words joined by spaces (AND); a value ``""``
matches an entry where the key is absent or empty; ``default=yes`` selects built-in default
entries; an empty ``[ find ]`` selects every entry. Conditions copied from an export's own
``set [ find ... ]`` line are kept as written (they may use ``!=``, ``~`` or a bare key). Values
are quoted and escaped as in exports. Moves are never used: an entry out of place on an ordered
path is removed and added again with ``place-before``. Unsetting uses ``!k`` only when the
schema knows no default; with a known default the plan writes ``k=<default>``.

Order: all removals first, paths in reverse dependency order (``paths.yaml`` order, unknown
paths last), then per path in dependency order: singleton ``set``, item ``set``, ``add``.

Identity: a list entry is matched by the schema keys of its path (``/ip address`` by
address+interface); ordered paths without keys (firewall) and unknown paths by their whole
content. Duplicate identities or an entry whose keys are all empty, on a path that needs
changes, raise :class:`~kopnet_iac.errors.PlanError` naming the path and entry.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kopnet_iac.errors import PlanError
from kopnet_iac.platforms.routeros.emitter import format_condition, quote
from kopnet_iac.platforms.routeros.model import Condition, Path, RouterOSConfig, path_text
from kopnet_iac.platforms.routeros.normalize import Ident, NConfig, NEntry, NPath, normalize
from kopnet_iac.platforms.routeros.paths import PathSchema, Schema, load_schema

log = logging.getLogger(__name__)

MASK = "********"


@dataclass(frozen=True)
class Operation:
    """One plan step; ``args`` may contain ``("!key", "")`` unsets (``set`` only)."""

    path: Path
    action: str  # "add" | "set" | "remove"
    where: tuple[Condition, ...] | None = None  # None: singleton set / plain add
    args: tuple[tuple[str, str], ...] = ()
    target: str | None = None  # numeric item (``/port set 0``)
    place_before: tuple[Condition, ...] | None = None

    def text(self, mask: Callable[[Path, str], bool] | None = None) -> str:
        """The script line; ``mask(path, key)`` says which values to hide."""

        def val(k: str, v: str) -> str:
            return MASK if mask is not None and mask(self.path, k) else v

        def find(conds: tuple[Condition, ...]) -> str:
            if not conds:
                return "[ find ]"
            words = " ".join(format_condition((k, op, val(k, v))) for k, op, v in conds)
            return f"[ find where {words} ]"

        parts = [path_text(self.path), self.action]
        if self.target is not None:
            parts.append(self.target)
        elif self.where is not None:
            parts.append(find(self.where))
        for k, v in self.args:
            parts.append(k if k.startswith("!") and not v else f"{k}={quote(val(k, v))}")
        if self.place_before is not None:
            parts.append(f"place-before={find(self.place_before)}")
        return " ".join(parts)


def _shown(
    schema: PathSchema, old: NEntry | None, new: NEntry | None, *, entry_set: bool = True
) -> tuple[dict[str, str], dict[str, str]]:
    """Before/after values of the properties that really change, in the configs' own spelling
    (a known default stands for an absent value); every property for an added or removed
    entry (``entry_set=False``)."""
    op = old.props if old is not None else {}
    np = new.props if new is not None else {}
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    if not entry_set:
        if old is not None:
            before = {k: old.raw.get(k, v) for k, v in op.items()}
        if new is not None:
            after = {k: new.raw.get(k, v) for k, v in np.items()}
        return before, after
    for k in dict.fromkeys([*op, *np]):
        if op.get(k) == np.get(k):
            continue
        b = old.raw.get(k, op[k]) if old is not None and k in op else schema.defaults.get(k)
        a = new.raw.get(k, np[k]) if new is not None and k in np else schema.defaults.get(k)
        if b is not None:
            before[k] = b
        if a is not None:
            after[k] = a
    return before, after


@dataclass(frozen=True)
class Change:
    """What changes on one entry, for diff presentation: only the properties that change, as
    written in the configs (all of them for an added or removed entry)."""

    path: Path
    kind: str  # "add" | "remove" | "set" | "move"
    label: str
    before: dict[str, str]
    after: dict[str, str]


@dataclass
class Plan:
    """Forward operations, the revert operations and the per-entry changes."""

    operations: list[Operation] = field(default_factory=list)
    revert: list[Operation] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    owned: frozenset[Path] = frozenset()
    schema: Schema | None = None

    def __bool__(self) -> bool:
        return bool(self.operations)

    def _mask(self) -> Callable[[Path, str], bool]:
        schema = self.schema or load_schema()
        return schema.is_sensitive

    def script(self, *, mask_sensitive: bool = False) -> str:
        """The forward plan as a RouterOS script (``""`` when there is nothing to do)."""
        mask = self._mask() if mask_sensitive else None
        return "".join(op.text(mask) + "\n" for op in self.operations)

    def revert_script(self, *, mask_sensitive: bool = False) -> str:
        """The script that takes the post-apply state back to the running config."""
        mask = self._mask() if mask_sensitive else None
        return "".join(op.text(mask) + "\n" for op in self.revert)


def _label(schema: PathSchema, e: NEntry) -> str:
    """Display name of an entry; sensitive values are masked (labels are for people)."""

    def show(k: str, v: str) -> str:
        return MASK if k in schema.sensitive else v

    if e.target is not None:
        return e.target
    if e.where:
        return " ".join(format_condition((k, op, show(k, v))) for k, op, v in e.where)
    if schema.keys:
        pairs = zip(schema.keys, e.ident, strict=False)
        return " ".join(f"{k}={show(k, str(v))}" for k, v in pairs if v)
    items = sorted(e.props.items())
    return " ".join(f"{k}={show(k, v)}" for k, v in items) or "(empty entry)"


def _raw_label(schema: PathSchema, e: NEntry) -> str:
    """Every property as written, sensitive values masked (for error messages)."""
    words = [f"{k}={MASK if k in schema.sensitive else quote(v)}" for k, v in e.raw.items()]
    return " ".join(words) or "(empty entry)"


def _set_args(schema: PathSchema, old: dict[str, str], new: NEntry | None) -> list[tuple[str, str]]:
    new_props = new.props if new is not None else {}
    args: list[tuple[str, str]] = []
    for k, v in new_props.items():
        if old.get(k) != v:
            assert new is not None
            args.append((k, new.raw[k]))
    for k in old:
        if k not in new_props:
            d = schema.defaults.get(k)
            args.append((k, d) if d is not None else ("!" + k, ""))
    return args


def _key_where(schema: PathSchema, e: NEntry, present: set[str]) -> tuple[Condition, ...]:
    """Key conditions; an absent key is written ``k=""`` only when some entry of the path has
    it (so ``find`` stays exact without naming properties this RouterOS version lacks)."""
    conds: list[Condition] = []
    for k in schema.keys:
        v = e.raw.get(k)
        if v is None:
            v = schema.defaults.get(k)
        if v is None and k in present:
            v = ""
        if v is not None:
            conds.append((k, "=", v))
    return tuple(conds)


def _content_where(schema: PathSchema, e: NEntry, all_keys: list[str]) -> tuple[Condition, ...]:
    conds: list[Condition] = []
    for k in all_keys:
        v = e.raw.get(k)
        if v is None:
            v = schema.defaults.get(k, "")
        conds.append((k, "=", v))
    return tuple(conds)


def _index(path: Path, schema: PathSchema, entries: list[NEntry], side: str) -> dict[Ident, NEntry]:
    out: dict[Ident, NEntry] = {}
    for e in entries:
        if schema.keys and not any(e.ident):
            raise PlanError(
                f"{path_text(path)}: {side} entry #{e.index + 1} has no identity "
                f"({', '.join(schema.keys)} all empty): {_raw_label(schema, e)}",
                step="plan",
            )
        if e.ident in out:
            raise PlanError(
                f"{path_text(path)}: duplicate entry in {side}: {_label(schema, e)}", step="plan"
            )
        out[e.ident] = e
    return out


def _lcs(a: list[Ident], b: list[Ident]) -> set[int]:
    """Indexes into ``b`` of a longest common subsequence of ``a`` and ``b``."""
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    keep = set(range(start)) | set(range(end_b, len(b)))
    ma, mb = a[start:end_a], b[start:end_b]
    n, m = len(ma), len(mb)
    if n and m:
        table = [[0] * (m + 1) for _ in range(n + 1)]
        for i in range(n - 1, -1, -1):
            row, nxt = table[i], table[i + 1]
            for j in range(m - 1, -1, -1):
                row[j] = nxt[j + 1] + 1 if ma[i] == mb[j] else max(nxt[j], row[j + 1])
        i = j = 0
        while i < n and j < m:
            if ma[i] == mb[j]:
                keep.add(start + j)
                i += 1
                j += 1
            elif table[i + 1][j] >= table[i][j + 1]:
                i += 1
            else:
                j += 1
    return keep


@dataclass
class _PathOps:
    removes: list[Operation] = field(default_factory=list)
    upserts: list[Operation] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


def _path_ops(path: Path, schema: PathSchema, old: NPath, new: NPath) -> _PathOps:
    out = _PathOps()
    # Singleton record.
    old_single = old.single.props if old.single else {}
    new_single = new.single.props if new.single else {}
    if old_single != new_single:
        args = _set_args(schema, old_single, new.single)
        out.upserts.append(Operation(path, "set", None, tuple(args)))
        out.changes.append(Change(path, "set", "", *_shown(schema, old.single, new.single)))
    # Existing items changed with set (built-in entries, [ find default=yes ] ...).
    for ident in list(old.sels) + [i for i in new.sels if i not in old.sels]:
        o, n = old.sels.get(ident), new.sels.get(ident)
        op_, np_ = (o.props if o else {}), (n.props if n else {})
        if op_ == np_:
            continue
        ref = n or o
        assert ref is not None
        args = _set_args(schema, op_, n)
        out.upserts.append(Operation(path, "set", ref.where, tuple(args), ref.target))
        out.changes.append(Change(path, "set", _label(schema, ref), *_shown(schema, o, n)))
    # List entries.
    if [(e.ident, e.props) for e in old.adds] == [(e.ident, e.props) for e in new.adds]:
        return out
    old_map = _index(path, schema, old.adds, "running")
    new_map = _index(path, schema, new.adds, "intended")
    all_keys: list[str] = []
    present: set[str] = set()
    if schema.keys:
        present = {k for k in schema.keys if any(k in e.raw for e in old.adds + new.adds)}
    else:
        # Every property name in order of first appearance (gathered in C, filtered once).
        seen = dict.fromkeys(itertools.chain.from_iterable(e.raw for e in old.adds + new.adds))
        all_keys = [k for k in seen if k not in schema.ignore and k[0] != "!"]

    def where(e: NEntry) -> tuple[Condition, ...]:
        if schema.keys:
            return _key_where(schema, e, present)
        return _content_where(schema, e, all_keys)

    if schema.ordered:
        kept_new = _lcs([e.ident for e in old.adds], [e.ident for e in new.adds])
        kept_idents = {new.adds[j].ident for j in kept_new}
    else:
        kept_idents = set(old_map) & set(new_map)
    for e in old.adds:
        if e.ident not in kept_idents:
            out.removes.append(Operation(path, "remove", where(e)))
            moved = e.ident in new_map
            if not moved:
                out.changes.append(
                    Change(
                        path, "remove", _label(schema, e), *_shown(schema, e, None, entry_set=False)
                    )
                )
    for e in new.adds:
        o = old_map.get(e.ident)
        if e.ident in kept_idents and o is not None and o.props != e.props:
            args = _set_args(schema, o.props, e)
            out.upserts.append(Operation(path, "set", where(e), tuple(args)))
            out.changes.append(Change(path, "set", _label(schema, e), *_shown(schema, o, e)))
    adds: list[Operation] = []
    for j in range(len(new.adds) - 1, -1, -1):
        e = new.adds[j]
        if e.ident in kept_idents:
            continue
        before = where(new.adds[j + 1]) if schema.ordered and j + 1 < len(new.adds) else None
        adds.append(Operation(path, "add", None, tuple(e.raw.items()), None, before))
        o = old_map.get(e.ident)
        kind = "move" if o is not None else "add"
        out.changes.append(
            Change(path, kind, _label(schema, e), *_shown(schema, o, e, entry_set=False))
        )
    if not schema.ordered:
        adds.reverse()
    out.upserts.extend(adds)
    return out


def _order(paths: set[Path], schema: Schema, appearance: list[Path]) -> list[Path]:
    seen = {p: i for i, p in enumerate(appearance)}
    return sorted(paths, key=lambda p: (schema.get(p).rank, seen.get(p, len(seen)), p))


def _operations(
    old: RouterOSConfig,
    new: RouterOSConfig,
    n_old: NConfig,
    n_new: NConfig,
    owned: set[Path],
    schema: Schema,
) -> tuple[list[Operation], list[Change], set[Path]]:
    per_path: dict[Path, _PathOps] = {}
    # Dependency order (not set order, which varies between processes), so that of several
    # ambiguous paths the same one is always reported.
    for path in _order(owned, schema, list(new.sections) + list(old.sections)):
        ps = schema.get(path)
        o = n_old.paths.get(path) or NPath(ps)
        n = n_new.paths.get(path) or NPath(ps)
        if o.same_as(n):
            continue
        per_path[path] = _path_ops(path, ps, o, n)
    order = list(per_path)
    ops: list[Operation] = []
    changes: list[Change] = []
    for path in reversed(order):
        ops.extend(per_path[path].removes)
    for path in order:
        ops.extend(per_path[path].upserts)
        changes.extend(per_path[path].changes)
    return ops, changes, set(per_path)


def plan(
    running: RouterOSConfig,
    intended: RouterOSConfig,
    *,
    schema: Schema | None = None,
    host: str | None = None,
    compare_sensitive: bool = True,
) -> Plan:
    """Operations turning ``running`` into ``intended`` and the revert back to ``running``.

    Owned paths (every path with entries in ``intended`` plus those declared with
    ``# kopnet: manage ...``) converge fully; other paths are left alone. Raises
    :class:`PlanError` naming the path and entry when a changed path holds duplicate or
    identity-less entries (never guesses).

    ``compare_sensitive=False`` is for a running config exported without ``show-sensitive``
    (RouterOS 7 then omits secrets): sensitive values are not compared, so they are written
    only with new entries, never "changed" on every run; a changed secret is not detected.
    """
    schema = schema or load_schema()
    if not compare_sensitive:
        schema = schema.blind_to_sensitive()
    owned = intended.owned_paths()
    try:
        # Paths whose entries are literally equal need no normalising at all.
        candidates = {p for p in owned if running.entries(p) != intended.entries(p)}
        memo: dict[Path, Any] = {}  # entries both configs hold are normalised once
        n_running = normalize(running, schema, candidates, memo=memo)
        n_intended = normalize(intended, schema, candidates, memo=memo)
        forward, changes, touched = _operations(
            running, intended, n_running, n_intended, candidates, schema
        )
        revert, _, _ = _operations(intended, running, n_intended, n_running, touched, schema)
    except PlanError as exc:
        if host is not None:
            exc.host = host
        raise
    log.debug("plan for %s: %d operation(s)", host or "device", len(forward))
    return Plan(forward, revert, changes, frozenset(owned), schema)


def target_state(running: RouterOSConfig, intended: RouterOSConfig) -> RouterOSConfig:
    """What the device should hold after the plan: owned paths as intended, others as running."""
    owned = intended.owned_paths()
    sections = {p: list(e) for p, e in running.sections.items() if p not in owned}
    sections.update({p: list(e) for p, e in intended.sections.items() if e})
    return RouterOSConfig(intended.header, sections, intended.managed, intended.source)
