"""Fixtures for the gateway Ansible tests: the example inventory, editable copies of it (with the
project's templates beside them), and lab gateways that are always removed again."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kopnet_iac.inventory.loader import Inventory, load_inventory
from tests.conftest import EXAMPLE_FLEET, REPO_ROOT

INVENTORY_DIR = EXAMPLE_FLEET
TEMPLATES_DIR = Path(REPO_ROOT) / "templates"


@pytest.fixture(scope="session")
def inv() -> Inventory:
    return load_inventory(INVENTORY_DIR)


@pytest.fixture
def inventory_copy(tmp_path: Path) -> Callable[[Callable[[Path], None] | None], Inventory]:
    """Copy inventory/ and templates/ side by side into tmp_path, let the test edit the copy,
    load it (templates beside an inventory are the ones the renderer uses)."""

    def make(edit: Callable[[Path], None] | None = None) -> Inventory:
        root = tmp_path / "repo"
        if not root.exists():
            shutil.copytree(INVENTORY_DIR, root / "inventory")
            shutil.copytree(TEMPLATES_DIR, root / "templates")
        if edit is not None:
            edit(root)
        return load_inventory(root / "inventory")

    return make


def write_lab_record(lab_dir: Path, village: str, info: dict[str, Any]) -> None:
    """Record a gateway the way ``kopnet lab up`` does (``gateways.json``)."""
    lab_dir.mkdir(parents=True, exist_ok=True)
    path = lab_dir / "gateways.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[village] = {**info, "state": "running"}
    path.write_text(json.dumps(data))


@pytest.fixture(scope="module")
def gateway_lab(tmp_path_factory: pytest.TempPathFactory, inv: Inventory) -> Iterator[Path]:
    """A lab dir with Sukadana's fresh (unconfigured) gateway; removed after the module, also
    when a test fails (namespaces, veths and processes by their recorded PIDs)."""
    gateway_netns = pytest.importorskip("kopnet_iac.lab.gateway_netns")
    directory = tmp_path_factory.mktemp("gwansible") / "lab"
    try:
        gateway_netns.up("sukadana", inv, directory)
        yield directory
    finally:
        if os.geteuid() == 0:
            gateway_netns.down(directory)
