"""Release store figures: what recording a deploy costs, and lock contention across processes.

    .venv/bin/python benchmarks/state.py [--releases 200] [--processes 8]

Prints per-operation latency (journal entries are committed with synchronous=FULL before each
step, so their latency is what a deploy pays per step), the size of the database after many
releases of the same intent (rendered configs stored once by content), and how long processes
racing for village locks take.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path

from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.render.renderer import render_inventory
from kopnet_iac.state import DB_FILE, ReleaseStore, VillageLockedError

EXAMPLE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "fleet"


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1] if len(ordered) > 1 else ordered[0]
    return f"median {statistics.median(ordered) * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms"


def record(state: Path, releases: int) -> None:
    inv = load_inventory(EXAMPLE)
    artifacts = render_inventory(inv, ["sukadana"])
    rendered = {a.path: a.text for a in artifacts}
    hosts = sorted({a.host for a in artifacts})
    begin, journal, device, finish, lock = [], [], [], [], []
    with ReleaseStore.open(state) as store:
        for _ in range(releases):
            t0 = time.perf_counter()
            with store.lock("sukadana", operator="bench", purpose="deploy"):
                t1 = time.perf_counter()
                rid = store.begin_release(
                    "sukadana",
                    "deploy",
                    operator="bench",
                    git_revision="0" * 40,
                    git_dirty=False,
                    rendered=rendered,
                )
                begin.append(time.perf_counter() - t1)
                for host in hosts:
                    for step in ("read-running", "plan", "arm-revert", "apply", "confirm"):
                        t = time.perf_counter()
                        store.journal(rid, step, host=host, detail={"bytes": 1234})
                        journal.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    store.record_device(
                        rid,
                        host,
                        platform="routeros",
                        plan="/system identity\nset name=x\n",
                        outcome="confirmed",
                        operations=1,
                    )
                    device.append(time.perf_counter() - t)
                t = time.perf_counter()
                store.finish_release(rid, "confirmed")
                finish.append(time.perf_counter() - t)
            lock.append(time.perf_counter() - t0)
        t = time.perf_counter()
        store.history("sukadana")
        history = time.perf_counter() - t
        t = time.perf_counter()
        store.get_release(rid)
        show = time.perf_counter() - t
    size = (state / DB_FILE).stat().st_size  # after close: the WAL is checkpointed into it
    text = sum(len(v) for v in rendered.values())
    print(
        f"{releases} releases of sukadana ({len(hosts)} devices, {len(rendered)} rendered files, "
        f"{text / 1024:.1f} KiB of configs each)"
    )
    print(f"  begin_release        {_ms(begin)}")
    print(f"  journal (per step)   {_ms(journal)}")
    print(f"  record_device        {_ms(device)}")
    print(f"  finish_release       {_ms(finish)}")
    print(f"  whole release        {_ms(lock)}  (lock, {len(hosts) * 6 + 2} writes, unlock)")
    print(f"  history              {history * 1000:7.2f} ms   get_release {show * 1000:7.2f} ms")
    print(
        f"  database size        {size / 1024:.0f} KiB "
        f"(configs without dedup: {releases * text / 1024:.0f} KiB)"
    )


def _racer(state: str, rounds: int, start: object, out: object) -> None:
    won = refused = 0
    waits: list[float] = []
    with ReleaseStore.open(Path(state)) as store:
        start.wait()  # type: ignore[attr-defined]
        for _ in range(rounds):
            t = time.perf_counter()
            try:
                with store.lock("sukadana", operator="bench", purpose="deploy"):
                    won += 1
            except VillageLockedError:
                refused += 1
            waits.append(time.perf_counter() - t)
    out.put((won, refused, waits))  # type: ignore[attr-defined]


def contention(state: Path, processes: int, rounds: int) -> None:
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_racer, args=(str(state), rounds, start, out)) for _ in range(processes)
    ]
    for proc in procs:
        proc.start()
    t = time.perf_counter()
    start.set()
    results = [out.get(timeout=600) for _ in procs]
    wall = time.perf_counter() - t
    for proc in procs:
        proc.join()
    won = sum(r[0] for r in results)
    refused = sum(r[1] for r in results)
    waits = [w for r in results for w in r[2]]
    print(
        f"{processes} processes x {rounds} lock attempts on one village: {won} taken, "
        f"{refused} refused, wall {wall:.2f} s"
    )
    print(f"  attempt (take+release or refusal)  {_ms(waits)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=200)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        record(Path(tmp) / "a", args.releases)
        contention(Path(tmp) / "b", args.processes, args.rounds)


if __name__ == "__main__":
    main()
