"""HTML report figures: the fleet compliance page of a large fleet, and one release report.

    .venv/bin/python benchmarks/report.py [--villages 1000] [--devices 6] [--no-browser]

Builds compliance rows for VILLAGES x DEVICES devices (a realistic mix: mostly compliant,
some drifted with a plan, some unreachable, a few never deployed), then prints the page's
size, the time to build and write it, and (when Debian's chromium is installed) the time
headless Chromium takes to start, load, lay out and dump it, against a blank page's time
for the same browser start.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.browser import chromium, timed_dump
from kopnet_iac.report.compliance import render_compliance_page
from kopnet_iac.report.html import page, write_atomic

PLAN = (
    "/ip service\nset telnet disabled=yes\n/snmp community\nset [ find default=yes ] "
    "name=@@secret:snmp-community@@\n/system ntp client servers\nadd address=10.200.0.{n}\n"
)


def rows(villages: int, devices: int, seed: int = 7) -> list[dict[str, str]]:
    rng = random.Random(seed)
    roles = ["gw", "core", "sec-1", "sec-2", "bh-a", "bh-b", "sec-3", "sec-4"]
    out = []
    for v in range(villages):
        village = f"desa-{v:04d}"
        for d in range(devices):
            roll = rng.random()
            status = (
                "compliant"
                if roll < 0.9
                else "drifted"
                if roll < 0.96
                else "unreachable"
                if roll < 0.99
                else "never-deployed"
            )
            out.append(
                {
                    "village": village,
                    "hostname": f"{roles[d % len(roles)]}-{village}",
                    "status": status,
                    "plan": PLAN.format(n=d) if status == "drifted" else "",
                }
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--villages", type=int, default=1000)
    parser.add_argument("--devices", type=int, default=6)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args(argv)

    data = rows(args.villages, args.devices)
    with tempfile.TemporaryDirectory(prefix="kopnet-report-bench-") as tmp:
        target = Path(tmp, "compliance.html")
        builds = []
        for _ in range(args.runs):
            start = time.perf_counter()
            render_compliance_page(data, target)
            builds.append(time.perf_counter() - start)
        size = target.stat().st_size
        counts = {s: sum(1 for r in data if r["status"] == s) for s in ("drifted", "unreachable")}
        print(
            f"compliance page: {args.villages} villages, {len(data)} devices "
            f"({counts['drifted']} drifted, {counts['unreachable']} unreachable)"
        )
        print(f"  size            {size / 1024:9.1f} KiB ({size / len(data):.0f} bytes/device)")
        print(
            f"  build + write   {statistics.median(builds) * 1000:9.1f} ms (median of {args.runs})"
        )
        if args.no_browser:
            return 0
        if chromium() is None:
            print("  browser         chromium not installed (apt-get install chromium)")
            return 0
        blank = Path(tmp, "blank.html")
        write_atomic(blank, page("blank", "<p>blank</p>"))
        base = [timed_dump(blank)[0] for _ in range(args.runs)]
        loads = [timed_dump(target) for _ in range(args.runs)]
        median_load = statistics.median(t for t, _ in loads)
        median_base = statistics.median(base)
        print(
            f"  chromium load   {median_load * 1000:9.1f} ms to start, load, lay out and dump "
            f"(blank page {median_base * 1000:.1f} ms; page cost "
            f"{(median_load - median_base) * 1000:.1f} ms), DOM {loads[0][1] / 1024:.1f} KiB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
