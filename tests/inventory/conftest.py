"""Helpers: a writable copy of the example inventory, edits, and expected positions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kopnet_iac.errors import InventoryError
from kopnet_iac.inventory.loader import load_inventory
from tests.conftest import EXAMPLE_FLEET

EXAMPLE = EXAMPLE_FLEET


@pytest.fixture
def inv_dir(tmp_path: Path) -> Path:
    """A private copy of the example fleet (with its lock) to break."""
    dest = tmp_path / "inventory"
    shutil.copytree(EXAMPLE, dest)
    return dest


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace ``old`` (which must occur exactly ``count`` times) by ``new``."""
    text = path.read_text()
    assert text.count(old) == count, f"{old!r} occurs {text.count(old)} times in {path.name}"
    path.write_text(text.replace(old, new))


def position(path: Path, needle: str, occurrence: int = 1, offset: int = 0) -> str:
    """``FILE:LINE:COL`` of the ``occurrence``-th ``needle`` (+ ``offset`` chars) in ``path``."""
    text = path.read_text()
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    index += offset
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{path}:{line}:{column}"


def problems(root: Path, *, check_lock: bool = True) -> list[str]:
    """Every problem ``load_inventory`` reports, as printed lines (fails if it loads)."""
    with pytest.raises(InventoryError) as info:
        load_inventory(root, check_lock=check_lock)
    return [str(p) for p in info.value.problems]


def village(root: Path, name: str) -> Path:
    return root / "villages" / f"{name}.yaml"
