"""Typed model of RouterOS command lines and configuration exports.

Two levels:

* :class:`Command` is one logical command line of an export or script (what ``/import`` runs),
  produced by :func:`kopnet_iac.platforms.routeros.parser.parse_script`.
* :class:`RouterOSConfig` is an export as data: header facts plus, per menu path, the ordered
  entries (``add`` lines, ``set`` lines on existing items, singleton ``set`` lines).
"""

from __future__ import annotations

from dataclasses import dataclass, field

Path = tuple[str, ...]
Condition = tuple[str, str, str]
"""One ``find`` condition ``(key, op, value)``; op is ``=``, ``!=``, ``~``, ``<``, ``>``,
``!`` (key is not set / false) or ``""`` (key is set / true)."""


def path_text(path: Path) -> str:
    """``("ip", "address")`` -> ``"/ip address"``."""
    return "/" + " ".join(path)


@dataclass(frozen=True)
class Selector:
    """The ``[ find ... ]`` part of a command.

    ``conditions`` are ANDed; ``default`` is the ``default=yes`` shorthand (the condition is kept
    in ``conditions`` too); ``where`` records whether the ``where`` keyword was written; ``raw``
    is the bracket text as written (useful when ``exotic`` is set: an ``||``, a nested command or
    anything else this model does not express as plain conditions).
    """

    conditions: tuple[Condition, ...] = ()
    default: bool = False
    where: bool = False
    raw: str = ""
    exotic: bool = False

    def canonical(self) -> tuple[Condition, ...]:
        """Order-free identity of the selection (``find`` and ``find where`` are the same)."""
        return tuple(sorted(self.conditions))


@dataclass(frozen=True)
class Command:
    """One logical command line (continuations joined), in file order.

    ``path`` is the menu the command acts on (the current section applied). ``verb`` is the
    command word (``add``, ``set``, ``remove``, ...) or, for script lines starting with ``:``,
    the whole word (``":delay"``) with the line text in ``raw``. ``target`` is a plain item name
    or number (``set ether1 ...``, ``set 0 ...``). ``args`` keep order; values are unescaped, a
    bare flag has value ``""`` and a negation ``!key`` is kept as key ``"!key"``. Values written
    as ``[ ... ]``, ``( ... )`` or ``{ ... }`` are kept as their raw text, brackets included.
    A line that only changes the current section (``/ip address``) has verb ``""``.
    """

    path: Path
    verb: str
    selector: Selector | None = None
    target: str | None = None
    args: tuple[tuple[str, str], ...] = ()
    line: int = 0
    column: int = 0
    raw: str = ""

    def arg(self, key: str, default: str | None = None) -> str | None:
        """Value of the first argument named ``key``."""
        for k, v in self.args:
            if k == key:
                return v
        return default


@dataclass(frozen=True)
class Entry:
    """One configuration line of a menu.

    ``verb`` is ``add`` (a new list item) or ``set`` (a change to an existing item chosen by
    ``selector`` / ``target``, or to a singleton menu when both are ``None``). ``props`` is
    ordered (emit order) but compared as a mapping.
    """

    verb: str
    props: dict[str, str] = field(default_factory=dict)
    selector: Selector | None = None
    target: str | None = None

    def __hash__(self) -> int:  # pragma: no cover - entries are compared, rarely hashed
        return hash((self.verb, tuple(sorted(self.props.items())), self.selector, self.target))


_new_object = object.__new__
_set_field = object.__setattr__


def plain_entry(verb: str, props: dict[str, str]) -> Entry:
    """``Entry(verb, props)`` without selector or target, built about twice as fast as the
    frozen dataclass constructor (the parser makes one per export line); the other fields
    read their defaults from the class."""
    entry = _new_object(Entry)
    _set_field(entry, "verb", verb)
    _set_field(entry, "props", props)
    return entry


@dataclass(frozen=True)
class Header:
    """Facts from the export's leading comment block (``date`` is volatile)."""

    version: str | None = None
    date: str | None = None
    software_id: str | None = None
    system_id: str | None = None
    model: str | None = None
    serial: str | None = None


@dataclass
class RouterOSConfig:
    """A configuration export: header plus entries per menu path, in first-appearance order.

    ``managed`` lists extra paths declared owned with a ``# kopnet: manage /a b, /c`` comment
    (every path that has entries is owned anyway; see ``owned_paths``).
    """

    header: Header = field(default_factory=Header)
    sections: dict[Path, list[Entry]] = field(default_factory=dict)
    managed: tuple[Path, ...] = ()
    source: str = "<string>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RouterOSConfig):
            return NotImplemented
        return (
            self.header == other.header
            and self.managed == other.managed
            and list(self.sections.items()) == list(other.sections.items())
        )

    __hash__ = None  # type: ignore[assignment]

    def entries(self, path: Path) -> list[Entry]:
        """Entries of ``path`` (empty list when absent)."""
        return self.sections.get(path, [])

    def add_entry(self, path: Path, entry: Entry) -> None:
        self.sections.setdefault(path, []).append(entry)

    def owned_paths(self) -> set[Path]:
        """Paths this config converges: every path with entries plus declared ``managed``."""
        return {p for p, e in self.sections.items() if e} | set(self.managed)

    def line_count(self) -> int:
        return sum(len(e) for e in self.sections.values())
