"""``/export`` text from the stored configuration (sectioned or terse, secrets hidden or shown)."""

from __future__ import annotations

import time

from kopnet_iac.lab.routeros import schema
from kopnet_iac.lab.routeros.store import ConfigStore, Entry

_SPECIAL = set(" ;\"\\$[]{}=?#`'()")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "$": "\\$", "\n": "\\n", "\r": "\\r", "\t": "\\t", "?": "\\?"}


def quote(value: str) -> str:
    """A property value as RouterOS writes it in an export.

    >>> quote("plain"), quote("two words"), quote(""), quote('a"b$')
    ('plain', '"two words"', '""', '"a\\\\"b\\\\$"')
    """
    if value and not any(ch in _SPECIAL or not ch.isprintable() or ord(ch) > 126 for ch in value):
        return value
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif not ch.isprintable() or ord(ch) > 126:
            out.extend(f"\\{byte:02X}" for byte in ch.encode("utf-8"))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _props(props: dict[str, str], show_sensitive: bool) -> str:
    parts = []
    for key, value in props.items():
        if key in schema.SENSITIVE_KEYS and not show_sensitive:
            continue
        parts.append(key if key.startswith("!") else f"{key}={quote(value)}")
    return " ".join(parts)


def _entry_line(entry: Entry, show_sensitive: bool) -> str | None:
    props = _props(entry.props, show_sensitive)
    if entry.builtin is not None:
        if not props:
            return None
        return f"set {entry.builtin} {props}"
    return f"add {props}".rstrip()


def export_text(
    store: ConfigStore,
    *,
    version: str,
    software_id: str,
    model: str,
    serial: str,
    terse: bool = False,
    show_sensitive: bool = False,
    scope: str = "",
) -> str:
    """The configuration as RouterOS 7 ``/export`` prints it (``scope``: one menu subtree)."""
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    lines = [
        f"# {now} by RouterOS {version}",
        f"# software id = {software_id}",
        "#",
        f"# model = {model}",
        f"# serial number = {serial}",
    ]
    for path, menu in store.menus.items():
        if scope and path != scope and not path.startswith(scope + " "):
            continue
        if path == "file":
            continue
        body: list[str] = []
        if menu.singleton:
            props = _props(menu.props, show_sensitive)
            if props:
                body.append(f"set {props}")
        else:
            for entry in menu.entries:
                line = _entry_line(entry, show_sensitive)
                if line is not None:
                    body.append(line)
        if not body:
            continue
        if terse:
            lines.extend(f"/{path} {line}" for line in body)
        else:
            lines.append(f"/{path}")
            lines.extend(body)
    return "\n".join(lines) + "\n"
