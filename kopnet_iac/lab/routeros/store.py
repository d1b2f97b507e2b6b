"""Configuration state of one emulated router: menus of entries, plus its files.

The store knows nothing about protocols; the API server, the console and the script
interpreter all change it through the same few operations, which raise :class:`RosError`
with RouterOS-like messages.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kopnet_iac.lab.routeros import schema


class RosError(Exception):
    """An error RouterOS would report (API ``!trap`` or console ``failure:``)."""

    def __init__(self, message: str, category: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.category = category


@dataclass
class Reply:
    """Result of one command: rows (``!re``), a return value (``=ret=``), console text."""

    rows: list[dict[str, str]] = field(default_factory=list)
    ret: str | None = None
    text: str | None = None


@dataclass(slots=True)
class Entry:
    """One item of a list menu.

    ``props`` are the configured (exported) properties; ``base`` the values a built-in item
    has from the factory, shown by print but not exported; ``builtin`` is the selector an
    export uses for a built-in item (``[ find default-name=ether1 ]``, ``telnet``, ``*0``).
    """

    id: int
    props: dict[str, str] = field(default_factory=dict)
    builtin: str | None = None
    base: dict[str, str] = field(default_factory=dict)

    def view(self) -> dict[str, str]:
        merged = dict(self.base)
        merged.update(self.props)
        return merged

    def get(self, key: str, default: str = "") -> str:
        if key in self.props:
            return self.props[key]
        return self.base.get(key, default)


@dataclass(slots=True)
class Menu:
    path: str
    singleton: bool = False
    props: dict[str, str] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    next_id: int = 1


@dataclass(slots=True)
class RosFile:
    name: str
    contents: str
    type: str = ".rsc file"
    created: str = ""


_SECRET_WORD = re.compile(
    r"(?P<key>\b(?:" + "|".join(sorted(schema.SENSITIVE_KEYS, key=len, reverse=True)) + r"))="
    r'(?P<value>"(?:[^"\\]|\\.)*"|\S*)'
)


def mask_secrets(text: str) -> str:
    """A command line with sensitive property values replaced, fit for logs.

    >>> mask_secrets('/user add name=ops password="a b" group=read')
    '/user add name=ops password=*** group=read'
    """
    return _SECRET_WORD.sub(lambda m: f"{m.group('key')}=***", text)


def format_id(number: int) -> str:
    return f"*{number:X}"


def parse_id(text: str) -> int | None:
    if text.startswith("*"):
        try:
            return int(text[1:], 16)
        except ValueError:
            return None
    return None


class ConfigStore:
    """Menus (configuration) and files of one device."""

    def __init__(self) -> None:
        self.menus: dict[str, Menu] = {}
        self.files: dict[str, RosFile] = {}
        self.dirty = False

    # -- menus ---------------------------------------------------------------------

    def menu(self, path: str, *, create: bool = True) -> Menu | None:
        menu = self.menus.get(path)
        if menu is None and create:
            menu = Menu(path=path, singleton=schema.is_singleton(path))
            self._insert_menu(menu)
        return menu

    def _insert_menu(self, menu: Menu) -> None:
        order = schema.EXPORT_ORDER
        if menu.path in order:
            rank = order.index(menu.path)
            items = list(self.menus.items())
            for index, (path, _) in enumerate(items):
                if path in order and order.index(path) > rank:
                    items.insert(index, (menu.path, menu))
                    self.menus = dict(items)
                    return
        self.menus[menu.path] = menu

    def entries(self, path: str) -> list[Entry]:
        menu = self.menus.get(path)
        return menu.entries if menu is not None else []

    def find_by_id(self, path: str, number: int) -> Entry | None:
        for entry in self.entries(path):
            if entry.id == number:
                return entry
        return None

    def resolve_item(self, path: str, item: str) -> Entry | None:
        """An item by ``*ID``, by name, or by its position number in print order."""
        entries = self.entries(path)
        for entry in entries:
            if entry.builtin == item:
                return entry
        number = parse_id(item)
        if number is not None:
            return self.find_by_id(path, number)
        for entry in entries:
            if entry.get("name") == item:
                return entry
        if item.isdigit() and int(item) < len(entries):
            return entries[int(item)]
        return None

    def add(
        self,
        path: str,
        props: dict[str, str],
        *,
        builtin: str | None = None,
        base: dict[str, str] | None = None,
        before: Entry | None = None,
    ) -> Entry:
        menu = self.menu(path)
        assert menu is not None
        if menu.singleton:
            raise RosError("bad command name add (line 1 column 1)")
        entry = Entry(id=menu.next_id, props=dict(props), builtin=builtin, base=dict(base or {}))
        menu.next_id += 1
        if before is not None and before in menu.entries:
            menu.entries.insert(menu.entries.index(before), entry)
        else:
            menu.entries.append(entry)
        self.dirty = True
        return entry

    def set_entries(self, entries: Iterable[Entry], props: dict[str, str]) -> None:
        for entry in entries:
            for key, value in props.items():
                entry.props[key] = value
            self.dirty = True

    def unset_entries(self, entries: Iterable[Entry], keys: Iterable[str]) -> None:
        wanted = list(keys)
        for entry in entries:
            for key in wanted:
                entry.props.pop(key, None)
            self.dirty = True

    def set_singleton(self, path: str, props: dict[str, str]) -> None:
        menu = self.menu(path)
        assert menu is not None
        if menu.entries:
            raise RosError("expected item number or name")
        menu.singleton = True
        menu.props.update(props)
        self.dirty = True

    def remove(self, path: str, entries: Iterable[Entry]) -> None:
        menu = self.menus.get(path)
        if menu is None:
            return
        doomed = [entry for entry in entries]
        for entry in doomed:
            if entry.builtin is not None:
                raise RosError("failure: default item can not be removed")
        ids = {id(entry) for entry in doomed}
        menu.entries = [entry for entry in menu.entries if id(entry) not in ids]
        self.dirty = True

    def move(self, path: str, entries: list[Entry], destination: Entry | None) -> None:
        menu = self.menus.get(path)
        if menu is None:
            return
        moving = [entry for entry in menu.entries if any(entry is e for e in entries)]
        rest = [entry for entry in menu.entries if not any(entry is e for e in entries)]
        if destination is None or not any(destination is e for e in rest):
            rest.extend(moving)
        else:
            index = next(i for i, e in enumerate(rest) if e is destination)
            rest[index:index] = moving
        menu.entries = rest
        self.dirty = True

    # -- snapshots and persistence -------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Configuration only (menus), as plain data: what a backup holds."""
        return {
            "menus": [
                {
                    "path": m.path,
                    "singleton": m.singleton,
                    "props": m.props,
                    "next_id": m.next_id,
                    "entries": [
                        {"id": e.id, "props": e.props, "builtin": e.builtin, "base": e.base}
                        for e in m.entries
                    ],
                }
                for m in self.menus.values()
            ]
        }

    def restore(self, data: dict[str, Any]) -> None:
        data = copy.deepcopy(data)
        self.menus = {}
        for raw in data.get("menus", []):
            menu = Menu(
                path=raw["path"],
                singleton=bool(raw.get("singleton")),
                props=dict(raw.get("props", {})),
                next_id=int(raw.get("next_id", 1)),
                entries=[
                    Entry(
                        id=int(e["id"]),
                        props=dict(e["props"]),
                        builtin=e.get("builtin"),
                        base=dict(e.get("base", {})),
                    )
                    for e in raw.get("entries", [])
                ],
            )
            self.menus[menu.path] = menu
        self.dirty = True

    def to_json(self) -> dict[str, Any]:
        data = self.snapshot()
        data["files"] = [
            {"name": f.name, "contents": f.contents, "type": f.type, "created": f.created}
            for f in self.files.values()
        ]
        return data

    def load_json(self, data: dict[str, Any]) -> None:
        self.restore(data)
        self.files = {
            raw["name"]: RosFile(
                raw["name"], raw["contents"], raw.get("type", ".rsc file"), raw.get("created", "")
            )
            for raw in data.get("files", [])
        }
        self.dirty = False

    def save(self, target: Path) -> None:
        """Write the state atomically (temporary file, then rename)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.to_json(), handle, separators=(",", ":"))
        os.replace(tmp, target)
        self.dirty = False
