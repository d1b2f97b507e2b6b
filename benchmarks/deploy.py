"""What ``kopnet deploy`` of a whole village costs behind a slow link, per device.

A lab of one example village (default Lebung Itam: RouterOS core and sector, airOS PtP pair and
sector; add ``--gateway`` as root for its Linux gateway too) with every emulated device behind
the lab's link model (default 600 ms RTT, a GEO satellite hop). Three deploys in a row, each
through the CLI in this process exactly as an operator runs it (``--lab --yes --json``):

1. fresh rollout of the village onto the lab's default configs;
2. the same deploy again (a no-op: must send zero configuration commands);
3. a one-line inventory change (one sector's SSID).

Printed per scenario: outcome and wall time; per device: TCP connections, round trips, bytes
each way and configuration commands as the lab's wire counted them (``kopnet lab stats``), and
the configuration operations the deploy reported. Figures, never pass/fail.

    .venv/bin/python benchmarks/deploy.py                 # 600 ms RTT
    .venv/bin/python benchmarks/deploy.py --rtt-ms 0      # no link delay
    .venv/bin/python benchmarks/deploy.py --village sukadana --gateway   # as root
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from click.testing import CliRunner  # noqa: E402

from kopnet_iac.cli.main import cli  # noqa: E402
from kopnet_iac.inventory.secrets import env_var_name  # noqa: E402
from kopnet_iac.lab import control  # noqa: E402

FLEET = REPO / "tests" / "fixtures" / "fleet"
SECRETS = [
    "gw-admin",
    "core-admin",
    "radio-admin",
    "radius-secret",
    "snmp-community",
    "wifi-sukadana",
    "wifi-lebung-itam",
    "wifi-pematang",
    "backhaul-key",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--village", default="lebung-itam")
    parser.add_argument("--rtt-ms", type=float, default=600.0)
    parser.add_argument("--gateway", action="store_true", help="also the gateway (root)")
    parser.add_argument("--prefix", default=os.environ.get("KOPNET_LAB_PREFIX", "127.86"))
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="kopnet-bench-deploy-"))
    env = {
        "KOPNET_LAB_DIR": str(root / "lab"),
        "KOPNET_LAB_PREFIX": args.prefix,
        "KOPNET_STATE": str(root / "state"),
        **{env_var_name(n): f"bench-{n}-value" for n in SECRETS},
    }
    inventory = root / "inventory"
    shutil.copytree(FLEET, inventory)
    os.environ.update(env)

    def lab(*words: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "kopnet_iac.cli.main", "--inventory", str(inventory),
             "lab", *words],
            capture_output=True, text=True, timeout=600, env={**os.environ, **env},
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"kopnet lab {' '.join(words)} failed:\n{done.stdout}{done.stderr}")

    try:
        lab("up", args.village, "--gateways" if args.gateway else "--no-gateways")
        hosts = sorted(control.lab_stats(root / "lab"))
        if args.rtt_ms > 0:
            for host in hosts:
                lab("fault", host, "--rtt", str(args.rtt_ms))
        print(f"village {args.village}, link RTT {args.rtt_ms:.0f} ms, devices: {len(hosts)}")
        run("fresh rollout", inventory, root, args.village)
        run("no-op redeploy", inventory, root, args.village)
        village_file = inventory / "villages" / f"{args.village}.yaml"
        text = village_file.read_text()
        changed = re.sub(
            r"(sectors:\n\s+- \{radio: [^,]+, ssid: )([^,]+)", r"\1\2-b", text, count=1
        )
        village_file.write_text(changed)
        run("one-line change", inventory, root, args.village)
    finally:
        lab("down")
        shutil.rmtree(root, ignore_errors=True)


def run(title: str, inventory: Path, root: Path, village: str) -> None:
    control.lab_stats(root / "lab", reset=True)
    started = time.monotonic()
    result = CliRunner().invoke(
        cli, ["--inventory", str(inventory), "deploy", village, "--lab", "--yes", "--json"]
    )
    wall = time.monotonic() - started
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except ValueError:
        print(f"{title}: exit {result.exit_code}\n{result.stdout}{result.stderr}")
        return
    stats = control.lab_stats(root / "lab")
    ops = {d["hostname"]: d["operations"] for d in report["devices"]}
    print(f"\n{title}: {report['outcome']} (exit {result.exit_code}), wall {wall:.1f} s")
    header = f"  {'device':<20} {'conns':>5} {'RTs':>5} {'bytes->':>9} {'bytes<-':>9} "
    print(header + f"{'cfg cmds':>8} {'ops':>5}")
    totals = [0, 0, 0, 0, 0]
    for host, row in sorted(stats.items()):
        values = [
            int(row["connections"]),
            int(row["round_trips"]),
            int(row["bytes_to_device"]),
            int(row["bytes_from_device"]),
            int(row["config_commands"]),
        ]
        totals = [a + b for a, b in zip(totals, values, strict=True)]
        print(
            f"  {host:<20} {values[0]:>5} {values[1]:>5} {values[2]:>9} {values[3]:>9} "
            f"{values[4]:>8} {ops.get(host, 0):>5}"
        )
    print(
        f"  {'total':<20} {totals[0]:>5} {totals[1]:>5} {totals[2]:>9} {totals[3]:>9} "
        f"{totals[4]:>8} {sum(ops.values()):>5}"
    )


if __name__ == "__main__":
    main()
