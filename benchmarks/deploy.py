"""What ``kopnet deploy`` costs over satellite links: wall time, round trips and bytes per device.

The lab's emulated RouterOS/airOS devices of a village behind the lab's link model (default
600 ms RTT on every device, a GEO hop), deployed through the library the CLI uses
(:func:`kopnet_iac.deploy.transaction.deploy_village`: plan, arm, apply, verify, confirm):

1. a fresh village (the lab's initial configuration -> the rendered intent);
2. a one-line change (one sector's SSID in a temporary copy of the inventory);
3. a no-op redeploy (target: zero configuration commands on every device);
4. N villages at once (default 50, generated with ``benchmarks/fleetgen.py`` into a temporary
   inventory), each fresh, all in parallel, against the slowest of them deployed alone on a
   fresh lab (target: N at once take at most 1.5x the wall time of one; see ``many_villages``),
   and the smallest village of the fleet deployed alone.

Per device, from ``kopnet lab stats``: TCP connections, round trips, bytes each way and
configuration commands. Figures, never pass/fail. Gateways are not part of these runs (their
namespace lab needs root and an Ansible run per village).

    .venv/bin/python benchmarks/deploy.py                  # 600 ms RTT, 50 villages
    .venv/bin/python benchmarks/deploy.py --rtt-ms 300 --villages 20
    .venv/bin/python benchmarks/deploy.py --quick          # smoke run: no delay, 4 villages
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.fleetgen import generate_fleet  # noqa: E402
from kopnet_iac.inventory.secrets import env_var_name  # noqa: E402
from kopnet_iac.lab import control  # noqa: E402

EXAMPLE = REPO / "tests" / "fixtures" / "fleet"
PREFIX = os.environ.get("KOPNET_LAB_PREFIX", "127.88")
COLUMNS = ("connections", "round_trips", "bytes_to_device", "bytes_from_device", "config_commands")


def fake_secrets(inventory: Path) -> dict[str, str]:
    """A fake value for every secret the fleet declares (environment variables)."""
    doc = yaml.safe_load((inventory / "fleet.yaml").read_text(encoding="utf-8"))
    return {env_var_name(name): f"bench-{name}-9Kd" for name in doc.get("secrets", {})}


class BenchLab:
    """A lab daemon in ``root``, one inventory, a release store; stopped on exit."""

    def __init__(self, root: Path, inventory: Path) -> None:
        self.root, self.inventory = root, inventory
        self.lab_dir, self.state = root / "lab", root / "state"
        self.env = {
            **os.environ,
            "KOPNET_LAB_DIR": str(self.lab_dir),
            "KOPNET_LAB_PREFIX": PREFIX,
            "KOPNET_STATE": str(self.state),
            **fake_secrets(inventory),
        }
        os.environ.update(self.env)

    def kopnet(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "kopnet_iac.cli.main", "--inventory", str(self.inventory)]
        return subprocess.run(
            [*cmd, *args], capture_output=True, text=True, env=self.env, cwd=REPO, timeout=1800
        )

    def up(self, villages: list[str], rtt_ms: float) -> list[str]:
        done = self.kopnet("lab", "up", *villages, "--no-gateways")
        if done.returncode != 0:
            raise RuntimeError(done.stdout + done.stderr)
        rows = control.request(self.lab_dir, "status")["devices"]
        hosts = [str(r["hostname"]) for r in rows if r["state"] == "running"]
        if rtt_ms:
            for host in hosts:
                control.request(self.lab_dir, "fault", host=host, changes={"link_rtt_ms": rtt_ms})
        control.lab_stats(self.lab_dir, reset=True)
        return hosts

    def down(self) -> None:
        self.kopnet("lab", "down")
        pid = control.read_pid(self.lab_dir)
        if pid is not None and control.pid_alive(pid) and control.is_lab_daemon(pid):
            os.kill(pid, signal.SIGKILL)

    def deploy(self, village: str, inventory: Path | None = None, revert_in: int = 600) -> Any:
        from kopnet_iac.deploy.planning import DeployOptions
        from kopnet_iac.deploy.transaction import deploy_village

        return deploy_village(
            DeployOptions(
                village=village,
                inventory_dir=inventory or self.inventory,
                lab_dir=self.lab_dir,
                revert_in=revert_in,
                state_dir=self.state,
                workdir=self.root / "work" / village,
                operator="bench",
            )
        )


@contextlib.contextmanager
def bench_lab(root: Path, inventory: Path) -> Iterator[BenchLab]:
    lab = BenchLab(root, inventory)
    try:
        yield lab
    finally:
        lab.down()


def measure(lab: BenchLab, villages: list[str], inventory: Path | None = None) -> dict[str, Any]:
    """Deploy ``villages`` at once (one thread each); wall time, outcomes and wire stats."""
    control.lab_stats(lab.lab_dir, reset=True)
    reports: dict[str, Any] = {}

    seconds: dict[str, float] = {}

    def one(village: str) -> None:
        begun = time.monotonic()
        try:
            reports[village] = lab.deploy(village, inventory)
        except Exception as exc:
            reports[village] = exc
        seconds[village] = time.monotonic() - begun

    started = time.monotonic()
    threads = [threading.Thread(target=one, args=(v,)) for v in villages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    stats = control.lab_stats(lab.lab_dir)
    return {"wall": wall, "reports": reports, "stats": stats, "seconds": seconds}


def outcome_text(reports: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for report in reports.values():
        key = report.outcome if hasattr(report, "outcome") else f"error {type(report).__name__}"
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))


def print_devices(title: str, result: dict[str, Any], only: list[str] | None = None) -> None:
    stats = result["stats"]
    hosts = sorted(h for h in stats if only is None or h in only)
    print(f"\n{title}: wall {result['wall']:.1f} s, outcome {outcome_text(result['reports'])}")
    for report in result["reports"].values():
        if not hasattr(report, "outcome"):
            print(f"  error: {str(report)[:300]}")
        elif report.error:
            print(f"  {report.village}: {report.error[:300]}")
    width = max((len(h) for h in hosts), default=6)
    print(
        f"  {'device':<{width}}  {'conns':>5} {'rtrips':>6} {'bytes->':>9} {'bytes<-':>9} "
        f"{'config':>6}"
    )
    totals = dict.fromkeys(COLUMNS, 0)
    for host in hosts:
        row = stats[host]
        for key in COLUMNS:
            totals[key] += int(row.get(key, 0))
        print(
            f"  {host:<{width}}  {row['connections']:>5} {row['round_trips']:>6} "
            f"{row['bytes_to_device']:>9} {row['bytes_from_device']:>9} "
            f"{row['config_commands']:>6}"
        )
    print(
        f"  {'total':<{width}}  {totals['connections']:>5} {totals['round_trips']:>6} "
        f"{totals['bytes_to_device']:>9} {totals['bytes_from_device']:>9} "
        f"{totals['config_commands']:>6}"
    )


def one_village(root: Path, village: str, rtt_ms: float) -> None:
    inventory = root / "inventory"
    shutil.copytree(EXAMPLE, inventory)
    changed = root / "inventory-changed"
    shutil.copytree(EXAMPLE, changed)
    path = changed / "villages" / f"{village}.yaml"
    text = path.read_text()
    marker = "ssid: KopNet-"
    start = text.index(marker) + len(marker)
    end = text.index(",", start)
    path.write_text(text[:start] + text[start:end] + "x" + text[end:])  # one sector's SSID
    with bench_lab(root / "one", inventory) as lab:
        hosts = lab.up([village], rtt_ms)
        fresh = measure(lab, [village])
        print_devices(f"fresh village {village}", fresh, hosts)
        change = measure(lab, [village], changed)
        print_devices(f"one-line change in {village} (one sector's SSID)", change, hosts)
        noop = measure(lab, [village], changed)
        print_devices(f"no-op redeploy of {village}", noop, hosts)
        commands = sum(int(noop["stats"][h]["config_commands"]) for h in hosts)
        print(f"  no-op: {commands} configuration command(s) sent in total (target 0)")


def many_villages(root: Path, count: int, rtt_ms: float) -> None:
    """``count`` villages deployed at once against single villages deployed alone.

    A village's deploy takes as long as its longest chain of round trips (its tiers: the core,
    then the radios behind it, then those behind them), so villages of a fleet differ by design
    and villages side by side cannot finish before the slowest of them would alone. The target
    compares the fleet's wall time with its slowest village (the last to finish in the fleet
    run) deployed alone afterwards on a fresh lab: what running side by side costs. The smallest
    village deployed alone is printed too, and each shape's times inside the fleet run.
    """
    inventory = root / "fleet"
    summary = generate_fleet(inventory, count + 1)
    villages = sorted(p.stem for p in (inventory / "villages").glob("*.yaml"))
    print(f"\ngenerated fleet: {summary.villages} villages, {summary.devices} devices")
    alone: dict[str, float] = {}
    with bench_lab(root / "many", inventory) as lab:
        started = time.monotonic()
        hosts = lab.up(villages, rtt_ms)
        print(f"lab up: {len(hosts)} emulated devices in {time.monotonic() - started:.0f} s")
        where = {
            str(r["hostname"]): str(r["village"])
            for r in control.request(lab.lab_dir, "status")["devices"]
        }
        size = {v: sum(1 for w in where.values() if w == v) for v in villages}
        smallest = min(villages, key=lambda v: (size[v], v))
        single = measure(lab, [smallest])
        alone[smallest] = single["wall"]
        print_devices(
            f"one village alone ({smallest}, {size[smallest]} emulated devices)",
            single,
            [h for h, v in where.items() if v == smallest],
        )
        rest = [v for v in villages if v != smallest]
        fleet = measure(lab, rest)
    fleet["stats"] = {h: row for h, row in fleet["stats"].items() if where.get(h) in rest}
    per_village: dict[str, int] = {}
    for host, row in fleet["stats"].items():
        village = where.get(host, "?")
        per_village[village] = per_village.get(village, 0) + int(row["round_trips"])
    trips = sorted(per_village.values())
    print(
        f"\n{len(rest)} villages at once: wall {fleet['wall']:.1f} s, "
        f"outcome {outcome_text(fleet['reports'])}"
    )
    for report in fleet["reports"].values():
        if not hasattr(report, "outcome") or report.outcome not in ("confirmed", "no-change"):
            print(
                f"  {getattr(report, 'village', '?')}: "
                f"{str(getattr(report, 'error', report))[:200]}"
            )
    total = {k: sum(int(r.get(k, 0)) for r in fleet["stats"].values()) for k in COLUMNS}
    devices = max(len(fleet["stats"]), 1)
    print(
        f"  per device (mean of {devices}): round trips {total['round_trips'] / devices:.0f}, "
        f"bytes to {total['bytes_to_device'] / devices:.0f}, "
        f"from {total['bytes_from_device'] / devices:.0f}, "
        f"config commands {total['config_commands'] / devices:.0f}"
    )
    if trips:
        print(f"  round trips per village: min {trips[0]}, max {trips[-1]}")
    shapes: dict[int, list[float]] = {}
    for village, seconds in fleet["seconds"].items():
        shapes.setdefault(size[village], []).append(seconds)
    for devices_in, times in sorted(shapes.items()):
        print(
            f"  villages of {devices_in} devices: {len(times)}, each took "
            f"{min(times):.1f}-{max(times):.1f} s inside the fleet run"
        )
    slowest = max(fleet["seconds"], key=lambda v: fleet["seconds"][v])
    with bench_lab(root / "again", inventory) as again:
        again.up([slowest], rtt_ms)
        single = measure(again, [slowest])
        alone[slowest] = single["wall"]
        print(
            f"\nthe fleet run's slowest village ({slowest}, {size[slowest]} devices, "
            f"{fleet['seconds'][slowest]:.1f} s in the fleet run) alone on a fresh lab: "
            f"wall {single['wall']:.1f} s, outcome {outcome_text(single['reports'])}"
        )
    for village, label in ((slowest, " (target <= 1.5x)"), (smallest, "")):
        ratio = fleet["wall"] / max(alone[village], 1e-9)
        print(
            f"  {len(rest)} at once / {village} alone ({size[village]} devices): "
            f"{ratio:.2f}x the wall time{label}"
        )
    print(f"  load average {os.getloadavg()[0]:.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rtt-ms", type=float, default=600.0, help="Link RTT of every device.")
    parser.add_argument("--village", default="lebung-itam", help="Example village for 1-3.")
    parser.add_argument("--villages", type=int, default=50, help="Villages deployed at once.")
    parser.add_argument("--quick", action="store_true", help="No link delay, 4 villages.")
    parser.add_argument("--skip-fleet", action="store_true", help="Only the one-village runs.")
    parser.add_argument("--only-fleet", action="store_true", help="Only the N-villages run.")
    args = parser.parse_args(argv)
    if args.quick:
        args.rtt_ms, args.villages = 0.0, 4
    logging.basicConfig(level=logging.CRITICAL)
    print(
        f"deploy benchmark: link RTT {args.rtt_ms:g} ms on every device; emulated "
        f"RouterOS/airOS devices only (no gateway); load average "
        f"{os.getloadavg()[0]:.1f}",
        flush=True,
    )
    root = Path(tempfile.mkdtemp(prefix="kopnet-bench-deploy-"))
    try:
        if not args.only_fleet:
            one_village(root, args.village, args.rtt_ms)
        if not args.skip_fleet:
            many_villages(root, args.villages, args.rtt_ms)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
