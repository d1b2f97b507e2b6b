"""What ``kopnet replace`` of a failed device costs, from "factory-fresh device answers" to
"verified and recorded", for a core router and an airOS radio, with and without a GEO link.

For each case the device's village is (re)started in the lab in factory state, the link in
front of the device gets the RTT (``kopnet lab fault HOST --rtt MS``), the wire counters are
reset, and ``replace_device`` runs in this process as ``kopnet replace --lab --yes`` does.
Printed per case: the time to the first answer of the probe, the time from that answer to
verified and recorded, and what the lab's wire counted for the device (``kopnet lab stats``):
TCP connections, round trips, bytes each way, configuration commands. Figures, never pass/fail.

    .venv/bin/python benchmarks/replace.py                  # 0 ms and 600 ms RTT
    .venv/bin/python benchmarks/replace.py --rtt-ms 600     # one RTT only
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kopnet_iac.inventory.secrets import env_var_name  # noqa: E402
from kopnet_iac.lab import control  # noqa: E402
from kopnet_iac.replace.flow import ReplaceOptions, replace_device  # noqa: E402

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
CASES = [("sukadana", "core-sukadana", "core router"), ("lebung-itam", "bh-lebung-itam-a", "radio")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rtt-ms", type=float, action="append", help="default: 0 and 600")
    parser.add_argument("--prefix", default=os.environ.get("KOPNET_LAB_PREFIX", "127.92"))
    args = parser.parse_args()
    rtts = args.rtt_ms or [0.0, 600.0]
    root = Path(tempfile.mkdtemp(prefix="kopnet-bench-replace-"))
    lab_dir = root / "lab"
    env = {
        "KOPNET_LAB_DIR": str(lab_dir),
        "KOPNET_LAB_PREFIX": args.prefix,
        "KOPNET_STATE": str(root / "state"),
        **{env_var_name(n): f"bench-{n}-value" for n in SECRETS},
    }
    inventory = root / "inventory"
    shutil.copytree(FLEET, inventory)
    os.environ.update(env)

    def lab(*words: str) -> None:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "kopnet_iac.cli.main",
                "--inventory",
                str(inventory),
                "lab",
                *words,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, **env},
        )

    rows = []
    try:
        for rtt in rtts:
            for village, host, kind in CASES:
                if control.is_running(lab_dir):
                    lab("remove", village)
                lab("up", village, "--factory-default", "--no-gateways")
                lab("fault", host, "--rtt", str(rtt))
                control.lab_stats(lab_dir, [host], reset=True)
                started = time.monotonic()
                report = replace_device(
                    ReplaceOptions(
                        village=village,
                        hostname=host,
                        inventory_dir=inventory,
                        lab_dir=lab_dir,
                        settle_s=60,
                    )
                )
                total = time.monotonic() - started
                wire = control.lab_stats(lab_dir, [host])[host]
                answers = report.timings.get("answers", 0.0)
                rows.append(
                    (
                        kind,
                        host,
                        rtt,
                        report.outcome,
                        answers,
                        total - answers,
                        wire.get("connections", 0),
                        wire.get("round_trips", 0),
                        wire.get("bytes_to_device", 0),
                        wire.get("bytes_from_device", 0),
                        wire.get("config_commands", 0),
                    )
                )
    finally:
        if control.is_running(lab_dir):
            lab("down")
        shutil.rmtree(root, ignore_errors=True)
    print("kopnet replace in the lab (factory-fresh device to verified and recorded)")
    print(
        f"{'device':<11} {'host':<17} {'rtt ms':>6}  {'outcome':<9} {'probe s':>7}  "
        f"{'answer->recorded s':>18}  {'conn':>4} {'round trips':>11} {'bytes to':>8} "
        f"{'bytes from':>10} {'config cmds':>11}"
    )
    for row in rows:
        print(
            f"{row[0]:<11} {row[1]:<17} {row[2]:>6.0f}  {row[3]:<9} {row[4]:>7.1f}  "
            f"{row[5]:>18.1f}  {row[6]:>4} {row[7]:>11} {row[8]:>8} {row[9]:>10} {row[10]:>11}"
        )


if __name__ == "__main__":
    main()
