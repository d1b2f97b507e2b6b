"""Gateway read benchmark: the managed files of a lab gateway read for ``kopnet backup`` and
``kopnet drift`` (needs root), and the pure masking and comparison.

    .venv/bin/python benchmarks/gateway_read.py [--rounds 10]

Brings up the example fleet's Sukadana gateway in the namespace lab and prints the wall time
of :func:`kopnet_iac.fleet.gateway.read_gateway` (one SSH login and one exec reading every
managed file), how many files were present and their size, then the time to mask and compare
the rendered files with themselves. Everything it started is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from kopnet_iac.fleet.gateway import compare_files, mask_text, read_gateway, rendered_by_path
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.platforms.linux.sshrun import SshTarget

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    inv = load_inventory(REPO / "inventory")
    intended = rendered_by_path(inv, "sukadana", "gw-sukadana")
    start = time.monotonic()
    for _ in range(args.rounds):
        masked = {p: None if t is None else mask_text(t, {}, t) for p, t in intended.items()}
        assert compare_files(masked, intended) == []
    pure = (time.monotonic() - start) / args.rounds
    print(f"{'mask + compare (rendered files)':<34} {pure * 1000:7.2f} ms per gateway")
    if os.geteuid() != 0:
        print("gateways not available: needs root (network namespaces)")
        return 2
    from kopnet_iac.lab import gateway_netns

    lab = Path(tempfile.mkdtemp(prefix="kopnet-gwread-bench-")) / "lab"
    try:
        info = dict(gateway_netns.up("sukadana", inv, lab))
        target = SshTarget(
            host=str(info["host"]),
            port=int(str(info["ssh_port"])),
            username=str(info["username"]),
            key_file=str(info["key_file"]),
            hostname=str(info["hostname"]),
            village="sukadana",
        )
        samples, present, size = [], 0, 0
        for _ in range(args.rounds):
            begin = time.monotonic()
            read = read_gateway(target, "sukadana", values={}, intended=intended)
            samples.append(time.monotonic() - begin)
            present = sum(1 for t in read.files.values() if t is not None)
            size = sum(len(t) for t in read.files.values() if t is not None)
        print(
            f"{'read_gateway (1 login, 1 exec)':<34} median "
            f"{statistics.median(samples) * 1000:7.1f} ms  max {max(samples) * 1000:7.1f} ms  "
            f"{present}/{len(read.files)} files present, {size} bytes"
        )
    finally:
        gateway_netns.down(lab)
    return 0


if __name__ == "__main__":
    sys.exit(main())
