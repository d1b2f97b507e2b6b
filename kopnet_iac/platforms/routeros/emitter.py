"""Canonical RouterOS export text from the model, so ``parse_export(emit(m)) == m``.

Values are quoted only when needed; inside quotes ``"``, ``\\``, ``$`` and ``?`` are escaped,
control characters use ``\\n``/``\\r``/``\\t`` or hex, and non-ASCII text is written as hex
escapes of its UTF-8 bytes (as RouterOS does).
"""

from __future__ import annotations

import re

from kopnet_iac.platforms.routeros.model import (
    Condition,
    Entry,
    Path,
    RouterOSConfig,
    Selector,
    path_text,
)

_SAFE = re.compile(r"[A-Za-z0-9_.:/,*+@%<>^-]+\Z")
_NEEDS_ESCAPE = re.compile(r'["\\$?\x00-\x1f\x7f-\U0010ffff]')
_NAMED = {'"': '\\"', "\\": "\\\\", "$": "\\$", "?": "\\?", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(m: re.Match[str]) -> str:
    c = m.group()
    named = _NAMED.get(c)
    if named is not None:
        return named
    data = c.encode("utf-8", "surrogateescape")
    return "".join(f"\\{b:02X}" for b in data)


def escape(value: str) -> str:
    r"""``value`` escaped for the inside of a RouterOS double-quoted string.

    >>> print(escape('pa"ss\\w $x?'))
    pa\"ss\\w \$x\?
    """
    return _NEEDS_ESCAPE.sub(_escape_char, value)


def quote(value: str) -> str:
    """A value as RouterOS writes it.

    >>> quote("ether1"), quote("a b"), quote('say "hi" $x'), quote("")
    ('ether1', '"a b"', '"say \\\\"hi\\\\" \\\\$x"', '""')
    """
    if value and _SAFE.match(value):
        return value
    return '"' + escape(value) + '"'


def format_args(props: dict[str, str] | tuple[tuple[str, str], ...]) -> str:
    """``k=v`` words; a key starting with ``!`` is written bare (negation)."""
    items = props.items() if isinstance(props, dict) else props
    parts = []
    for k, v in items:
        if k.startswith("!") and v == "":
            parts.append(k)
        else:
            parts.append(f"{k}={quote(v)}")
    return " ".join(parts)


def format_condition(cond: Condition) -> str:
    key, op, value = cond
    if op == "!":
        return f"!{key}"
    if op == "":
        return key
    return f"{key}{op}{quote(value)}"


def format_selector(selector: Selector, *, where: bool | None = None) -> str:
    """``[ find ... ]`` text; exotic selectors are written back as they were found."""
    if selector.exotic:
        return selector.raw
    use_where = selector.where if where is None else where
    words = ["find"] + (["where"] if use_where and selector.conditions else [])
    words.extend(format_condition(c) for c in selector.conditions)
    return "[ " + " ".join(words) + " ]"


def format_entry(entry: Entry) -> str:
    """One ``add``/``set`` line (without the path)."""
    parts = [entry.verb]
    if entry.selector is not None:
        parts.append(format_selector(entry.selector))
    elif entry.target is not None:
        parts.append(quote(entry.target))
    if entry.props:
        parts.append(format_args(entry.props))
    return " ".join(parts)


def emit_section(path: Path, entries: list[Entry], *, terse: bool = False) -> list[str]:
    head = path_text(path)
    if terse:
        return [f"{head} {format_entry(e)}" for e in entries]
    return [head] + [format_entry(e) for e in entries]


def emit(config: RouterOSConfig, *, terse: bool = False) -> str:
    """Export text for ``config`` (one line per entry, no wrapping)."""
    lines: list[str] = []
    h = config.header
    if h.version is not None:
        lines.append(f"# {h.date + ' ' if h.date else ''}by RouterOS {h.version}")
    for label, value in (
        ("software id", h.software_id),
        ("system id", h.system_id),
        ("model", h.model),
        ("serial number", h.serial),
    ):
        if value is not None:
            lines.append(f"# {label} = {value}")
    if config.managed:
        lines.append("# kopnet: manage " + ", ".join(path_text(p) for p in config.managed))
    for path, entries in config.sections.items():
        if entries:
            lines.extend(emit_section(path, entries, terse=terse))
    return "\n".join(lines) + "\n" if lines else ""
