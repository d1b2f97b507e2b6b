"""Gateway benchmark: Ansible playbook wall time in the namespace lab (needs root).

    .venv/bin/python benchmarks/gateway.py [--gateways 10]

Generates a synthetic fleet (benchmarks/fleetgen.py), brings up N + 1 lab gateways (each
peering with its own emulated ISP edge), then prints:

- one gateway: ``kopnet gateway apply --check`` plan on a fresh box, the fresh apply (snapshot,
  playbook, checks) and a second apply that changes nothing;
- N gateways in parallel: one ``gateway.yml`` run over all of them (forks = N), fresh and again
  with nothing to change;
- the check-mode plan for one gateway against the 15 s budget.

Every gateway, namespace and process it started is removed at the end, also on failure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleetgen import generate_fleet

from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.platforms.linux.ansible import run_playbook
from kopnet_iac.platforms.linux.apply import apply_gateway
from kopnet_iac.platforms.linux.files import rendered_files, write_files
from kopnet_iac.platforms.linux.gateway import gateway_device
from kopnet_iac.platforms.linux.inventory import gateway_hosts, runner_inventory

PLAN_BUDGET_S = 15.0
T = TypeVar("T")


def _timed(label: str, func: Callable[[], T]) -> tuple[T, float]:
    start = time.monotonic()
    value = func()
    elapsed = time.monotonic() - start
    print(f"{label:<52} {elapsed:7.1f} s", flush=True)
    return value, elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateways", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("gateways not available: needs root (network namespaces)")
        return 2
    from kopnet_iac.lab import gateway_netns

    with tempfile.TemporaryDirectory(prefix="kopnet-gwbench-") as tmp:
        base = Path(tmp)
        # one gateway for the single-gateway figures, N more for the parallel run
        generate_fleet(base / "inventory", args.gateways + 1, args.seed)
        inv = load_inventory(base / "inventory")
        villages = sorted(inv.villages)
        lab_dir = base / "lab"
        try:
            _, up_s = _timed(
                f"lab up ({len(villages)} gateways + ISP edges)",
                lambda: [gateway_netns.up(v, inv, lab_dir) for v in villages],
            )
            first = villages[0]
            print(f"one gateway: {first} ({inv.village(first).uplink.type})")
            plan, plan_s = _timed(
                "  check-mode plan, fresh gateway",
                lambda: apply_gateway(
                    inv, first, lab_dir=lab_dir, workdir=base / "w-plan", check=True
                ),
            )
            print(f"    {len(plan.changed)} task(s) would change")
            fresh, _ = _timed(
                "  apply (snapshot + playbook + checks), fresh",
                lambda: apply_gateway(inv, first, lab_dir=lab_dir, workdir=base / "w-apply"),
            )
            print(f"    ok={fresh.ok} changed={len(fresh.changed)} error={fresh.error or '-'}")
            again, _ = _timed(
                "  apply again (no change)",
                lambda: apply_gateway(inv, first, lab_dir=lab_dir, workdir=base / "w-again"),
            )
            print(f"    ok={again.ok} changed={len(again.changed)}")
            _, replan_s = _timed(
                "  check-mode plan, configured gateway",
                lambda: apply_gateway(
                    inv, first, lab_dir=lab_dir, workdir=base / "w-replan", check=True
                ),
            )

            rest = villages[1:]
            source = base / "rendered-all"
            for village in rest:
                hostname = gateway_device(inv, village).hostname
                write_files(rendered_files(inv, village, hostname), source, hostname)
            inventory = runner_inventory(gateway_hosts(inv, rest, lab_dir))
            extravars = {"kopnet_gateway_source_dir": str(source)}
            print(f"{len(rest)} gateways in parallel (forks={len(rest)}):")
            run, _ = _timed(
                "  gateway.yml, fresh",
                lambda: run_playbook(
                    "gateway.yml", inventory, extravars=extravars, forks=len(rest), diff=False
                ),
            )
            print(f"    ok={run.ok} changed tasks={len(run.changes)} failures={len(run.failures)}")
            run2, _ = _timed(
                "  gateway.yml, no change",
                lambda: run_playbook(
                    "gateway.yml", inventory, extravars=extravars, forks=len(rest), diff=False
                ),
            )
            print(f"    ok={run2.ok} changed tasks={len(run2.changes)}")
            best = min(plan_s, replan_s)
            verdict = "within" if best < PLAN_BUDGET_S else "OVER"
            print(
                f"check-mode plan for one gateway: {best:.1f} s ({verdict} the "
                f"{PLAN_BUDGET_S:.0f} s budget); lab up {up_s / len(villages):.1f} s per gateway"
            )
        finally:
            _timed("lab down", lambda: gateway_netns.down(lab_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
