"""Fixtures for the namespace gateway lab: the example inventory and lab gateways that are
always removed again (by their recorded PIDs and namespaces), also when a test fails."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kopnet_iac.inventory.loader import Inventory, load_inventory
from tests.conftest import EXAMPLE_FLEET

INVENTORY_DIR = EXAMPLE_FLEET


@pytest.fixture(scope="session")
def inv() -> Inventory:
    return load_inventory(INVENTORY_DIR)


def _up(inv: Inventory, village: str, lab_dir: Path) -> dict[str, Any]:
    """Start a lab gateway and record its new host key, as ``kopnet lab up`` does: a gateway
    slot (and so its address) is reused by later labs, each with a key of its own."""
    from kopnet_iac.lab import gateway_netns
    from kopnet_iac.transport.hostkeys import HostKeyStore, pin_current_keys

    info = dict(gateway_netns.up(village, inv, lab_dir))
    target = (str(info["host"]), int(info["ssh_port"]), str(info["hostname"]))
    assert not pin_current_keys(HostKeyStore.open(), [target])
    return info


@pytest.fixture
def lab_dir(tmp_path: Path) -> Iterator[Path]:
    """A fresh lab dir; every gateway started in it is removed after the test."""
    directory = tmp_path / "lab"
    yield directory
    if os.geteuid() == 0:
        from kopnet_iac.lab import gateway_netns

        gateway_netns.down(directory)


@pytest.fixture(scope="session")
def shared_lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Lab dir shared by the configured gateways of the whole session (removed at the end)."""
    directory = tmp_path_factory.mktemp("gwlab") / "lab"
    yield directory
    if os.geteuid() == 0:
        from kopnet_iac.lab import gateway_netns

        gateway_netns.down(directory)


@pytest.fixture(scope="session")
def sukadana(inv: Inventory, shared_lab_dir: Path) -> dict[str, Any]:
    """Sukadana's lab gateway (fiber, eBGP), configured from the rendered templates."""
    from tests.lab.gateway import helpers

    info = _up(inv, "sukadana", shared_lab_dir)
    helpers.configure(info, helpers.rendered_files(inv, "sukadana", str(info["hostname"])))
    return info


@pytest.fixture(scope="session")
def pematang(inv: Inventory, shared_lab_dir: Path) -> dict[str, Any]:
    """Pematang Panggang's lab gateway (VSAT, static default), configured."""
    from tests.lab.gateway import helpers

    info = _up(inv, "pematang-panggang", shared_lab_dir)
    helpers.configure(info, helpers.rendered_files(inv, "pematang-panggang", str(info["hostname"])))
    return info
