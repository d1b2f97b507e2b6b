"""RouterOS engine timings (prints figures; not a test).

    .venv/bin/python benchmarks/routeros_engine.py

Targets: parse + plan of a 2,000-line export against a changed intended config < 50 ms;
planning 1,000 core-router-sized devices < 5 s on a 2-core machine.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

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


def _time(fn: Callable[[], object], repeat: int = 15) -> tuple[float, float]:
    """(median wall ms, median CPU ms of this process); CPU time is the stable figure on a
    shared machine."""
    wall, cpu = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def one_device(seed: int) -> int:
    running = parse_export(core_export(seed, 120, 40), f"dev{seed}-running")
    intended = parse_export(core_export(seed, 120, 40, changed=True), f"dev{seed}-intended")
    return len(plan(running, intended).operations)


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    big_running = core_export(1, 1450, 200)
    big_intended = core_export(1, 1450, 200, changed=True)
    n_lines = big_running.count("\n")
    running = parse_export(big_running)
    intended = parse_export(big_intended)
    ops = len(plan(running, intended).operations)
    rows = [
        (f"parse {n_lines}-line export", lambda: parse_export(big_running)),
        (f"plan + revert on parsed configs ({ops} ops)", lambda: plan(running, intended)),
        (
            "parse running + plan  (target < 50 ms)",
            lambda: plan(parse_export(big_running), intended),
        ),
        (
            "parse both + plan",
            lambda: plan(parse_export(big_running), parse_export(big_intended)),
        ),
    ]
    for label, fn in rows:
        wall, cpu = _time(fn)
        print(f"{label:45s} wall {wall:7.1f} ms   cpu {cpu:7.1f} ms")

    typical = core_export(0, 120, 40).count("\n")
    devices = 1000
    texts = [(core_export(s, 120, 40), core_export(s, 120, 40, changed=True)) for s in range(100)]
    parsed = [(parse_export(a), parse_export(b)) for a, b in texts]
    c0 = time.process_time()
    for a, b in texts:
        plan(parse_export(a), parse_export(b))
    full_cpu = (time.process_time() - c0) * devices / len(texts)
    c0 = time.process_time()
    for r, i in parsed:
        plan(r, i)
    plan_cpu = (time.process_time() - c0) * devices / len(texts)
    workers = os.cpu_count() or 1
    w0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        total_ops = sum(pool.map(one_device, range(devices), chunksize=25))
    parallel = time.perf_counter() - w0
    print(f"{devices} devices x {typical} lines (target < 5 s on 2 cores):")
    print(
        f"  plan only:          cpu {plan_cpu:6.2f} s  -> {plan_cpu / workers:5.2f} s on {workers} idle cores"
    )
    print(
        f"  parse both + plan:  cpu {full_cpu:6.2f} s  -> {full_cpu / workers:5.2f} s on {workers} idle cores"
    )
    print(f"  parse both + plan, {workers} processes: wall {parallel:5.2f} s ({total_ops} ops)")


if __name__ == "__main__":
    main()
