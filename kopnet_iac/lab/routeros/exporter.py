"""``/export`` text from the stored configuration (sectioned or terse, secrets hidden or shown).

Values are quoted with the configuration engine's emitter rules, so what the emulator exports
parses back exactly with the engine's parser.
"""

from __future__ import annotations

import time

from kopnet_iac.lab.routeros import schema
from kopnet_iac.lab.routeros.printing import export_props
from kopnet_iac.lab.routeros.store import ConfigStore, Entry
from kopnet_iac.platforms.routeros.emitter import quote

# RouterOS never exports users or their SSH keys (``/user group`` and ``/user aaa`` it does).
NOT_EXPORTED = frozenset({"file", "user", "user ssh-keys"})


def _props(path: str, props: dict[str, str], show_sensitive: bool) -> str:
    parts = []
    for key, value in export_props(path, props).items():
        if key in schema.SENSITIVE_KEYS and not show_sensitive:
            continue
        parts.append(key if key.startswith("!") else f"{key}={quote(value)}")
    return " ".join(parts)


def _entry_line(path: str, entry: Entry, show_sensitive: bool) -> str | None:
    props = _props(path, entry.props, show_sensitive)
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
        if path in NOT_EXPORTED:
            continue
        body: list[str] = []
        if menu.singleton:
            props = _props(path, menu.props, show_sensitive)
            if props:
                body.append(f"set {props}")
        else:
            for entry in menu.entries:
                line = _entry_line(path, entry, show_sensitive)
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
