"""Render benchmark: validate + render a synthetic fleet, raw Jinja2 throughput, ``kopnet diff``.

    .venv/bin/python benchmarks/render.py [--villages 1000] [--repeat 3]

Targets (2-core machine): validate + render of 1,000 villages < 10 s; end-to-end render
throughput >= 60 % of raw Jinja2 throughput on the same templates and contexts; ``kopnet diff``
of a one-village change < 3 s. Prints figures only; never fails.

Definitions printed below:
- validate + render + write: ``load_inventory`` (schema + semantic + lock checks), contexts,
  templates, post-processing, atomic write; "cold" into an empty build folder, "warm" over the
  previous build (unchanged files are hard-linked).
- raw Jinja2: ``template.render(ctx)`` of every file on contexts prepared beforehand, one core,
  with the heap frozen for the garbage collector exactly as the Renderer does.
- end-to-end render: contexts + templates + post-processing (what ``Renderer`` does), measured
  sequentially (one core, same conditions as raw) and with the default worker processes.
Wall-clock figures suffer from other load on the machine; CPU figures (this process only) are
printed alongside for the single-process phases.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.fleetgen import generate_fleet  # noqa: E402
from kopnet_iac.inventory.loader import load_inventory  # noqa: E402
from kopnet_iac.render.context import village_contexts  # noqa: E402
from kopnet_iac.render.gitcompare import compare_revisions  # noqa: E402
from kopnet_iac.render.output import write_build  # noqa: E402
from kopnet_iac.render.parallel import default_jobs, render_villages_parallel  # noqa: E402
from kopnet_iac.render.renderer import Renderer, frozen_heap  # noqa: E402

TEMPLATES = REPO / "templates"


class Clock:
    """Wall and CPU (this process) time since creation."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def lap(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def best(fn: Callable[[], dict[str, Any]], repeat: int, key: str) -> dict[str, Any]:
    return min((fn() for _ in range(repeat)), key=lambda r: r[key])


def full_run(inv_dir: Path, out: Path) -> dict[str, Any]:
    """What ``kopnet render --all`` does, timed by phase."""
    os.sync()  # pending writes of earlier phases must not slow this one down
    clock = Clock()
    inv = load_inventory(inv_dir)
    validate = clock.lap()
    renderer = Renderer(TEMPLATES)
    ids = sorted(inv.villages)
    artifacts = render_villages_parallel(renderer, inv, ids)
    render = clock.lap()
    write_build(out, artifacts, villages=ids, complete=True)
    total = clock.lap()
    return {
        "validate": validate[0],
        "render": render[0] - validate[0],
        "write": total[0] - render[0],
        "total": total[0],
        "devices": len({(a.village, a.host) for a in artifacts}),
        "files": len(artifacts),
    }


def render_stage(inv_dir: Path, parallel: bool) -> dict[str, Any]:
    """Renderer end to end (contexts + templates + checks), templates already compiled."""
    inv = load_inventory(inv_dir)
    renderer = Renderer(TEMPLATES)
    for name in renderer.manifest.templates():
        renderer.template(name, village="-", host="-")
    ids = sorted(inv.villages)
    clock = Clock()
    if parallel:
        artifacts = render_villages_parallel(renderer, inv, ids)
    else:
        artifacts = renderer.render_villages(inv, ids)
    wall, cpu = clock.lap()
    return {"wall": wall, "cpu": cpu, "devices": len({(a.village, a.host) for a in artifacts})}


def raw_jinja(inv_dir: Path) -> dict[str, Any]:
    """Raw Jinja2 on the same templates and prepared contexts."""
    inv = load_inventory(inv_dir)
    renderer = Renderer(TEMPLATES)
    jobs: list[tuple[Any, dict[str, Any]]] = []
    for vid in sorted(inv.villages):
        for host, ctx in village_contexts(inv, vid).items():
            for spec in renderer.manifest.outputs(ctx["hardware"].platform, ctx["device"].role):
                jobs.append((renderer.template(spec.template, village=vid, host=host), ctx))
    clock = Clock()
    with frozen_heap():  # same garbage-collector conditions as the Renderer
        for template, ctx in jobs:
            template.render(ctx)
    wall, cpu = clock.lap()
    return {"wall": wall, "cpu": cpu, "devices": len({id(c) for _, c in jobs}), "files": len(jobs)}


def _git(repo: Path, *args: str) -> None:
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid")
    env.update(GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid")
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def diff_runs(inv_src: Path, work: Path, repeat: int) -> dict[str, Any]:
    """A temporary git repo holding the fleet; one village changes between two commits."""
    repo = work / "repo"
    shutil.copytree(inv_src, repo / "inventory")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "fleet")
    village = repo / "inventory" / "villages" / "desa-0500.yaml"
    village.write_text(village.read_text().replace("KopNet-0500-1", "KopNet-0500-X"))
    _git(repo, "commit", "-q", "-am", "rename a sector SSID")
    inv = repo / "inventory"
    out: dict[str, Any] = {}
    times = []
    for _ in range(repeat):
        clock = Clock()
        report = compare_revisions(inv, "HEAD~1", "HEAD", TEMPLATES)
        times.append(clock.lap()[0])
    out["inproc"] = min(times)
    out["devices"] = len(report.devices())
    cli = [sys.executable, "-m", "kopnet_iac.cli.main", "--inventory", str(inv), "diff"]
    cli_times = []
    for _ in range(repeat):
        clock = Clock()
        subprocess.run(
            [*cli, "--base", "HEAD~1", "--head", "HEAD", "--templates", str(TEMPLATES)],
            check=True,
            capture_output=True,
        )
        cli_times.append(clock.lap()[0])
    out["cli"] = min(cli_times)
    village.write_text(village.read_text().replace("KopNet-0500-X", "KopNet-0500-Y"))
    clock = Clock()
    subprocess.run(
        [*cli, "--base", "HEAD", "--templates", str(TEMPLATES)], check=True, capture_output=True
    )
    out["cli_worktree"] = clock.lap()[0]
    fleet = repo / "inventory" / "fleet.yaml"
    fleet.write_text(fleet.read_text().replace("contact: noc@", "contact: ops@"))
    clock = Clock()
    full = compare_revisions(inv, "HEAD", None, TEMPLATES)
    out["full"] = clock.lap()[0]
    out["full_devices"] = len(full.devices())
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description="render benchmark")
    parser.add_argument("--villages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N")
    args = parser.parse_args()
    n = args.repeat
    with tempfile.TemporaryDirectory(prefix="kopnet-bench-") as tmp:
        work = Path(tmp)
        inv_dir = work / "inventory"
        clock = Clock()
        summary = generate_fleet(inv_dir, args.villages)
        print(f"fleet: {summary.villages} villages, {summary.devices} devices "
              f"(generated in {clock.lap()[0]:.1f} s); workers: {default_jobs()}; "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        fresh = iter(range(1000))
        for cold in (True, False):
            if cold:  # a new folder each time (deleting the last build first would skew it)
                r = best(lambda: full_run(inv_dir, work / f"cold-{next(fresh)}"), n, "total")
            else:
                r = best(lambda: full_run(inv_dir, work / "cold-0"), n, "total")
            label = "cold (empty build folder)" if cold else "warm (previous build present)"
            print(f"validate + render + write, {label}: {r['total']:.2f} s  "
                  f"(validate {r['validate']:.2f}, render {r['render']:.2f}, write {r['write']:.2f}); "
                  f"{r['devices'] / r['total']:.0f} devices/s, {r['files']} files  [target < 10 s]")  # fmt: skip
        raw = best(lambda: raw_jinja(inv_dir), n, "wall")
        seq = best(lambda: render_stage(inv_dir, False), n, "wall")
        par = best(lambda: render_stage(inv_dir, True), n, "wall")
        raw_rate = raw["devices"] / raw["wall"]
        raw_cpu_rate = raw["devices"] / raw["cpu"]
        print(f"raw Jinja2 (one core): {raw['wall']:.2f} s wall / {raw['cpu']:.2f} s CPU for "
              f"{raw['files']} files = {raw_rate:.0f} devices/s")  # fmt: skip
        print(f"end-to-end render, sequential: {seq['wall']:.2f} s wall / {seq['cpu']:.2f} s CPU = "
              f"{seq['devices'] / seq['wall']:.0f} devices/s; ratio to raw "
              f"{(seq['devices'] / seq['wall']) / raw_rate:.0%} wall, "
              f"{(seq['devices'] / seq['cpu']) / raw_cpu_rate:.0%} CPU  [target >= 60%]")  # fmt: skip
        print(f"end-to-end render, {default_jobs()} workers: {par['wall']:.2f} s wall = "
              f"{par['devices'] / par['wall']:.0f} devices/s; ratio to raw "
              f"{(par['devices'] / par['wall']) / raw_rate:.0%}  [target >= 60%]")  # fmt: skip
        d = diff_runs(inv_dir, work, n)
        print(f"kopnet diff, one-village change ({d['devices']} device differs): "
              f"{d['inproc']:.2f} s in-process, {d['cli']:.2f} s CLI between two commits, "
              f"{d['cli_worktree']:.2f} s CLI against the working tree  [target < 3 s]")  # fmt: skip
        print(f"kopnet diff, fleet-wide change ({d['full_devices']} devices differ, all rendered "
              f"on both sides): {d['full']:.2f} s in-process")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
