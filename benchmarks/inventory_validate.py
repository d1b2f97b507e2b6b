"""Time loading + validating a synthetic fleet of N villages (default 1,000).

Usage: .venv/bin/python benchmarks/inventory_validate.py [N]

The fleet is the example inventory with every village file cloned N/3 times under new ids,
hostnames and serials; the address lock is allocated first (also timed).
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.inventory.lockfile import update_lock

# the project's example fleet as the tests keep it (inventory/ is the user's own fleet)
EXAMPLE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "fleet"


def synthetic_fleet(dest: Path, count: int) -> None:
    """Write an inventory with ``count`` villages cloned from the example ones."""
    shutil.copy(EXAMPLE / "fleet.yaml", dest / "fleet.yaml")
    shutil.copy(EXAMPLE / "hardware.yaml", dest / "hardware.yaml")
    (dest / "villages").mkdir()
    templates = [(p.stem, p.read_text()) for p in sorted((EXAMPLE / "villages").glob("*.yaml"))]
    serial = re.compile(r"serial: ([A-Za-z0-9-]+)")
    for i in range(count):
        stem, text = templates[i % len(templates)]
        short = stem.split("-")[0]
        new_id = f"{stem}-{i:04d}"
        body = text.replace(f"id: {stem}", f"id: {new_id}")
        body = re.sub(rf"\b(gw|core|sec|bh)-{short}", rf"\1-{short}{i:04d}", body)
        body = serial.sub(lambda m, i=i: f"serial: {m.group(1)}X{i:04d}", body)
        (dest / "villages" / f"{new_id}.yaml").write_text(body)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        synthetic_fleet(root, count)
        t0 = time.perf_counter()
        inv = load_inventory(root, check_lock=False)
        _, report = update_lock(inv)
        t1 = time.perf_counter()
        assert not report.failed, report.failed
        print(f"addresses update, {count} villages: {t1 - t0:.2f} s (incl. one load)")
        for run in range(3):
            t0, c0 = time.perf_counter(), time.process_time()
            inv = load_inventory(root)
            t1, c1 = time.perf_counter(), time.process_time()
            devices = sum(len(v.devices) for v in inv.villages.values())
            print(
                f"load+validate run {run + 1}: {t1 - t0:.2f} s wall, {c1 - c0:.2f} s CPU "
                f"({len(inv.villages)} villages, {devices} devices)"
            )


if __name__ == "__main__":
    main()
