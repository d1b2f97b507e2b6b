"""HTML report figures: the fleet compliance page of a large fleet, and one release report.

    .venv/bin/python benchmarks/report.py [--villages 1000] [--devices 6] [--no-browser]
                                          [--diff-villages 300]

Builds compliance rows for VILLAGES x DEVICES devices (a realistic mix: mostly compliant,
some drifted with a plan, some unreachable, a few never deployed), then prints the page's
size, the time to build and write it, and (when Debian's chromium is installed) the time
headless Chromium takes to start, load, lay out and dump it, against a blank page's time
for the same browser start.

Then ``kopnet diff`` grouping on a synthetic fleet of DIFF_VILLAGES villages
(``benchmarks/fleetgen.py``) in a temporary git repository with a fleet-wide change (the
management VLAN): the diff's wall time, the part spent collecting each village's own values,
grouping time, how many distinct changes the devices fall into, and the markdown comment's
size grouped and per device (``--diff-villages 0`` skips it).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.browser import chromium, timed_dump
from kopnet_iac.render import gitdiff
from kopnet_iac.render.compare import format_markdown
from kopnet_iac.render.diffgroups import diff_groups, format_markdown_grouped
from kopnet_iac.render.grouping import fleet_values
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


def _git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    }
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def diff_grouping(villages: int) -> None:
    from benchmarks.fleetgen import generate_fleet

    templates = Path(__file__).resolve().parents[1] / "templates"
    with tempfile.TemporaryDirectory(prefix="kopnet-group-bench-") as tmp:
        repo = Path(tmp, "repo")
        generate_fleet(repo / "inventory", villages)
        _git(repo, "init", "-q", "-b", "main")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "fleet")
        fleet = repo / "inventory" / "fleet.yaml"
        fleet.write_text(fleet.read_text().replace("management_vlan: 99", "management_vlan: 98"))
        spent: list[float] = []

        def timed_values(*args: object, **kwargs: object) -> object:
            start = time.perf_counter()
            result = fleet_values(*args, **kwargs)  # type: ignore[arg-type]
            spent.append(time.perf_counter() - start)
            return result

        setattr(gitdiff, "fleet_values", timed_values)  # noqa: B010 (count its share)
        start = time.perf_counter()
        report = gitdiff.diff_revisions(repo / "inventory", "HEAD", None, templates)
        wall = time.perf_counter() - start
        start = time.perf_counter()
        groups = diff_groups(report)
        grouping = time.perf_counter() - start
        devices = len(report.devices())
        grouped = format_markdown_grouped(report, groups, limit=10**9)
        flat = format_markdown(report, limit=10**9)
    print(
        f"kopnet diff grouping: {villages} villages, fleet-wide change (management VLAN), "
        f"{devices} devices differ"
    )
    print(f"  diff (render both sides + compare) {wall:7.2f} s")
    print(f"  of which own values of each village {sum(spent):6.2f} s")
    print(f"  grouping                          {grouping:7.2f} s")
    single = sum(1 for g in groups if g.count == 1)
    print(
        f"  distinct changes                  {len(groups):7d} (largest: {groups[0].count} "
        f"devices; {single} of one device)"
    )
    print(
        f"  markdown, whole                   {len(grouped) / 1024:7.1f} KiB grouped, "
        f"{len(flat) / 1024:.1f} KiB per device"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--villages", type=int, default=1000)
    parser.add_argument("--devices", type=int, default=6)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--diff-villages", type=int, default=300)
    args = parser.parse_args(argv)
    compliance(args)
    if args.diff_villages:
        diff_grouping(args.diff_villages)
    return 0


def compliance(args: argparse.Namespace) -> None:
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
            return
        if chromium() is None:
            print("  browser         chromium not installed (apt-get install chromium)")
            return
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


if __name__ == "__main__":
    raise SystemExit(main())
