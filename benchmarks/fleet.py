"""What ``kopnet backup --all`` and ``kopnet drift --all`` cost over a fleet behind GEO links.

A synthetic fleet (``benchmarks/fleetgen.py``, default 60 villages: over 200 emulated RouterOS
and airOS devices; gateways are not part of these commands) in one lab. Every village is first
deployed with no link delay (``deploy --all``: drift needs a confirmed release), then every
device is put behind the lab's link model (default 600 ms RTT) and the commands run through the
CLI in this process exactly as an operator runs them:

1. ``backup --all`` (first run: every file new), 2. ``backup --all`` again (nothing changed),
3. ``drift --all`` of the unchanged fleet.

Printed per run: wall time, devices, and per device the TCP connections, round trips and bytes
as the lab's wire counted them (``kopnet lab stats``): mean and max; for drift the target is no
more round trips per device than the backup's one read of the configuration. Figures only.

    .venv/bin/python benchmarks/fleet.py                      # 60 villages, 600 ms RTT
    .venv/bin/python benchmarks/fleet.py --villages 80 --rtt-ms 0
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from click.testing import CliRunner  # noqa: E402
from fleetgen import generate_fleet  # noqa: E402

from kopnet_iac.cli.main import cli  # noqa: E402
from kopnet_iac.inventory.secrets import env_var_name  # noqa: E402
from kopnet_iac.lab import control  # noqa: E402
from kopnet_iac.lab.faultspec import validate_changes  # noqa: E402

SECRETS = [
    "gw-admin", "core-admin", "radio-admin", "radius-secret", "snmp-community",
    "wifi-sukadana", "wifi-lebung-itam", "wifi-pematang", "backhaul-key",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--villages", type=int, default=60)
    parser.add_argument("--rtt-ms", type=float, default=600.0)
    parser.add_argument("--prefix", default=os.environ.get("KOPNET_LAB_PREFIX", "127.91"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="kopnet-bench-fleet-"))
    inventory = root / "inventory"
    summary = generate_fleet(inventory, args.villages)
    for secret in _secret_names(inventory):
        SECRETS.append(secret)
    env = {
        "KOPNET_LAB_DIR": str(root / "lab"),
        "KOPNET_LAB_PREFIX": args.prefix,
        "KOPNET_STATE": str(root / "state"),
        **{env_var_name(n): f"bench-{n}-value" for n in SECRETS},
    }
    os.environ.update(env)
    lab_dir = root / "lab"
    try:
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "kopnet_iac.cli.main", "--inventory", str(inventory),
             "lab", "up", "--all", "--no-gateways"],
            check=True, capture_output=True, text=True, timeout=1800, env={**os.environ, **env},
        )  # fmt: skip
        hosts = sorted(control.lab_stats(lab_dir))
        print(
            f"fleet: {summary.villages} villages, {summary.devices} devices, {len(hosts)} "
            f"emulated (lab up {time.monotonic() - started:.0f} s); link RTT {args.rtt_ms:.0f} ms"
        )
        deployed = invoke(inventory, "deploy", "--all", "--lab", "--yes", "--json",
                          "--canary", "0", "--max-parallel", "4", "--max-fail", "100%")  # fmt: skip
        counts = deployed[1].get("counts") if isinstance(deployed[1], dict) else deployed
        print(f"deploy --all at 0 ms: {deployed[2]:.0f} s, {counts}")
        for host in hosts:
            control.request(
                lab_dir, "fault", host=host, changes=validate_changes({"link_rtt_ms": args.rtt_ms})
            )
        measure("backup --all (first)", inventory, lab_dir, "backup", "--all", "--lab", "--json")
        measure(
            "backup --all (unchanged)", inventory, lab_dir, "backup", "--all", "--lab", "--json"
        )
        measure("drift --all (unchanged)", inventory, lab_dir, "drift", "--all", "--lab", "--json")
    finally:
        subprocess.run(
            [sys.executable, "-m", "kopnet_iac.cli.main", "--inventory", str(inventory),
             "lab", "down"],
            capture_output=True, text=True, timeout=600, env={**os.environ, **env},
        )  # fmt: skip
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def _secret_names(inventory: Path) -> set[str]:
    import re

    names: set[str] = set()
    for path in inventory.rglob("*.yaml"):
        names.update(re.findall(r"(?:key|secret|credentials|community|password)\w*: ([a-z0-9-]+)",
                                path.read_text()))  # fmt: skip
    return names


def invoke(inventory: Path, *args: str) -> tuple[int, Any, float]:
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["--inventory", str(inventory), *args])
    wall = time.monotonic() - started
    try:
        return result.exit_code, json.loads(result.stdout), wall
    except ValueError:
        return result.exit_code, (result.stdout + result.stderr)[-2000:], wall


def measure(title: str, inventory: Path, lab_dir: Path, *args: str) -> None:
    control.lab_stats(lab_dir, reset=True)
    code, report, wall = invoke(inventory, *args)
    stats = control.lab_stats(lab_dir)
    used = {h: r for h, r in stats.items() if int(r["connections"])}
    print(f"\n{title}: exit {code}, wall {wall:.1f} s, devices contacted {len(used)}")
    if isinstance(report, dict):
        statuses: dict[str, int] = {}
        for device in report.get("devices", []):
            statuses[device["status"]] = statuses.get(device["status"], 0) + 1
        print(f"  statuses: {statuses}")
    else:
        print(f"  {report}")
    for field in ("round_trips", "connections", "bytes_to_device", "bytes_from_device"):
        values = [int(r[field]) for r in used.values()] or [0]
        print(
            f"  {field:<18} per device: mean {statistics.mean(values):9.1f}  "
            f"max {max(values):8d}  total {sum(values):10d}"
        )
    for platform in ("routeros", "airos"):
        rts = [int(r["round_trips"]) for h, r in used.items() if _platform(r) == platform]
        if rts:
            print(f"  round trips, {platform:<8} mean {statistics.mean(rts):.1f} max {max(rts)}")


def _platform(row: dict[str, Any]) -> str:
    services = row.get("by_service") or {}
    return "routeros" if "api" in services else "airos"


if __name__ == "__main__":
    main()
