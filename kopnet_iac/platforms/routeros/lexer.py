"""Lexer for RouterOS text: logical lines, tokens, escapes and ``find`` selectors.

Physical lines are joined into logical lines (``\\`` continuations with their indentation
removed, multi-line ``{ ... }`` script blocks, hand-wrapped indented ``key=value`` lines), each
with a map back to source line and column for error messages. Tokens come from precompiled
regular expressions, one match per token (and one ``findall`` per line on the common
bracket-free line), never a regex per character.
"""

from __future__ import annotations

import functools
import logging
import re
from bisect import bisect_right
from collections.abc import Iterator

from kopnet_iac.errors import ParseError, SourcePosition
from kopnet_iac.platforms.routeros.model import Condition, Selector

log = logging.getLogger(__name__)

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
# The last group catches any other character, so a line findall cannot read is noticed.
_FAST_FIND = re.compile(_FAST_TOKEN + r"|(\S)", re.S)
_COND = re.compile(
    r"(?P<neg>!)?(?P<key>[A-Za-z0-9._-]+)[ \t]*"
    r'(?:(?P<op>!=|=|~|<|>)[ \t]*(?P<val>"(?:[^"\\]|\\.)*"|[^\s\[\]()&|"]*))?',
    re.S,
)
_SIMPLE_ESCAPES = {
    "n": "\n", "r": "\r", "t": "\t", "a": "\x07", "b": "\x08", "f": "\x0c", "v": "\x0b",
    "_": " ", '"': '"', "\\": "\\", "$": "$", "?": "?",
}  # fmt: skip
# A token shown in an error message: a plain word (menu word, verb, key), never a value.
_SHOWABLE = re.compile(r"[A-Za-z0-9/:._,*+@%!-]{1,40}\Z|[][(){}]\Z")


@functools.lru_cache(maxsize=64)
def _sensitive_assignment(path: tuple[str, ...] = ()) -> re.Pattern[str]:
    from kopnet_iac.platforms.routeros.paths import load_schema

    schema = load_schema()
    keys = set(schema.global_sensitive)
    for ps in schema.paths.values():
        # A key sensitive in one menu only (e.g. the name of an SNMP community) counts
        # everywhere, unless it identifies entries there: then only in its own menu.
        keys |= ps.sensitive - set(ps.keys)
    if path:
        keys |= schema.get(path).sensitive
    alternatives = "|".join(sorted((re.escape(k) for k in keys), key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9-])!?(?:{alternatives})[ \t]*(?:!=|[=~<>])")


def shown_token(token: str | None, context: str, path: tuple[str, ...] = ()) -> str | None:
    """``token`` if it is safe to quote in an error message, else ``None`` (position only).

    Parse errors must never echo a secret: a token is shown only when it is a plain word (no
    quote, ``=``, escape, bracket or space, so never a quoted value or a ``key=value`` pair)
    and the line it comes from (``context``, in menu ``path`` when known) assigns no
    sensitive field.

    >>> shown_token("adde", "/ip address adde address=1.2.3.4")
    'adde'
    >>> shown_token('"TopSecret', 'add name=x comment="TopSecret') is None
    True
    >>> shown_token("s3cr3t", "/ppp secret add name=a password=s3cr3t x") is None
    True
    """
    if token is None or not _SHOWABLE.match(token):
        return None
    if "=" in context and _sensitive_assignment(path).search(context):
        return None
    return token


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
        line, i = read_line(raw_lines, i, source)
        if line is not None:
            yield line


def read_line(raw_lines: list[str], i: int, source: str) -> tuple[_Line | None, int]:
    """The logical line starting at physical line ``i`` (``None`` for a blank or skipped
    line) and the index of the physical line after it."""
    n = len(raw_lines)
    line = raw_lines[i].rstrip("\r")
    lineno = i + 1
    i += 1
    stripped = line.lstrip(" \t")
    if not stripped:
        return None, i
    col0 = len(line) - len(stripped)
    if stripped[0] == "#":
        return _Line(stripped, [0], [(lineno, col0)], True), i
    if stripped[0] == "-" and _BOUNDARY.match(stripped):
        log.warning("%s:%d: skipping a MIME boundary line", source, lineno)
        return None, i
    if (
        not stripped.endswith("\\")
        and (i >= n or raw_lines[i][:1] not in (" ", "\t"))
        and stripped[0] not in ":{"
    ):
        return _Line(stripped, [0], [(lineno, col0)], False), i  # the common one-line case
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
            log.warning("%s:%d: indented line without '\\' joined to the command", source, i + 1)
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
    return _Line("".join(parts), starts, offsets, False), i


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
                raise ParseError("unterminated string", position=line.position(source, p))
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
            raise ParseError(
                "mismatched bracket", position=line.position(source, p), token=shown_token(c, s)
            )
        p += 1
    raise ParseError("unclosed bracket", position=line.position(source, pos))


# Token kinds: "w" bare word, "q" quoted word, "b" bracket group, "kv" key=value.
_Token = tuple[str, str, str, int]


def _fast_tokens(s: str) -> list[_Token] | None:
    """Tokens of a bracket-free line in one regex pass (offsets are not tracked: -1)."""
    if "[" in s or "(" in s or "{" in s:
        return None
    out: list[_Token] = []
    for word, eq, qv, uv, q, other in _FAST_FIND.findall(s):
        if other:
            return None
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
                raise ParseError("unterminated string", position=line.position(source, pos))
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
                    "unexpected character",
                    position=line.position(source, pos),
                    token=shown_token(c, s),
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
                        raise ParseError("unterminated string", position=line.position(source, pos))
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
                    token=shown_token(s[start : pos + 1], s),
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
