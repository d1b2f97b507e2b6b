"""Render benchmark: validate + render a synthetic fleet, raw Jinja2 throughput, ``kopnet diff``.

    .venv/bin/python benchmarks/render.py [--villages 1000] [--repeat 3]

Targets (2-core machine): validate + render of 1,000 villages < 10 s; end-to-end render
throughput >= 60 % of raw Jinja2 throughput on the same templates and contexts; ``kopnet diff``
of a one-village change < 3 s. Prints figures only; never fails.
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
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.fleetgen import generate_fleet  # noqa: E402
from kopnet_iac.inventory.loader import load_inventory  # noqa: E402
from kopnet_iac.render.context import village_contexts  # noqa: E402
from kopnet_iac.render.gitdiff import diff_revisions  # noqa: E402
from kopnet_iac.render.output import write_build  # noqa: E402
from kopnet_iac.render.renderer import Renderer  # noqa: E402

TEMPLATES = REPO / "templates"


def _git(repo: Path, *args: str) -> None:
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid")
    env.update(GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid")
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def _now(cpu: bool) -> float:
    return time.process_time() if cpu else time.perf_counter()


def bench_render(inv_dir: Path, out: Path, cpu: bool) -> dict[str, float]:
    """Full validate + render + write, timed by phase, in this process."""
    t0 = _now(cpu)
    inv = load_inventory(inv_dir)
    t1 = _now(cpu)
    renderer = Renderer(TEMPLATES)
    ids = sorted(inv.villages)
    artifacts = renderer.render_villages(inv, ids)
    t2 = _now(cpu)
    write_build(out, artifacts, villages=ids, complete=True)
    t3 = _now(cpu)
    devices = len({(a.village, a.host) for a in artifacts})
    return {
        "validate": t1 - t0,
        "render": t2 - t1,
        "write": t3 - t2,
        "total": t3 - t0,
        "devices": devices,
        "files": len(artifacts),
    }


def bench_raw(inv_dir: Path, cpu: bool) -> dict[str, float]:
    """Raw Jinja2: the same templates on prepared contexts (no context building, no writing)."""
    inv = load_inventory(inv_dir)
    renderer = Renderer(TEMPLATES)
    jobs: list[tuple[Any, dict[str, Any]]] = []
    t0 = _now(cpu)
    for vid in sorted(inv.villages):
        for host, ctx in village_contexts(inv, vid).items():
            platform = ctx["hardware"].platform
            role = ctx["device"].role
            for spec in renderer.manifest.outputs(platform, role):
                jobs.append((renderer.template(spec.template, village=vid, host=host), ctx))
    t1 = _now(cpu)
    devices = len({id(ctx) for _, ctx in jobs})
    for template, ctx in jobs:
        template.render(ctx)
    t2 = _now(cpu)
    return {"contexts": t1 - t0, "raw": t2 - t1, "devices": devices, "files": len(jobs)}


def bench_diff(inv_src: Path, work: Path) -> dict[str, float]:
    """A temporary git repo holding the fleet; one village changes between two commits."""
    repo = work / "repo"
    shutil.copytree(inv_src, repo / "inventory")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "fleet")
    village = repo / "inventory" / "villages" / "desa-0500.yaml"
    village.write_text(village.read_text().replace("KopNet-0500-1", "KopNet-0500-X"))
    _git(repo, "commit", "-q", "-am", "rename a sector SSID")
    t0 = time.perf_counter()
    report = diff_revisions(repo / "inventory", "HEAD~1", "HEAD", TEMPLATES)
    t1 = time.perf_counter()
    cli = [sys.executable, "-m", "kopnet_iac.cli.main", "--inventory", str(repo / "inventory")]
    cli += ["diff", "--base", "HEAD~1", "--head", "HEAD", "--templates", str(TEMPLATES)]
    t2 = time.perf_counter()
    subprocess.run([*cli, "--format", "json"], check=True, capture_output=True)
    t3 = time.perf_counter()
    village.write_text(village.read_text().replace("KopNet-0500-X", "KopNet-0500-Y"))
    t4 = time.perf_counter()
    worktree = [*cli[:5], "diff", "--base", "HEAD", "--templates", str(TEMPLATES)]
    subprocess.run(worktree, check=True, capture_output=True)
    t5 = time.perf_counter()
    (repo / "inventory" / "fleet.yaml").write_text(
        (repo / "inventory" / "fleet.yaml").read_text().replace("contact: noc@", "contact: ops@")
    )
    t6 = time.perf_counter()
    full = diff_revisions(repo / "inventory", "HEAD", None, TEMPLATES)
    t7 = time.perf_counter()
    return {
        "inproc": t1 - t0,
        "cli": t3 - t2,
        "cli_worktree": t5 - t4,
        "devices": len(report.devices()),
        "full": t7 - t6,
        "full_devices": len(full.devices()),
    }


def _report(work: Path, repeat: int, cpu: bool) -> None:
    unit = "CPU" if cpu else "wall"
    runs = [bench_render(work / "inventory", work / "build", cpu) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["total"])
    devices = best["devices"]
    print(f"[{unit}] validate + render + write: {best['total']:.2f} s  "
          f"(validate {best['validate']:.2f}, render {best['render']:.2f}, write {best['write']:.2f}; "
          f"{devices / best['total']:.0f} devices/s, {best['files']:.0f} files)  target < 10 s")  # fmt: skip
    raw = min((bench_raw(work / "inventory", cpu) for _ in range(repeat)), key=lambda r: r["raw"])
    raw_rate = raw["devices"] / raw["raw"]
    e2e_rate = devices / (best["render"] + best["write"])
    print(f"[{unit}] raw Jinja2: {raw['raw']:.2f} s for {raw['files']:.0f} files = {raw_rate:.0f} devices/s "
          f"(context preparation {raw['contexts']:.2f} s, not counted)")  # fmt: skip
    print(f"[{unit}] end-to-end render (contexts + render + checks + write, after validation): "
          f"{e2e_rate:.0f} devices/s; ratio end-to-end/raw = {e2e_rate / raw_rate:.0%}  target >= 60%")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description="render benchmark")
    parser.add_argument("--villages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for the timed phases")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kopnet-bench-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        summary = generate_fleet(work / "inventory", args.villages)
        print(f"fleet: {summary.villages} villages, {summary.devices} devices "
              f"(generated in {time.perf_counter() - t0:.1f} s)")  # fmt: skip
        for cpu in (False, True):
            _report(work, args.repeat, cpu)
        d = bench_diff(work / "inventory", work)
        print(f"kopnet diff, one-village change ({d['devices']:.0f} devices differ): "
              f"{d['inproc']:.2f} s in-process, {d['cli']:.2f} s CLI between commits, "
              f"{d['cli_worktree']:.2f} s CLI against the working tree  target < 3 s")  # fmt: skip
        print(f"kopnet diff, fleet-wide change ({d['full_devices']:.0f} devices differ, "
              f"everything rendered twice): {d['full']:.2f} s in-process")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
