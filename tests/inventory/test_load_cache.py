"""``load_inventory`` reuses a load of files that have not changed, and only then.

A fleet rollout deploys every village in threads of one process, each asking for the same
folder; these pin down that the reuse never hands out a stale or shared inventory.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from kopnet_iac.errors import InventoryError
from kopnet_iac.inventory import loader
from kopnet_iac.inventory.loader import load_inventory
from tests.inventory.conftest import edit


def _village_name(inv_dir: Path) -> str:
    return load_inventory(inv_dir).village("sukadana").name


def test_an_edit_of_the_same_size_and_time_is_seen(inv_dir: Path) -> None:
    path = inv_dir / "villages" / "sukadana.yaml"
    before = _village_name(inv_dir)
    stat = path.stat()
    text = path.read_text()
    assert "name: Desa Sukadana" in text
    path.write_text(text.replace("name: Desa Sukadana", "name: Desa Sukadanu", 1))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same time
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    assert before == "Desa Sukadana"
    assert _village_name(inv_dir) == "Desa Sukadanu"


def test_a_new_village_file_and_a_broken_file_are_seen(inv_dir: Path) -> None:
    first = load_inventory(inv_dir)
    source = inv_dir / "villages" / "sukadana.yaml"
    edit(source, "name: Desa Sukadana", "name: Desa Sukadana: [")
    with pytest.raises(InventoryError, match=r"sukadana\.yaml:\d+"):
        load_inventory(inv_dir)
    edit(source, "name: Desa Sukadana: [", "name: Desa Sukadana")
    again = load_inventory(inv_dir)
    assert again.villages.keys() == first.villages.keys()


def test_each_caller_gets_its_own_containers(inv_dir: Path) -> None:
    one, two = load_inventory(inv_dir), load_inventory(inv_dir)
    assert one == two and one is not two
    one.villages.pop("sukadana")
    one.warnings.append(two.warnings[0] if two.warnings else None)  # type: ignore[arg-type]
    assert "sukadana" in two.villages and "sukadana" in load_inventory(inv_dir).villages
    assert len(load_inventory(inv_dir).warnings) == len(two.warnings)


def test_lock_checks_on_and_off_are_separate_loads(inv_dir: Path) -> None:
    (inv_dir / "addresses.lock.yaml").write_text("villages: {}\n")
    with pytest.raises(InventoryError, match="no address allocation"):
        load_inventory(inv_dir)
    assert "sukadana" in load_inventory(inv_dir, check_lock=False).villages
    with pytest.raises(InventoryError, match="no address allocation"):
        load_inventory(inv_dir)


def test_threads_asking_at_once_parse_the_folder_once(
    inv_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    real = loader._load_uncached

    def counting(root: Path, check_lock: bool) -> loader.Inventory:
        calls.append(root)
        return real(root, check_lock)

    monkeypatch.setattr(loader, "_load_uncached", counting)
    start = threading.Barrier(8)
    results: list[loader.Inventory] = []

    def worker() -> None:
        start.wait()
        results.append(load_inventory(inv_dir))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and all(r == results[0] for r in results)
    assert len(calls) == 1
