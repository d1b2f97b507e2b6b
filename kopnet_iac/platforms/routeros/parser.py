"""Hand-written scanner and parser for RouterOS export and script text.

Handles RouterOS 6 and 7 exports, sectioned (``/path`` then ``add``/``set`` lines) and terse
(``/path add ...``) forms mixed freely, ``\\`` continuations with indentation, CRLF line ends,
quoting and escapes (``\\"``, ``\\\\``, ``\\$``, ``\\?``, ``\\_``, ``\\r\\n``, ``\\t``, hex ``\\C3\\A9``),
``[ find ... ]`` selectors and the header comment block.

The lexer (:mod:`~kopnet_iac.platforms.routeros.lexer`) works token by token with precompiled
regular expressions (never a regex per character). Two entry points:

* :func:`parse_script` - every command line in order, for interpreters (the lab emulator);
* :func:`parse_export` - an export as a :class:`~kopnet_iac.platforms.routeros.model.RouterOSConfig`.

In an export, a bare flag word (``add ... passive``) means ``yes`` and is stored as
``passive="yes"``; :func:`parse_script` keeps it as ``""`` for interpreters.

Configuration files written by hand may use console commands: ``enable``, ``disable``,
``comment`` and ``remove [ find ]`` are modelled, others (``move``, selective ``remove``,
``unset``, ``print`` ...) are located errors (see :mod:`~kopnet_iac.platforms.routeros.console`).

Leniencies for real-world files (each logged as a warning): an indented ``key=value`` line that
does not follow a ``\\`` is joined to the previous command (hand-wrapped exports), and a MIME
multipart boundary line (``-----...``, a web-upload artefact) is skipped.
"""

from __future__ import annotations

import logging
import re
from operator import methodcaller

from kopnet_iac.errors import NotAnExportError, ParseError, SourcePosition
from kopnet_iac.platforms.routeros.console import (
    CONSOLE_VERBS,
    Remove,
    console_entries,
    fold,
    owned_from_here,
)
from kopnet_iac.platforms.routeros.lexer import (
    _FAST_FIND,
    _PATH_WORD,
    _fast_tokens,
    _Line,
    _logical_lines,
    _Token,
    _tokens,
    parse_selector,
    read_line,
    shown_token,
    unescape,
)
from kopnet_iac.platforms.routeros.model import (
    Command,
    Entry,
    Header,
    Path,
    RouterOSConfig,
    Selector,
    plain_entry,
)

__all__ = ["KNOWN_VERBS", "parse_export", "parse_script", "parse_selector", "unescape"]

log = logging.getLogger(__name__)

KNOWN_VERBS = frozenset(
    {
        "add", "set", "remove", "move", "unset", "enable", "disable", "comment", "print",
        "export", "import", "edit", "find", "get", "run", "monitor", "ping", "quit", "reboot",
        "shutdown", "save", "load", "flush", "reset", "reset-counters", "reset-counters-all",
        "reset-configuration", "make-static", "release", "renew", "install",
        "check-for-updates", "fetch", "cancel", "blink", "start", "stop",
    }
)  # fmt: skip
_PLAIN_VERBS = frozenset({"add", "set"})
# Verbs whose first bare word is a flag, not an item name.
_FLAG_VERBS = frozenset({"add", "print", "export", "import", "find"})
# Verbs that make sense without arguments: ``/export`` runs, ``/tool mac-server ping`` is a menu.
_STANDALONE = frozenset(
    {
        "add",
        "print",
        "export",
        "quit",
        "reboot",
        "shutdown",
        "install",
        "check-for-updates",
        "flush",
    }
)

_FAST_VERBS = frozenset({"add ", "set "})
_INDENT = frozenset({" ", "\t"})
_SPLIT_PAIR = methodcaller("split", "=", 1)
_HEADER = re.compile(r"#\s*(?:(?P<date>.*?)\s*)?\bby RouterOS (?P<v>\S+)|#\s*RouterOS (?P<v2>\S+)")
_HEADER_FIELD = re.compile(r"#\s*(software id|system id|model|serial number)\s*=\s*(.*?)\s*\Z")
_MANAGE = re.compile(r"#\s*kopnet:\s*manage\s+(.*)\Z")


def _command(line: _Line, section: Path, source: str, flag_value: str = "") -> Command:
    s = line.text
    lineno, col0 = line.offsets[0]
    if s[0] in ":{$[":
        word = s.split(None, 1)[0] if s[0] != "{" else "{"
        return Command(section, word, line=lineno, column=col0 + 1, raw=s)
    fast = _fast_tokens(s)
    if fast is not None:
        try:
            return _build(line, section, source, flag_value, fast)
        except ParseError:
            pass  # redo with positions tracked, for an exact error
    return _build(line, section, source, flag_value, _tokens(line, source))


def _build(line: _Line, section: Path, source: str, flag_value: str, toks: list[_Token]) -> Command:
    s = line.text
    lineno, col0 = line.offsets[0]
    if not toks:  # only characters the tokenizer skips (e.g. "\r ")
        raise ParseError("expected a command", position=line.position(source, 0))
    first = toks[0]
    if first[0] == "w" and first[1] in _PLAIN_VERBS and all(t[0] == "kv" for t in toks[1:]):
        # The common export line: "add k=v ..." in the current section.
        plain = tuple([(t[1], t[2]) for t in toks[1:]])
        return Command(section, first[1], None, None, plain, lineno, col0 + 1)
    path: list[str] = []
    words: list[str] = []
    absolute = False
    i = 0
    if toks[0][0] == "w" and toks[0][1].startswith("/"):
        absolute = True
        parts = [p for p in toks[0][1].split("/") if p]
        if not all(_PATH_WORD.match(p) for p in parts):
            raise ParseError(
                "bad menu path",
                position=line.position(source, toks[0][3]),
                token=shown_token(toks[0][1], s, section),
            )
        words.extend(parts)
        i = 1
    while i < len(toks) and toks[i][0] == "w" and _PATH_WORD.match(toks[i][1]):
        words.append(toks[i][1])
        i += 1
    rest = toks[i:]
    verb_at = -1
    for k in range(len(words) - 1, -1, -1):
        if words[k] in KNOWN_VERBS:
            verb_at = k
            break
    verb = ""
    if (
        not rest
        and absolute
        and (verb_at < 0 or (verb_at == len(words) - 1 and words[verb_at] not in _STANDALONE))
    ):
        verb_at = len(words)  # a section line: every word is part of the path
    elif verb_at < 0 and words:
        verb_at = len(words) - 1 if absolute else 0
    elif verb_at < 0:
        kind, val, _, off = toks[0]
        raise ParseError(
            "expected a command",
            position=line.position(source, off),
            token=shown_token(val if kind == "w" else None, s, section),
        )
    if verb_at < len(words):
        verb = words[verb_at]
        rest = toks[i - (len(words) - verb_at - 1) : i] + rest
    words = words[:verb_at]
    path.extend(words)
    full: Path = tuple(path) if absolute else section + tuple(path)
    selector: Selector | None = None
    target: str | None = None
    args: list[tuple[str, str]] = []
    positional_taken = False
    for kind, a, b, off in rest:
        if kind == "kv":
            args.append((a, b))
        elif kind == "b":
            if not positional_taken and a.startswith("["):
                selector = parse_selector(a)
                positional_taken = True
            else:
                args.append(("", a))
        elif not positional_taken and verb not in _FLAG_VERBS and not a.startswith("!"):
            target = a
            positional_taken = True
        else:
            if kind == "w" and a.startswith("/"):
                raise ParseError(
                    "unexpected path",
                    position=line.position(source, off),
                    token=shown_token(a, s, section),
                )
            args.append((a, "" if a.startswith("!") else flag_value))
    if not verb and (args or selector or target):
        first_word = toks[0][1] if toks[0][0] == "w" else None
        raise ParseError(
            "expected a command",
            position=line.position(source, toks[0][3]),
            token=shown_token(first_word, s, section),
        )
    return Command(full, verb, selector, target, tuple(args), lineno, col0 + 1)


def parse_script(text: str, source: str = "<string>", *, bare_flag: str = "") -> list[Command]:
    """Every command line of an export or script, continuations joined, in order.

    Section lines (``/ip address`` alone) are returned too, with ``verb == ""``; the section
    they open is applied to the ``path`` of the following relative commands. Script lines
    (``:delay``, ``:foreach``, ``{ ... }``) come back with ``verb`` = their first word and the
    text (multi-line blocks joined) in ``raw``. Raises :class:`ParseError` with position and
    token on malformed text. ``bare_flag`` is the value given to a bare flag word
    (``add ... passive``): ``""`` by default, ``"yes"`` to read it as an export does.
    """
    out: list[Command] = []
    section: Path = ()
    for line in _logical_lines(text, source):
        if line.is_comment:
            continue
        cmd = _command(line, section, source, flag_value=bare_flag)
        if cmd.verb == "":
            section = cmd.path
        out.append(cmd)
    return out


def _parse_header(comments: list[str]) -> Header:
    fields: dict[str, str | None] = {}
    for c in comments:
        m = _HEADER.match(c)
        if m:
            fields["version"] = m.group("v") or m.group("v2")
            date = m.group("date")
            fields["date"] = date.strip() if date and date.strip() else None
            continue
        f = _HEADER_FIELD.match(c)
        if f:
            key = {
                "software id": "software_id",
                "system id": "system_id",
                "serial number": "serial",
            }
            fields[key.get(f.group(1), f.group(1))] = f.group(2)
    return Header(**fields)


def _fast_entry(s: str) -> Entry | None:
    """The common export line (``add k=v ...`` / ``set k=v ...`` without brackets) straight
    to an entry; ``None`` sends the line through the general path."""
    verb = s[:4]
    if verb not in _FAST_VERBS or "[" in s or "(" in s or "{" in s:
        return None
    props: dict[str, str] | None = None
    if '"' not in s:
        # Only whitespace-separated key=value words (the usual line): split them in C.
        try:
            props = dict(map(_SPLIT_PAIR, s.split()[1:]))
        except ValueError:  # a bare word: read token by token below
            props = None
        if props is not None and "" not in props:
            if "\\" in s:
                props = {k: unescape(v) for k, v in props.items()}
            return plain_entry(verb[:3], props)
    props = {}
    for word, eq, qv, uv, _q, other in _FAST_FIND.findall(s, 4):
        if other:
            return None
        if not eq:
            if not word or verb == "set ":
                return None  # a quoted word or an item name: general path
            props[word] = "" if word[0] == "!" else "yes"
            continue
        value = qv or uv
        props[word] = unescape(value) if "\\" in value else value
    return plain_entry(verb[:3], props)


def parse_export(text: str, source: str = "<string>") -> RouterOSConfig:
    """Parse an export into a :class:`RouterOSConfig`.

    Raises :class:`NotAnExportError` when the text contains script lines (``:delay``,
    ``:foreach`` ...) outside property values, and :class:`ParseError` (with line, column and
    token) on malformed text or commands an export never contains.
    """
    config = RouterOSConfig(source=source)
    header_comments: list[str] = []
    in_header = True
    managed: list[Path] = []
    section: Path = ()
    raw_lines = text.split("\n")
    n = len(raw_lines)
    i = 0
    entries: list[Entry] = []  # of the current section
    while i < n:
        s = raw_lines[i].rstrip("\r")
        if (
            section
            and s[:4] in _FAST_VERBS
            and s[-1] != "\\"
            and (i + 1 >= n or raw_lines[i + 1][:1] not in _INDENT)
        ):
            # A whole "add k=v ..." line, not continued: skip the logical-line machinery.
            entry = _fast_entry(s)
            if entry is not None:
                in_header = False
                entries.append(entry)
                i += 1
                continue
        elif s[:1] == "/" and "/" not in s[1:] and "=" not in s and s[-1] != "\\":
            menu = s[1:].split()
            if (
                menu
                and (i + 1 >= n or raw_lines[i + 1][:1] not in _INDENT)
                and all(w not in KNOWN_VERBS and _PATH_WORD.match(w) for w in menu)
            ):
                # A section line ("/ip address"): nothing but menu words.
                in_header = False
                section = tuple(menu)
                entries = config.sections.setdefault(section, [])
                i += 1
                continue
        line, i = read_line(raw_lines, i, source)
        if line is None:
            continue
        if line.is_comment:
            m = _MANAGE.match(line.text)
            if m:
                for item in m.group(1).split(","):
                    words = tuple(w for w in item.replace("/", " ").split() if w)
                    if words:
                        managed.append(words)
            elif in_header:
                header_comments.append(line.text)
            continue
        in_header = False
        if section:
            entry = _fast_entry(line.text)
            if entry is not None:
                entries.append(entry)
                continue
        cmd = _command(line, section, source, flag_value="yes")
        verb = cmd.verb
        if cmd.raw or verb not in _PLAIN_VERBS or not cmd.path:
            pos = SourcePosition(source, cmd.line, cmd.column)
            if cmd.raw:
                raise NotAnExportError(
                    "script command in what should be an export",
                    position=pos,
                    token=shown_token(verb, line.text, cmd.path),
                )
            if verb == "":
                section = cmd.path
                entries = config.sections.setdefault(section, [])
                continue
            if cmd.path and verb in CONSOLE_VERBS:
                modelled = console_entries(cmd, source)
                if isinstance(modelled, Remove):
                    owned_from_here(config.sections, managed, cmd.path)
                    continue
                path_entries = config.sections.setdefault(cmd.path, [])
                for change in modelled:
                    if not fold(path_entries, change):
                        path_entries.append(change)
                continue
            if not cmd.path:
                raise ParseError(
                    "command outside any menu",
                    position=pos,
                    token=shown_token(verb, line.text, cmd.path),
                )
            raise ParseError(
                "not an export command", position=pos, token=shown_token(verb, line.text, cmd.path)
            )
        props = dict(cmd.args)
        if "" in props:
            pos = SourcePosition(source, cmd.line, cmd.column)
            raise ParseError("unexpected positional value", position=pos)
        config.sections.setdefault(cmd.path, []).append(
            Entry(verb, props, cmd.selector, cmd.target)
        )
    config.header = _parse_header(header_comments)
    config.managed = tuple(managed)
    # Drop sections that stayed empty (a bare "/path" line with no entries).
    config.sections = {p: e for p, e in config.sections.items() if e}
    return config
