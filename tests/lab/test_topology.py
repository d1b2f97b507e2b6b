"""Specs from the example inventory; stable loopback allocations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kopnet_iac.errors import LabError
from kopnet_iac.lab.topology import AddressBook, synthetic_specs, village_specs
from tests.conftest import EXAMPLE_FLEET

INVENTORY = EXAMPLE_FLEET


def _inventory():  # type: ignore[no-untyped-def]
    from kopnet_iac.inventory.loader import load_inventory

    return load_inventory(INVENTORY)


@pytest.mark.skipif(not (INVENTORY / "villages").is_dir(), reason="example inventory absent")
def test_village_specs_from_example_inventory(tmp_path: Path) -> None:
    inventory = _inventory()
    village = sorted(inventory.villages)[0]
    book = AddressBook(tmp_path / "addresses.json")
    specs = village_specs(inventory, village, book)
    devices = {d.hostname: d for d in inventory.villages[village].devices}
    emulated = {
        h
        for h, d in devices.items()
        if inventory.hardware.models[d.model].platform in ("routeros", "airos")
    }
    assert {s.hostname for s in specs} == emulated
    assert len({s.host for s in specs}) == len(specs)
    for item in specs:
        assert item.host.startswith("127.")
        assert item.username == ("kopnet" if item.platform == "airos" else "admin")
        assert item.password == f"lab-{item.hostname}"
        assert (item.api_port is None) == (item.platform == "airos")
        assert item.role == devices[item.hostname].role
        for link in item.links:  # both ends know the link
            if link.peer_hostname in emulated:
                peer = next(s for s in specs if s.hostname == link.peer_hostname)
                assert any(p.peer_hostname == item.hostname for p in peer.links)
    factory = village_specs(inventory, village, book, factory_default=True)
    assert [s.host for s in factory] == [s.host for s in specs]
    for item in factory:
        assert item.factory_default
        if item.platform == "airos":
            assert (item.username, item.password) == ("ubnt", "ubnt")
    with pytest.raises(LabError, match="unknown village"):
        village_specs(inventory, "no-such-village", book)


def test_addresses_are_stable_and_never_renumbered(tmp_path: Path) -> None:
    path = tmp_path / "addresses.json"
    book = AddressBook(path, prefix="127.77")
    first = [book.address("desa-a", f"dev-{n}") for n in range(3)]
    assert first == ["127.77.1.2", "127.77.1.3", "127.77.1.4"]
    book.save()
    again = AddressBook(path)
    assert again.address("desa-b", "other") == "127.77.2.2"
    assert [again.address("desa-a", f"dev-{n}") for n in range(3)] == first
    assert again.address("desa-a", "dev-new") == "127.77.1.5"
    with pytest.raises(LabError, match=r"127\.N"):
        AddressBook(tmp_path / "other.json", prefix="10.1")
    path.write_text("{not json")
    with pytest.raises(LabError):
        AddressBook(path)
    assert os.path.exists(path)


def test_synthetic_specs_mix_platforms(tmp_path: Path) -> None:
    specs = synthetic_specs(250, AddressBook(tmp_path / "a.json"))
    assert len({s.host for s in specs}) == 250
    platforms = {s.platform for s in specs}
    assert platforms == {"routeros", "airos"}
