"""RouterOS engine timings (prints figures; not a test).

    .venv/bin/python benchmarks/routeros_engine.py

    BENCH_REPEAT=3 .venv/bin/python benchmarks/routeros_engine.py   # fewer fleet repeats

Targets: parse + plan of a 2,000-line export against a changed intended config < 50 ms;
planning 1,000 core-router-sized devices < 5 s on a 2-core machine (``plan_many``). Every
figure is the median of several runs, as wall time and as CPU time (this process plus the
worker processes); the load average at the start is printed with them. Inputs are moved out
of the garbage collector's reach (``gc.freeze``) once built, as in a fresh CLI process, so the
figures do not depend on how much benchmark data happens to be alive.
"""

from __future__ import annotations

import gc
import os
import resource
import statistics
import time
from collections.abc import Callable

from kopnet_iac.platforms.routeros.fleet import default_workers, plan_many
from kopnet_iac.platforms.routeros.model import RouterOSConfig
from kopnet_iac.platforms.routeros.parser import parse_export
from kopnet_iac.platforms.routeros.planner import plan


def core_export(seed: int, subscribers: int, rules: int, changed: bool = False) -> str:
    """A synthetic core-router export: VLANs, pools, PPP, firewall, queues, services."""
    lines = [f"# 2026-11-02 08:15:{seed % 60:02d} by RouterOS 7.16.2", "# software id = AB12-CD34"]
    hamlets = 8
    lines.append("/interface vlan")
    for h in range(hamlets + (1 if changed else 0)):
        lines.append(f"add interface=sfp-sfpplus1 name=vlan{101 + h}-dusun-{h} vlan-id={101 + h}")
    lines.append("/ip pool")
    for h in range(hamlets):
        lines.append(f"add name=pool-{h} ranges=100.64.{h}.2-100.64.{h}.254")
    lines.append("/ppp profile")
    for h in range(hamlets):
        rate = "20M/20M" if changed and h == 3 else "10M/10M"
        lines.append(
            f"add local-address=100.64.{h}.1 name=paket-{h} rate-limit={rate} remote-address=pool-{h}"
        )
    lines.append("/interface pppoe-server server")
    for h in range(hamlets):
        lines.append(
            f"add default-profile=paket-{h} disabled=no interface=vlan{101 + h}-dusun-{h} \\\n"
            f"    one-session-per-host=yes service-name=pppoe-{h}"
        )
    lines.append("/ip address")
    for h in range(hamlets):
        lines.append(
            f"add address=100.64.{h}.1/24 interface=vlan{101 + h}-dusun-{h} network=100.64.{h}.0"
        )
    lines.append("/ip firewall filter")
    for r in range(rules):
        if changed and r == rules // 2:
            continue
        lines.append(
            f"add action=accept chain=input dst-port={1000 + r} protocol=tcp "
            f'src-address=10.10.{r % 250}.0/24 comment="rule {r}"'
        )
    lines.append('add action=drop chain=input comment="drop all else"')
    lines.append("/ppp secret")
    for s in range(subscribers):
        pw = f"fake-{seed}-{s}" + ("x" if changed and s % 50 == 0 else "")
        lines.append(
            f"add name=pel-{s:05d} password={pw} profile=paket-{s % hamlets} service=pppoe"
        )
    lines.append("/queue simple")
    for s in range(subscribers // 4):
        lines.append(f"add max-limit=10M/10M name=q-{s:05d} target=100.64.{s % 8}.{2 + s % 250}/32")
    lines.append("/ip service")
    lines.extend(["set telnet disabled=yes", "set ftp disabled=yes", "set www disabled=yes"])
    lines.append("/system identity")
    lines.append(f"set name=desa-{seed}-core")
    return "\n".join(lines) + "\n"


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the plan_many workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _time(fn: Callable[[], object], repeat: int = 15) -> tuple[float, float]:
    """(median wall ms, median CPU ms of this process and its workers); CPU time is the
    stable figure on a shared machine."""
    wall, cpu = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), _cpu()
        fn()
        cpu.append((_cpu() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def _row(label: str, wall_ms: float, cpu_ms: float, unit: str = "ms") -> None:
    scale = 1000 if unit == "s" else 1
    print(f"{label:50s} wall {wall_ms / scale:7.2f} {unit}   cpu {cpu_ms / scale:7.2f} {unit}")


def main() -> None:
    repeat = int(os.environ.get("BENCH_REPEAT", "5"))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average {load} on {os.cpu_count()} CPUs; medians of {repeat} runs (ms: of 15)")
    big_running = core_export(1, 1450, 200)
    big_intended = core_export(1, 1450, 200, changed=True)
    n_lines = big_running.count("\n")
    running = parse_export(big_running)
    intended = parse_export(big_intended)
    ops = len(plan(running, intended).operations)
    gc.freeze()  # inputs are long-lived: the collector then walks only what a run allocates
    rows = [
        (f"parse {n_lines}-line export", lambda: parse_export(big_running)),
        (f"plan + revert on parsed configs ({ops} ops)", lambda: plan(running, intended)),
        (
            "parse running + plan  (target < 50 ms)",
            lambda: plan(parse_export(big_running), intended),
        ),
        (
            "parse both + plan + scripts",
            lambda: _scripts(parse_export(big_running), parse_export(big_intended)),
        ),
    ]
    for label, fn in rows:
        _row(label, *_time(fn))

    typical = core_export(0, 120, 40).count("\n")
    devices = 1000
    texts = [
        (core_export(s, 120, 40), core_export(s, 120, 40, changed=True)) for s in range(devices)
    ]
    print(
        f"{devices} devices x {typical} lines, texts in, plan + revert scripts out (target < 5 s):"
    )
    parsed = [(parse_export(a), parse_export(b)) for a, b in texts[:100]]
    gc.freeze()
    wall, cpu = _time(lambda: [plan(r, i) for r, i in parsed], repeat)
    _row("  plan only, parsed configs (100 devices, x10)", 10 * wall, 10 * cpu, "s")
    _row("  single process: parse both + plan", *_time(lambda: _sequential(texts), repeat), "s")
    workers = default_workers()
    total = sum(r.operations for r in plan_many(texts))
    _row(
        f"  plan_many, {workers} worker processes ({total} ops)",
        *_time(lambda: plan_many(texts), repeat),
        "s",
    )


def _scripts(running: RouterOSConfig, intended: RouterOSConfig) -> tuple[str, str]:
    result = plan(running, intended)
    return result.script(), result.revert_script()


def _sequential(texts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [_scripts(parse_export(a), parse_export(b)) for a, b in texts]


if __name__ == "__main__":
    main()
