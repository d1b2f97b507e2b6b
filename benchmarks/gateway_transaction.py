"""Gateway transaction benchmark: the device-side revert on a lab gateway (needs root).

    .venv/bin/python benchmarks/gateway_transaction.py [--rounds 5] [--revert-in 6]

Brings up the example fleet's Sukadana gateway in the namespace lab and prints, per operation,
wall time and SSH execs (one login and one exec each; a login costs a few round trips):
``arm_revert``, ``confirm``, ``revert_now``, ``pending``, and how late the timer fires after
its deadline when nobody confirms (gateway clock, measured by polling ``revert_state``).
Everything it started is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.platforms.linux.sshrun import SshTarget
from kopnet_iac.platforms.linux.transaction import (
    arm_revert,
    confirm,
    pending,
    revert_now,
    revert_state,
)

REPO = Path(__file__).resolve().parents[1]


def _target(info: dict[str, object]) -> SshTarget:
    return SshTarget(
        host=str(info["host"]),
        port=int(str(info["ssh_port"])),
        username=str(info["username"]),
        key_file=str(info["key_file"]),
        hostname=str(info["hostname"]),
        village=str(info["village"]),
    )


def _time(func: Callable[[], object]) -> float:
    start = time.monotonic()
    func()
    return time.monotonic() - start


def _row(label: str, samples: list[float], trips: int) -> None:
    print(
        f"{label:<34} median {statistics.median(samples) * 1000:7.1f} ms  "
        f"max {max(samples) * 1000:7.1f} ms  {trips} SSH exec (one login)",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--revert-in", type=int, default=6)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("gateways not available: needs root (network namespaces)")
        return 2
    from kopnet_iac.lab import gateway_netns

    inv = load_inventory(REPO / "inventory")
    lab = Path(tempfile.mkdtemp(prefix="kopnet-txn-bench-")) / "lab"
    try:
        target = _target(dict(gateway_netns.up("sukadana", inv, lab)))
        village = "sukadana"
        arms, confirms, reverts, pendings, late = [], [], [], [], []
        for _ in range(args.rounds):
            arms.append(_time(lambda: arm_revert(target, 300, village=village)))
            pendings.append(_time(lambda: pending(target, village=village)))
            confirms.append(_time(lambda: confirm(target, village=village)))
            arm_revert(target, 300, village=village)
            reverts.append(_time(lambda: revert_now(target, village=village)))
        for _ in range(max(1, args.rounds // 2)):
            arm = arm_revert(target, args.revert_in, village=village)
            while True:
                state = revert_state(target, village=village)
                if not state.armed:
                    fired = int(state.last.split()[2]) if state.last.startswith("reverted") else 0
                    late.append(float(fired - arm.deadline))
                    break
                time.sleep(0.2)
        _row("arm_revert (snapshot + timer)", arms, 1)
        _row("pending", pendings, 1)
        _row("confirm", confirms, 1)
        _row("revert_now (restore + reload)", reverts, 1)
        print(
            f"{'timer fired after its deadline':<34} median {statistics.median(late):5.1f} s   "
            f"max {max(late):5.1f} s  (gateway clock, 1 s resolution)"
        )
    finally:
        gateway_netns.down(lab)
    return 0


if __name__ == "__main__":
    sys.exit(main())
