"""Script interpreter: runs ``/import`` files, scheduler ``on-event`` and script sources.

Built on the engine's tokenizer (:func:`~kopnet_iac.platforms.routeros.parser.parse_script`).
It implements the command subset of exports and KopNet plan scripts (see the planner module
docstring): ``add``/``set``/``remove``/``move``/``unset``/``enable``/``disable`` with
``[ find ... ]`` / ``[ find where ... ]`` / ``default=yes`` selectors, item names or numbers,
singleton ``set``, ``!key`` unsets; plus ``/import``, ``/system backup load``, ``/system script
run``, ``/file remove`` and the script words ``:delay``, ``:log`` and ``:put``. Other script
constructs (``:foreach``, ``:if``, ``:local`` ...) stop the script with an error.

Like a real router, an import is not transactional: a syntax error anywhere aborts before any
change, but a command failing at run time aborts at that line and the changes made by the
lines before it stay. The error names the line and column.

Imports are lenient with what real exports contain on hardware the lab does not model: an
unknown menu or property is stored as given, and a ``set`` on a built-in item that does not
exist yet (``set [ find default=yes ]``, ``set [ find default-name=sfp1 ]``, ``set ftp``)
creates that built-in item. Commands from the API or the console stay strict.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from kopnet_iac.errors import ParseError
from kopnet_iac.lab.routeros.printing import same_value
from kopnet_iac.lab.routeros.render import render_reply
from kopnet_iac.lab.routeros.store import Entry, Reply, RosError, format_id
from kopnet_iac.platforms.routeros.model import Command, Selector
from kopnet_iac.platforms.routeros.parser import parse_script, parse_selector, unescape

if TYPE_CHECKING:
    from kopnet_iac.lab.routeros.core import Router

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, None: 1.0}
_TRUTH = {"yes": "true", "no": "false"}
MAX_DELAY = 3600.0


def parse_duration(text: str) -> float:
    """Seconds in a RouterOS duration (``500ms``, ``2s``, ``1m30s``, ``00:00:10``).

    >>> parse_duration("1m30s"), parse_duration("00:00:10"), parse_duration("250ms")
    (90.0, 10.0, 0.25)
    """
    text = text.strip()
    if ":" in text:
        total = 0.0
        for part in text.split(":"):
            total = total * 60 + float(part or 0)
        return total
    total = 0.0
    pos = 0
    while pos < len(text):
        m = _DURATION.match(text, pos)
        if m is None or m.end() == pos:
            raise RosError(f"invalid time value {text}", 1)
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return total


def split_statements(text: str) -> str:
    r"""Turn top-level ``;`` separators into line breaks (outside quotes, brackets and
    ``#`` comment lines).

    >>> split_statements('/a; /b "x;y"\n# c; d\n')
    '/a\n /b "x;y"\n# c; d\n'
    """
    out = []
    depth = 0
    quoted = False
    escaped = False
    comment = False
    line_start = True
    for ch in text:
        if comment:
            comment = ch != "\n"
            line_start = not comment
            out.append(ch)
            continue
        if line_start and ch == "#" and not quoted and depth == 0:
            comment = True  # a comment runs to the end of the line, ``;`` included
            out.append(ch)
            continue
        if ch not in " \t":
            line_start = ch == "\n"
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif not quoted and ch in "[({":
            depth += 1
        elif not quoted and ch in "])}":
            depth -= 1
        elif ch == ";" and not quoted and depth == 0:
            out.append("\n")
            continue
        out.append(ch)
    return "".join(out)


def parse_commands(text: str, source: str) -> list[Command]:
    """:func:`parse_script` with bare flag words (``add ... passive``) read as ``yes``."""
    return parse_script(text, source, bare_flag="yes")


def _norm(value: str) -> str:
    return _TRUTH.get(value, value)


def _matches(row: dict[str, str], cond: tuple[str, str, str]) -> bool:
    key, op, value = cond
    have = row.get(key, "")
    if op == "=":
        return same_value(key, have, value)
    if op == "!=":
        return not same_value(key, have, value)
    if op == "~":
        try:
            return re.search(value, have) is not None
        except re.error:
            raise RosError(f"invalid regular expression {value}", 1) from None
    if op in ("<", ">"):
        try:
            left, right = int(have), int(value)
        except ValueError:
            return False
        return left < right if op == "<" else left > right
    if op == "!":
        return _norm(have) in ("", "false")
    return _norm(have) not in ("", "false")


class Interpreter:
    """Runs script text on a :class:`Router`."""

    def __init__(self, router: Router) -> None:
        self.router = router

    def select(self, path: str, selector: Selector) -> list[Entry]:
        if selector.exotic:
            raise RosError("unsupported find expression in the lab emulator", 1)
        out = []
        for entry, row in self.router.rows(path):
            if entry is not None and all(_matches(row, cond) for cond in selector.conditions):
                out.append(entry)
        return out

    def items_of(self, cmd: Command, path: str, *, lenient: bool) -> list[Entry] | None:
        """Entries a command names (None: no item given)."""
        if cmd.selector is not None:
            found = self.select(path, cmd.selector)
            if not found and lenient and cmd.verb == "set":
                return [self._vivify(path, cmd.selector.raw, cmd.selector)]
            return found
        if cmd.target is not None:
            words = [w for w in cmd.target.split(",") if w]
            try:
                return self.router.resolve_items(path, words)
            except RosError:
                if lenient and cmd.verb == "set" and len(words) == 1:
                    return [self._vivify(path, words[0], None)]
                raise
        return None

    def _vivify(self, path: str, written: str, selector: Selector | None) -> Entry:
        base: dict[str, str] = {}
        if selector is not None:
            for key, op, value in selector.conditions:
                if op == "=" and key != "default":
                    base[key] = value
            if "default-name" in base:
                base.setdefault("name", base["default-name"])
            written = selector.raw.replace("[find", "[ find").replace("  ", " ")
        elif not written.isdigit() and not written.startswith("*"):
            base["name"] = written
        return self.router.store.add(path, {}, builtin=written, base=base)

    async def run_command(self, cmd: Command, *, lenient: bool, out: list[str]) -> Reply | None:
        if cmd.raw:
            await self._script_word(cmd, out)
            return None
        if cmd.verb == "":
            return None
        path = " ".join(cmd.path)
        args: dict[str, str] = {}
        unset: list[str] = []
        for key, value in cmd.args:
            if key.startswith("!") and not value and cmd.verb != "add":
                unset.append(key[1:])
            else:
                args[key] = value
        for key in ("place-before", "destination"):
            value = args.get(key, "")
            if value.startswith("["):
                found = self.select(path, parse_selector(value))
                if len(found) != 1:
                    raise RosError(f"{key}: expected exactly one item, found {len(found)}", 1)
                args[key] = format_id(found[0].id)
        if cmd.verb in ("ping", "import", "run", "load") and cmd.target is not None:
            args.setdefault(
                {"run": "number", "load": "name"}.get(
                    cmd.verb, "address" if cmd.verb == "ping" else "file-name"
                ),
                cmd.target,
            )
            items = None
        elif path == "file" and cmd.target is not None:
            args["numbers"] = cmd.target
            items = None
        elif path == "file" and cmd.selector is not None:
            rows = [row for _, row in self.router.rows("file")]
            conds = cmd.selector.conditions
            args["numbers"] = ",".join(
                row["name"] for row in rows if all(_matches(row, c) for c in conds)
            )
            items = None
        else:
            items = self.items_of(cmd, path, lenient=lenient)
        if cmd.verb == "set" and items is not None and not items:
            return Reply()  # an empty [ find ] changes nothing
        if cmd.verb == "remove" and items is None and path != "file":
            raise RosError("expected item number or name", 1)
        if cmd.verb == "set" and items is None and lenient and not self.router.store.entries(path):
            self.router.validate(path, args, lenient=True)
            self.router.store.set_singleton(path, args)
            reply = Reply()
        else:
            reply = await self.router.execute(path, cmd.verb, args, items, lenient=lenient)
        if unset:
            if items is None:
                menu = self.router.store.menu(path)
                assert menu is not None
                for key in unset:
                    menu.props.pop(key, None)
                self.router.store.dirty = True
            else:
                self.router.store.unset_entries(items, unset)
        return reply

    async def _script_word(self, cmd: Command, out: list[str]) -> None:
        word = cmd.verb
        rest = cmd.raw[len(word) :].strip()
        if word == ":delay":
            await asyncio.sleep(min(parse_duration(unescape(rest.strip('"'))), MAX_DELAY))
        elif word == ":log":
            level, _, message = rest.partition(" ")
            if level not in ("info", "warning", "error", "debug"):
                raise RosError("bad command name", 0)
            self.router.log_message(f"script,{level}", _unquote(message))
        elif word == ":put":
            out.append(_unquote(rest))
        else:
            raise RosError(f"script command {word} is not supported by the lab emulator", 0)

    async def run_text(
        self,
        text: str,
        *,
        source: str,
        dry_run: bool = False,
        console: bool = False,
        lenient: bool = True,
    ) -> list[str]:
        """Run a whole script; returns what it printed. Raises :class:`RosError` on failure."""
        try:
            commands = parse_commands(split_statements(text), source)
        except ParseError as exc:
            pos = exc.position
            where = f" (line {pos.line} column {pos.column})" if pos else ""
            raise RosError(f"syntax error{where}", 1) from None
        saved = self.router.store.to_json() if dry_run else None
        out: list[str] = []
        try:
            for cmd in commands:
                if dry_run and cmd.verb in ("reboot", "load", "reset-configuration", "run"):
                    continue
                try:
                    reply = await self.run_command(cmd, lenient=lenient, out=out)
                except RosError as exc:
                    if exc.category == -1:
                        raise
                    raise RosError(
                        f"{exc.message} (line {cmd.line} column {cmd.column})", exc.category
                    ) from None
                if console and reply is not None:
                    path = " ".join(cmd.path)
                    text = render_reply(cmd.verb, reply, self.router.is_singleton(path))
                    if text:
                        out.append(text)
        finally:
            if saved is not None:
                self.router.store.load_json(saved)
        return out


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return unescape(text[1:-1])
    return text
