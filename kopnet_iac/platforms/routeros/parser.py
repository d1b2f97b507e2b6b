"""Hand-written scanner and parser for RouterOS export and script text.

Handles RouterOS 6 and 7 exports, sectioned (``/path`` then ``add``/``set`` lines) and terse
(``/path add ...``) forms mixed freely, ``\\`` continuations with indentation, CRLF line ends,
quoting and escapes (``\\"``, ``\\\\``, ``\\$``, ``\\?``, ``\\_``, ``\\r\\n``, ``\\t``, hex ``\\C3\\A9``),
``[ find ... ]`` selectors and the header comment block.

The scanner works token by token with precompiled regular expressions (never a regex per
character). Two entry points:

* :func:`parse_script` - every command line in order, for interpreters (the lab emulator);
* :func:`parse_export` - an export as a :class:`~kopnet_iac.platforms.routeros.model.RouterOSConfig`.

In an export, a bare flag word (``add ... passive``) means ``yes`` and is stored as
``passive="yes"``; :func:`parse_script` keeps it as ``""`` for interpreters.

Leniencies for real-world files (each logged as a warning): an indented ``key=value`` line that
does not follow a ``\\`` is joined to the previous command (hand-wrapped exports), and a MIME
multipart boundary line (``-----...``, a web-upload artefact) is skipped.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_right
from collections.abc import Iterator

from kopnet_iac.errors import NotAnExportError, ParseError, SourcePosition
from kopnet_iac.platforms.routeros.model import (
    Command,
    Condition,
    Entry,
    Header,
    Path,
    RouterOSConfig,
    Selector,
)

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

_WS = re.compile(r"[ \t]*")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
_WORD = re.compile(r'[^\s=\[\]"(){}]+')
_UNQUOTED_VALUE = re.compile(r"\S*")
_PATH_WORD = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
_ESCAPE = re.compile(r"\\([0-9A-F]{2}|.)", re.S)
_BOUNDARY = re.compile(r"-{5,}[-A-Za-z0-9'()+_,./:=?]*\Z")
_INDENTED_KV = re.compile(r"[ \t]+[a-z0-9!.-]+=")
# Fast path for the common line without brackets: one C-level scan for every token.
_FAST_TOKEN = r'([^\s=\[\]"(){}]+)(?:(=)(?:"((?:[^"\\]|\\.)*)"|([^\s"]*)))?|"((?:[^"\\]|\\.)*)"'
_FAST_FIND = re.compile(_FAST_TOKEN, re.S)
_FAST_FULL = re.compile(r"[ \t]*(?:(?:" + _FAST_TOKEN + r")(?:[ \t]+|\Z))*\Z", re.S)
_COND = re.compile(
    r"(?P<neg>!)?(?P<key>[A-Za-z0-9._-]+)[ \t]*"
    r'(?:(?P<op>!=|=|~|<|>)[ \t]*(?P<val>"(?:[^"\\]|\\.)*"|[^\s\[\]()&|"]*))?',
    re.S,
)
_SIMPLE_ESCAPES = {
    "n": "\n", "r": "\r", "t": "\t", "a": "\x07", "b": "\x08", "f": "\x0c", "v": "\x0b",
    "_": " ", '"': '"', "\\": "\\", "$": "$", "?": "?",
}  # fmt: skip
_HEADER = re.compile(r"#\s*(?:(?P<date>.*?)\s*)?\bby RouterOS (?P<v>\S+)|#\s*RouterOS (?P<v2>\S+)")
_HEADER_FIELD = re.compile(r"#\s*(software id|system id|model|serial number)\s*=\s*(.*?)\s*\Z")
_MANAGE = re.compile(r"#\s*kopnet:\s*manage\s+(.*)\Z")


def unescape(text: str) -> str:
    """Decode RouterOS escapes; consecutive hex escapes form UTF-8 bytes.

    >>> unescape(r'caf\\C3\\A9 \\"x\\" \\$y')
    'café "x" $y'
    """
    if "\\" not in text:
        return text
    out: list[str] = []
    pending = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(text):
        if m.start() > pos:
            if pending:
                out.append(pending.decode("utf-8", "surrogateescape"))
                pending.clear()
            out.append(text[pos : m.start()])
        code = m.group(1)
        if len(code) == 2:
            pending.append(int(code, 16))
        else:
            if pending:
                out.append(pending.decode("utf-8", "surrogateescape"))
                pending.clear()
            out.append(_SIMPLE_ESCAPES.get(code, code))
        pos = m.end()
    if pending:
        out.append(pending.decode("utf-8", "surrogateescape"))
    out.append(text[pos:])
    return "".join(out)


class _Line:
    """A logical line: physical lines joined, with a map back to source positions."""

    __slots__ = ("is_comment", "offsets", "starts", "text")

    def __init__(self, text: str, starts: list[int], offsets: list[tuple[int, int]], comment: bool):
        self.text = text
        self.starts = starts  # logical offset where each segment starts
        self.offsets = offsets  # (line, column0) of each segment start
        self.is_comment = comment

    def position(self, source: str, offset: int) -> SourcePosition:
        i = max(bisect_right(self.starts, offset) - 1, 0)
        line, col0 = self.offsets[i]
        return SourcePosition(source, line, col0 + (offset - self.starts[i]) + 1)


def _open_braces(text: str) -> int:
    """Unclosed ``{`` count outside quoted strings (multi-line script blocks)."""
    if "{" not in text:
        return 0
    depth = 0
    pos = 0
    n = len(text)
    while pos < n:
        c = text[pos]
        if c == '"':
            m = _QUOTED.match(text, pos)
            if m is None:
                return depth
            pos = m.end()
            continue
        if c == "\\":
            pos += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        pos += 1
    return depth


def _logical_lines(text: str, source: str) -> Iterator[_Line]:
    raw_lines = text.split("\n")
    i = 0
    n = len(raw_lines)
    while i < n:
        line = raw_lines[i].rstrip("\r")
        lineno = i + 1
        i += 1
        stripped = line.lstrip(" \t")
        if not stripped:
            continue
        col0 = len(line) - len(stripped)
        if stripped[0] == "#":
            yield _Line(stripped, [0], [(lineno, col0)], True)
            continue
        if stripped[0] == "-" and _BOUNDARY.match(stripped):
            log.warning("%s:%d: skipping a MIME boundary line", source, lineno)
            continue
        if (
            not stripped.endswith("\\")
            and (i >= n or raw_lines[i][:1] not in (" ", "\t"))
            and stripped[0] not in ":{"
        ):
            yield _Line(stripped, [0], [(lineno, col0)], False)  # the common one-line case
            continue
        parts = [stripped]
        starts = [0]
        offsets = [(lineno, col0)]
        length = len(stripped)
        while True:
            cur = parts[-1]
            trailing = len(cur) - len(cur.rstrip("\\")) if cur.endswith("\\") else 0
            if trailing % 2 == 1 and i < n:
                parts[-1] = cur[:-1]
                length -= 1
                nxt = raw_lines[i].rstrip("\r")
                body = nxt.lstrip(" \t")
                starts.append(length)
                offsets.append((i + 1, len(nxt) - len(body)))
                parts.append(body)
                length += len(body)
                i += 1
                continue
            if i < n and stripped[0] not in ":{$" and _INDENTED_KV.match(raw_lines[i]):
                nxt = raw_lines[i].rstrip("\r")
                body = nxt.lstrip(" \t")
                log.warning(
                    "%s:%d: indented line without '\\' joined to the command", source, i + 1
                )
                parts.append(" ")
                length += 1
                starts.append(length)
                offsets.append((i + 1, len(nxt) - len(body)))
                parts.append(body)
                length += len(body)
                i += 1
                continue
            if i < n and stripped[0] in ":{" and _open_braces("".join(parts)) > 0:
                nxt = raw_lines[i].rstrip("\r")
                parts.append("\n")
                length += 1
                starts.append(length)
                offsets.append((i + 1, 0))
                parts.append(nxt)
                length += len(nxt)
                i += 1
                continue
            break
        yield _Line("".join(parts), starts, offsets, False)


def _balanced(s: str, pos: int, line: _Line, source: str) -> int:
    """End offset (exclusive) of the bracket group starting at ``pos``."""
    pairs = {"[": "]", "(": ")", "{": "}"}
    stack = [pairs[s[pos]]]
    p = pos + 1
    n = len(s)
    while p < n:
        c = s[p]
        if c == '"':
            m = _QUOTED.match(s, p)
            if m is None:
                raise ParseError(
                    "unterminated string", position=line.position(source, p), token=s[p : p + 20]
                )
            p = m.end()
            continue
        if c == "\\":
            p += 2
            continue
        if c in pairs:
            stack.append(pairs[c])
        elif c == stack[-1]:
            stack.pop()
            if not stack:
                return p + 1
        elif c in ")]}":
            raise ParseError("mismatched bracket", position=line.position(source, p), token=c)
        p += 1
    raise ParseError(
        "unclosed bracket", position=line.position(source, pos), token=s[pos : pos + 20]
    )


# Token kinds: "w" bare word, "q" quoted word, "b" bracket group, "kv" key=value.
_Token = tuple[str, str, str, int]


def _fast_tokens(s: str) -> list[_Token] | None:
    """Tokens of a bracket-free line in one regex pass (offsets are not tracked: -1)."""
    if "[" in s or "(" in s or "{" in s or _FAST_FULL.match(s) is None:
        return None
    out: list[_Token] = []
    for word, eq, qv, uv, q in _FAST_FIND.findall(s):
        if word:
            if eq:
                value = qv or uv
                out.append(("kv", word, unescape(value) if "\\" in value else value, -1))
            else:
                out.append(("w", word, "", -1))
        else:
            out.append(("q", unescape(q), "", -1))
    return out


def _tokens(line: _Line, source: str) -> list[_Token]:
    s = line.text
    n = len(s)
    pos = 0
    out: list[_Token] = []
    while True:
        pos = _WS.match(s, pos).end()  # type: ignore[union-attr]
        if pos >= n:
            return out
        c = s[pos]
        if c == '"':
            m = _QUOTED.match(s, pos)
            if m is None:
                raise ParseError(
                    "unterminated string",
                    position=line.position(source, pos),
                    token=s[pos : pos + 20],
                )
            out.append(("q", unescape(m.group(1)), "", pos))
            pos = m.end()
        elif c in "[({":
            end = _balanced(s, pos, line, source)
            out.append(("b", s[pos:end], "", pos))
            pos = end
        else:
            m = _WORD.match(s, pos)
            if m is None:
                raise ParseError(
                    "unexpected character", position=line.position(source, pos), token=c
                )
            word = m.group()
            start = pos
            pos = m.end()
            if pos < n and s[pos] == "=":
                pos += 1
                if pos >= n or s[pos] in " \t":
                    out.append(("kv", word, "", start))
                elif s[pos] == '"':
                    q = _QUOTED.match(s, pos)
                    if q is None:
                        raise ParseError(
                            "unterminated string",
                            position=line.position(source, pos),
                            token=s[pos : pos + 20],
                        )
                    out.append(("kv", word, unescape(q.group(1)), start))
                    pos = q.end()
                elif s[pos] in "[({":
                    end = _balanced(s, pos, line, source)
                    out.append(("kv", word, s[pos:end], start))
                    pos = end
                else:
                    v = _UNQUOTED_VALUE.match(s, pos)
                    assert v is not None
                    out.append(("kv", word, unescape(v.group()), start))
                    pos = v.end()
            elif pos < n and s[pos] not in " \t":
                raise ParseError(
                    "unexpected character",
                    position=line.position(source, pos),
                    token=s[start : pos + 1],
                )
            else:
                out.append(("w", word, "", start))


def parse_selector(raw: str) -> Selector:
    """Parse ``[ find ... ]`` text into conditions (``exotic`` when not plain conditions)."""
    inner = raw[1:-1].strip()
    if not (inner == "find" or inner.startswith(("find ", "find\t"))):
        return Selector(raw=raw, exotic=True)
    pos = 4
    n = len(inner)
    conds: list[Condition] = []
    where = False
    exotic = False
    while True:
        while pos < n and inner[pos] in " \t\n":
            pos += 1
        if pos >= n:
            break
        if inner.startswith("&&", pos):
            pos += 2
            continue
        m = _COND.match(inner, pos)
        if m is None or m.end() == pos:
            exotic = True
            break
        key, op, val = m.group("key"), m.group("op"), m.group("val")
        if m.group("neg"):
            if op is not None:
                exotic = True
                break
            conds.append((key, "!", ""))
        elif op is None:
            if key == "where" and not conds:
                where = True
            elif key == "and":
                pass
            elif key == "or":
                exotic = True
                break
            else:
                conds.append((key, "", ""))
        else:
            value = unescape(val[1:-1]) if val.startswith('"') else unescape(val)
            conds.append((key, op, value))
        pos = m.end()
    default = ("default", "=", "yes") in conds or ("default", "=", "true") in conds
    return Selector(tuple(conds), default=default, where=where, raw=raw, exotic=exotic)


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
                "bad menu path", position=line.position(source, toks[0][3]), token=toks[0][1]
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
        raise ParseError("expected a command", position=line.position(source, off), token=val)
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
                raise ParseError("unexpected path", position=line.position(source, off), token=a)
            args.append((a, "" if a.startswith("!") else flag_value))
    if not verb and (args or selector or target):
        raise ParseError(
            "expected a command", position=line.position(source, toks[0][3]), token=s[:20]
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
    if verb not in ("add ", "set ") or "[" in s or "(" in s or "{" in s:
        return None
    if _FAST_FULL.match(s) is None:
        return None
    tokens = _FAST_FIND.findall(s, 4)
    props: dict[str, str] = {}
    for word, eq, qv, uv, _q in tokens:
        if not eq:
            if not word or verb == "set ":
                return None  # a quoted word or an item name: general path
            props[word] = "" if word[0] == "!" else "yes"
            continue
        value = qv or uv
        props[word] = unescape(value) if "\\" in value else value
    return Entry(verb[:3], props)


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
    for line in _logical_lines(text, source):
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
                entries = config.sections.get(section)
                if entries is None:
                    entries = config.sections[section] = []
                entries.append(entry)
                continue
        cmd = _command(line, section, source, flag_value="yes")
        verb = cmd.verb
        if cmd.raw or verb not in _PLAIN_VERBS or not cmd.path:
            pos = SourcePosition(source, cmd.line, cmd.column)
            if cmd.raw:
                raise NotAnExportError(
                    "script command in what should be an export", position=pos, token=verb
                )
            if verb == "":
                section = cmd.path
                config.sections.setdefault(section, [])
                continue
            if not cmd.path:
                raise ParseError("command outside any menu", position=pos, token=verb)
            raise ParseError(f"'{verb}' is not an export command", position=pos, token=verb)
        props = dict(cmd.args)
        if "" in props:
            pos = SourcePosition(source, cmd.line, cmd.column)
            raise ParseError("unexpected positional value", position=pos, token=props[""])
        entries = config.sections.get(cmd.path)
        if entries is None:
            entries = config.sections[cmd.path] = []
        entries.append(Entry(verb, props, cmd.selector, cmd.target))
    config.header = _parse_header(header_comments)
    config.managed = tuple(managed)
    # Drop sections that stayed empty (a bare "/path" line with no entries).
    config.sections = {p: e for p, e in config.sections.items() if e}
    return config
