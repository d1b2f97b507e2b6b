"""Command line grammar of the emulated BusyBox ``ash``: words, quotes, operators, heredocs.

Pure functions, no device access. What is parsed (the subset automation sends to airOS):

* separators ``;``, newline and ``&`` (run the and-or list in the background), ``&&``, ``||``,
  pipes ``|``; ``#`` comments;
* redirections ``>``, ``>>``, ``2>``, ``2>>``, ``2>&1`` (input redirection is not supported);
* single and double quotes, backslash escapes, ``$VAR``/``${VAR}``/``$!``/``$$``/``$?`` and
  command substitution ``$(...)`` / backticks, expanded when the command runs.

Expansion is deferred: a parsed word keeps a ``$`` that must stay literal (single quotes,
``\\$``) as :data:`LITERAL_DOLLAR` and a command substitution between :data:`SUBST_OPEN` and
:data:`SUBST_CLOSE`; :func:`expand_word` resolves both once the values are known.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from kopnet_iac.errors import KopnetError

LITERAL_DOLLAR = "\x00"
SUBST_OPEN = "\x01"
SUBST_CLOSE = "\x02"
HEREDOC_RE = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
# longest first: "2>&1" before "2>>" before "2>"
_OPERATORS = ("2>&1", "2>>", "&&", "||", ">>", "2>", ";", "&", "|", ">", "<", "\n")
_WORD_BREAK = set(" \t;&|<>\n")
_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*|[!$?#0-9]))")
_SUBST_RE = re.compile(f"{SUBST_OPEN}(.*?){SUBST_CLOSE}", re.DOTALL)


class ShellSyntaxError(KopnetError):
    """A command line the shell cannot parse."""


@dataclass
class Command:
    """One simple command: words (unexpanded) and its redirections."""

    argv: list[str]
    redirect: tuple[str, bool] | None = None  # stdout: (path, append)
    stderr: tuple[str, bool] | None = None  # (path, append); path "&1" merges into stdout


@dataclass
class Pipeline:
    """Commands joined by ``|``; ``connector`` joins it to the previous pipeline."""

    connector: str  # ";" (starts an and-or list), "&&", "||"
    commands: list[Command] = field(default_factory=list)
    background: bool = False  # on the first pipeline of an and-or list ended by "&"


def split_heredoc(text: str) -> tuple[str, str | None]:
    """Split ``cmd <<EOF\\nbody\\nEOF`` into the command and the heredoc body (or None)."""
    first, _, rest = text.partition("\n")
    match = HEREDOC_RE.search(first)
    if match is None:
        return text, None
    command = first[: match.start()] + first[match.end() :]
    body_lines = []
    for line in rest.split("\n"):
        if line.strip() == match.group(2):
            break
        body_lines.append(line)
    return command.strip(), "".join(f"{line}\n" for line in body_lines)


def _capture_subst(line: str, start: int) -> tuple[str, int]:
    """The text of ``$( ... )`` whose ``(`` is at ``start``; returns (inner, index after ``)``)."""
    depth = 0
    index = start
    quote = ""
    while index < len(line):
        char = line[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 2
                continue
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "\\":
            index += 2
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return line[start + 1 : index], index + 1
        index += 1
    raise ShellSyntaxError("syntax error: unterminated $(")


def tokenize(line: str) -> list[tuple[str, str]]:
    """``(kind, text)`` tokens, kind ``"word"`` or ``"op"``; words keep deferred expansions."""
    tokens: list[tuple[str, str]] = []
    word: list[str] = []
    started = False
    index = 0
    length = len(line)

    def flush() -> None:
        nonlocal word, started
        if started:
            tokens.append(("word", "".join(word)))
        word, started = [], False

    while index < length:
        char = line[index]
        if not started:
            if char in " \t":
                index += 1
                continue
            if char == "#":
                end = line.find("\n", index)
                index = length if end < 0 else end
                continue
            if char == "2" and line.startswith(("2>&1", "2>>", "2>"), index):
                op = next(o for o in ("2>&1", "2>>", "2>") if line.startswith(o, index))
                tokens.append(("op", op))
                index += len(op)
                continue
        if char in _WORD_BREAK:
            flush()
            if char in " \t":
                index += 1
                continue
            op = next(o for o in _OPERATORS if line.startswith(o, index))
            tokens.append(("op", op))
            index += len(op)
            continue
        started = True
        if char == "'":
            end = line.find("'", index + 1)
            if end < 0:
                raise ShellSyntaxError("syntax error: unterminated quoted string")
            word.append(line[index + 1 : end].replace("$", LITERAL_DOLLAR))
            index = end + 1
        elif char == '"':
            index = _double_quoted(line, index + 1, word)
        elif char == "\\":
            if index + 1 < length:
                following = line[index + 1]
                if following != "\n":
                    word.append(LITERAL_DOLLAR if following == "$" else following)
            index += 2
        elif char == "$" and line.startswith("$(", index):
            inner, index = _capture_subst(line, index + 1)
            word.append(SUBST_OPEN + inner + SUBST_CLOSE)
        elif char == "`":
            end = line.find("`", index + 1)
            if end < 0:
                raise ShellSyntaxError("syntax error: unterminated `")
            word.append(SUBST_OPEN + line[index + 1 : end] + SUBST_CLOSE)
            index = end + 1
        else:
            word.append(char)
            index += 1
    flush()
    return tokens


def _double_quoted(line: str, index: int, word: list[str]) -> int:
    while index < len(line):
        char = line[index]
        if char == '"':
            return index + 1
        if char == "\\" and index + 1 < len(line) and line[index + 1] in '$`"\\\n':
            following = line[index + 1]
            if following != "\n":
                word.append(LITERAL_DOLLAR if following == "$" else following)
            index += 2
        elif char == "$" and line.startswith("$(", index):
            inner, index = _capture_subst(line, index + 1)
            word.append(SUBST_OPEN + inner + SUBST_CLOSE)
        elif char == "`":
            end = line.find("`", index + 1)
            if end < 0:
                raise ShellSyntaxError("syntax error: unterminated `")
            word.append(SUBST_OPEN + line[index + 1 : end] + SUBST_CLOSE)
            index = end + 1
        else:
            word.append(char)
            index += 1
    raise ShellSyntaxError("syntax error: unterminated quoted string")


def parse_line(line: str) -> list[Pipeline]:
    """Pipelines of a command line, in order (see :class:`Pipeline` for the connectors)."""
    tokens = tokenize(line)
    pipelines: list[Pipeline] = [Pipeline(";")]
    current = Command([])
    list_start = 0  # index in pipelines of the first pipeline of the current and-or list
    index = 0
    while index < len(tokens):
        kind, text = tokens[index]
        if kind == "word":
            current.argv.append(text)
            index += 1
            continue
        if text in (">", ">>", "2>", "2>>"):
            if index + 1 >= len(tokens) or tokens[index + 1][0] != "word":
                raise ShellSyntaxError("syntax error: unexpected redirection")
            target = (tokens[index + 1][1], text.endswith(">>"))
            if text.startswith("2"):
                current.stderr = target
            else:
                current.redirect = target
            index += 2
            continue
        if text == "2>&1":
            current.stderr = ("&1", False)
            index += 1
            continue
        if text == "<":
            raise ShellSyntaxError("syntax error: unexpected '<'")
        # a separator or connector
        if not current.argv:
            if text == "\n" and current.redirect is None and current.stderr is None:
                index += 1  # an empty line, or a line break after a connector
                continue
            raise ShellSyntaxError(f"syntax error: unexpected {text!r}")
        pipelines[-1].commands.append(current)
        current = Command([])
        if text == "|":
            pass
        elif text in ("&&", "||"):
            pipelines.append(Pipeline(text))
        else:  # ";", "\n", "&"
            if text == "&":
                pipelines[list_start].background = True
            pipelines.append(Pipeline(";"))
            list_start = len(pipelines) - 1
        index += 1
    if current.argv:
        pipelines[-1].commands.append(current)
    elif current.redirect is not None or current.stderr is not None:
        raise ShellSyntaxError("syntax error: redirection without a command")
    elif tokens and tokens[-1][0] == "op" and tokens[-1][1] in ("&&", "||", "|"):
        raise ShellSyntaxError("syntax error: unexpected end of line")
    return [p for p in pipelines if p.commands]


def and_or_lists(pipelines: list[Pipeline]) -> list[list[Pipeline]]:
    """Group pipelines into and-or lists (each starts with connector ``;``)."""
    groups: list[list[Pipeline]] = []
    for pipeline in pipelines:
        if pipeline.connector == ";" or not groups:
            groups.append([pipeline])
        else:
            groups[-1].append(pipeline)
    return groups


Substituter = Callable[[str], Awaitable[str]]


async def expand_word(word: str, variables: Mapping[str, str], substitute: Substituter) -> str:
    """Resolve variables and command substitutions of one parsed word."""

    def variable(match: re.Match[str]) -> str:
        return variables.get(match.group(1) or match.group(2), "")

    parts: list[str] = []
    position = 0
    for match in _SUBST_RE.finditer(word):
        parts.append(_VAR_RE.sub(variable, word[position : match.start()]))
        parts.append((await substitute(match.group(1))).rstrip("\n"))
        position = match.end()
    parts.append(_VAR_RE.sub(variable, word[position:]))
    return "".join(parts).replace(LITERAL_DOLLAR, "$")


def has_expansion(word: str) -> bool:
    """True when the word's value comes from an expansion (it may then vanish when empty)."""
    return SUBST_OPEN in word or bool(_VAR_RE.search(word))
