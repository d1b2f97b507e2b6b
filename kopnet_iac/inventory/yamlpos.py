"""YAML documents that remember where each value came from.

Files are composed with libyaml (``yaml.CSafeLoader``) into a node tree and constructed from it in
the same pass, so keeping the tree costs nothing extra. Positions are looked up only when a
problem is reported: :meth:`YamlDoc.position` walks the tree along a field path (a pydantic
``loc``) and returns the key's, the value's or the enclosing mapping's mark.

Problems are collected in a :class:`Problems` list and reported together, sorted by position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from kopnet_iac.errors import InventoryError, InventoryProblem, SourcePosition

Loc = tuple[str | int, ...]
Where = Literal["value", "key", "mapping"]


@dataclass(frozen=True)
class YamlDoc:
    """One parsed file: its data and its node tree (``None`` for an empty file)."""

    path: Path
    data: Any
    node: yaml.Node | None

    @property
    def name(self) -> str:
        return str(self.path)

    def _child(self, node: yaml.Node, part: str | int) -> tuple[yaml.Node, yaml.Node] | None:
        """(key node, value node) of ``part`` inside ``node``, or None."""
        if isinstance(node, yaml.MappingNode):
            text = str(part)
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == text:
                    return key, value
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            item: yaml.Node = node.value[part]
            return item, item
        return None

    def position(self, loc: Sequence[str | int], where: Where = "value") -> SourcePosition:
        """Where the value at ``loc`` is written (or its key, or the mapping holding it).

        Parts of ``loc`` that are not in the file (pydantic's union tags, ``[key]``) are skipped;
        if the path leaves the file, the deepest node reached is used.
        """
        if self.node is None:
            return SourcePosition(self.name, 1, 1)
        node = self.node
        key_node = node
        parts = list(loc)
        if where == "mapping" and parts:
            parts = parts[:-1]
        for part in parts:
            if part == "[key]":
                where = "key"
                continue
            found = self._child(node, part)
            if found is None:
                continue
            key_node, node = found
        mark = (key_node if where == "key" else node).start_mark
        return SourcePosition(self.name, mark.line + 1, mark.column + 1)


def field_path(loc: Sequence[str | int]) -> str:
    """``('devices', 2, 'serial')`` → ``devices[2].serial`` (pydantic internals dropped)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]" or "[" in part or part in ("str", "int", "float", "bool"):
            continue
        else:
            out += f".{part}" if out else part
    return out


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_BOOLS = {"true": True, "false": False, "yes": True, "no": False, "on": True, "off": False}


class _Fallback(Exception):
    """A node the fast constructor leaves to PyYAML (merge keys, timestamps, odd numbers)."""


def _construct(node: yaml.Node) -> Any:
    """Plain data from a node tree; about twice as fast as PyYAML's generic constructor."""
    kind = type(node)
    tag = node.tag
    if kind is yaml.ScalarNode:
        value: str = node.value
        if tag == _STR:
            return value
        if tag == _INT:
            digits = value[1:] if value[:1] in "+-" else value
            if digits.isdigit() and (digits[0] != "0" or digits == "0"):  # 017 is octal in YAML 1.1
                return int(value)
            raise _Fallback
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return _BOOLS[value.lower()]
        if tag == _FLOAT:
            try:
                return float(value)
            except ValueError:
                raise _Fallback from None
        raise _Fallback
    if kind is yaml.MappingNode and tag == _MAP:
        out: dict[Any, Any] = {}
        for key, item in node.value:
            if key.tag == "tag:yaml.org,2002:merge" or type(key) is not yaml.ScalarNode:
                raise _Fallback
            out[_construct(key)] = _construct(item)
        return out
    if kind is yaml.SequenceNode and tag == _SEQ:
        return [_construct(item) for item in node.value]
    raise _Fallback


def _duplicate_keys(root: yaml.Node) -> list[tuple[yaml.Node, str]]:
    """Keys written twice in one mapping (YAML loaders silently keep the last)."""
    found: list[tuple[yaml.Node, str]] = []
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        found.append((key, key.value))
                    seen.add(key.value)
                if not isinstance(value, yaml.ScalarNode):
                    stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(n for n in node.value if not isinstance(n, yaml.ScalarNode))
    return found


class Problems:
    """Collects findings from every stage; positions are resolved when a finding is added."""

    def __init__(self) -> None:
        self.items: list[InventoryProblem] = []
        #: findings that do not stop anything (e.g. two sectors sharing spectrum on one mast)
        self.warnings: list[InventoryProblem] = []

    def __len__(self) -> int:
        return len(self.items)

    def add(
        self, doc: YamlDoc, loc: Sequence[str | int], message: str, where: Where = "value"
    ) -> None:
        self.items.append(InventoryProblem(doc.position(loc, where), field_path(loc), message))

    def warn(
        self, doc: YamlDoc, loc: Sequence[str | int], message: str, where: Where = "value"
    ) -> None:
        self.warnings.append(InventoryProblem(doc.position(loc, where), field_path(loc), message))

    def sorted_warnings(self) -> list[InventoryProblem]:
        unique = {str(p): p for p in self.warnings}
        return sorted(
            unique.values(),
            key=lambda p: (p.position.file, p.position.line, p.position.column, str(p)),
        )

    def add_at(self, position: SourcePosition, field: str, message: str) -> None:
        self.items.append(InventoryProblem(position, field, message))

    def raise_if_any(self) -> None:
        if self.items:
            unique = {str(p): p for p in self.items}  # e.g. one band error seen from both ends
            ordered = sorted(
                unique.values(),
                key=lambda p: (p.position.file, p.position.line, p.position.column, str(p)),
            )
            raise InventoryError(ordered)


def load_yaml(path: Path, problems: Problems) -> YamlDoc | None:
    """Parse ``path``; a syntax error or duplicate key is added to ``problems``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add_at(SourcePosition(str(path), 1, 1), "", f"cannot read file: {exc}")
        return None
    loader = yaml.CSafeLoader(text)
    try:
        node = loader.get_single_node()
        # before construction: PyYAML's merge-key handling rewrites mappings in place
        duplicates = _duplicate_keys(node) if node is not None else []
        data = None
        if node is not None:
            try:
                data = _construct(node)
            except _Fallback:
                data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        reason = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        problems.add_at(SourcePosition(str(path), line, col), "", f"YAML syntax error: {reason}")
        return None
    except yaml.YAMLError as exc:
        problems.add_at(SourcePosition(str(path), 1, 1), "", f"YAML error: {exc}")
        return None
    finally:
        loader.dispose()
    doc = YamlDoc(path=path, data=data, node=node)
    for key, name in duplicates:
        mark = key.start_mark
        problems.add_at(
            SourcePosition(str(path), mark.line + 1, mark.column + 1),
            name,
            f"duplicate key {name!r} (the earlier value would be silently ignored)",
        )
    return doc
