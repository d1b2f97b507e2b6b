"""Console commands in configuration files written by hand, modelled where they can be.

Hand-written configuration scripts (and files pasted together from the console) mix export
lines with commands an export never contains. Those with a declarative meaning become model
entries; the rest are refused with a located :class:`ParseError` that says what to write
instead:

* ``enable X`` / ``disable X`` (``X`` an item, a comma list of items, ``numbers=X`` or
  ``[ find ... ]``) set ``disabled=no`` / ``disabled=yes``;
* ``comment X comment="..."`` sets ``comment``;
* ``remove [ find ]`` (all entries, or all non-dynamic / non-default ones) makes the path
  owned from that point: what came before in the file is dropped, what follows is the whole
  intended content (``# kopnet: manage`` does the same for a path that should end up empty);
* ``remove`` of selected entries, ``move``, ``unset`` and every other command: refused.

When the item was added earlier in the same file, the change is folded into that ``add``
(``add name=x disabled=yes`` + ``enable [ find name=x ]`` is ``add name=x disabled=no``);
otherwise it is kept as a ``set`` on the item, as exports write changes to built-in items.
"""

from __future__ import annotations

from kopnet_iac.errors import ParseError, SourcePosition
from kopnet_iac.platforms.routeros.model import Command, Entry, Path, Selector, path_text

CONSOLE_VERBS = frozenset({"enable", "disable", "comment", "remove", "move", "unset"})
# Conditions that select "every entry the user made": remove [ find dynamic=no ] etc.
_EVERYTHING = {("dynamic", "=", "no"), ("dynamic", "!", ""), ("default", "=", "no")}
_EVERYTHING |= {("default", "!", ""), ("builtin", "!", ""), ("dynamic", "=", "false")}
_WHY = {
    "move": "entry order cannot be a command in a configuration: write the entries in the "
    "order they should end up in (the planner moves them)",
    "unset": "write the entry without the property (an absent property is its default)",
}


class Remove:
    """``remove [ find ]``: the path is owned from here on."""

    __slots__ = ()


REMOVE_ALL = Remove()


def _error(message: str, cmd: Command, source: str, token: str | None = None) -> ParseError:
    return ParseError(message, position=SourcePosition(source, cmd.line, cmd.column), token=token)


def _targets(cmd: Command, source: str) -> tuple[Selector | None, list[str]]:
    """The items a console command acts on: a selector, or item names/numbers."""
    names: list[str] = []
    target = cmd.target if cmd.target is not None else cmd.arg("numbers")
    if target is not None:
        names = [t for t in target.split(",") if t]
    if cmd.selector is not None and names:
        raise _error(f"{cmd.verb}: both an item and [ find ... ]", cmd, source, cmd.verb)
    if cmd.selector is None and not names:
        raise _error(f"{cmd.verb}: which item? (name, number or [ find ... ])", cmd, source)
    if cmd.selector is not None and cmd.selector.exotic:
        raise _error(
            f"{cmd.verb} with a selector that is not plain conditions cannot be modelled",
            cmd,
            source,
            cmd.verb,
        )
    return cmd.selector, names


def console_entries(cmd: Command, source: str) -> list[Entry] | Remove:
    """The model of console command ``cmd`` (a verb of :data:`CONSOLE_VERBS`): ``set``
    entries, :data:`REMOVE_ALL`, or a located :class:`ParseError`."""
    verb = cmd.verb
    where = path_text(cmd.path)
    if verb in _WHY:
        raise _error(f"'{verb}' cannot be modelled: {_WHY[verb]}", cmd, source, verb)
    if verb == "remove":
        selector = cmd.selector
        if (
            selector is not None
            and not selector.exotic
            and cmd.target is None
            and set(selector.conditions) <= _EVERYTHING
        ):
            return REMOVE_ALL
        raise _error(
            f"{where}: removing selected entries cannot be modelled: leave them out of the "
            "configuration (entries of an owned path that are not written are removed), or "
            "use 'remove [ find ]' to own the whole path",
            cmd,
            source,
            verb,
        )
    selector, names = _targets(cmd, source)
    extra = [k for k, _ in cmd.args if k not in ("numbers", "comment")]
    if verb in ("enable", "disable"):
        if extra or cmd.arg("comment") is not None:
            raise _error(f"'{verb}' takes only the item", cmd, source, verb)
        props = {"disabled": "no" if verb == "enable" else "yes"}
    else:  # comment
        text = cmd.arg("comment")
        if text is None or extra:
            raise _error("'comment' needs comment=TEXT and nothing else", cmd, source, verb)
        props = {"comment": text}
    if selector is not None:
        return [Entry("set", dict(props), selector)]
    return [Entry("set", dict(props), None, name) for name in names]


def _matches(entry: Entry, change: Entry) -> bool:
    if entry.verb == "set":  # an earlier change to the same item: merge into it
        return (entry.target, entry.selector) == (change.target, change.selector)
    if entry.verb != "add":
        return False
    if change.target is not None:
        return entry.props.get("name") == change.target
    assert change.selector is not None
    conds = change.selector.conditions
    return bool(conds) and all(
        op == "=" and entry.props.get(key, "") == value for key, op, value in conds
    )


def fold(entries: list[Entry], change: Entry) -> bool:
    """Apply ``change`` (a ``set`` from a console command) to the earlier ``add`` entries it
    names, or to an earlier ``set`` of the same item; ``False`` when there is none (keep it
    as a ``set`` of its own)."""
    hits = [i for i, e in enumerate(entries) if _matches(e, change)]
    for i in hits:
        old = entries[i]
        entries[i] = Entry(old.verb, {**old.props, **change.props}, old.selector, old.target)
    return bool(hits)


def owned_from_here(sections: dict[Path, list[Entry]], managed: list[Path], path: Path) -> None:
    """``remove [ find ]``: drop what the file added to ``path`` so far and own the path."""
    sections.setdefault(path, []).clear()  # in place: the parser may hold this list
    if path not in managed:
        managed.append(path)
