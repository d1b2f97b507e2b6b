"""Lab benchmark: 250 emulated devices in one daemon; memory per device; API round trip.

    .venv/bin/python benchmarks/lab.py [--devices 250] [--rounds 500]

Prints: time to bring the lab up (daemon start + every device answering on all its ports),
RSS of the daemon per device, and the round-trip time of a librouteros ``print`` against an
emulated router compared with a trivial asyncio echo server on loopback (run in its own
process, like the daemon): the difference is the emulator's own overhead. Everything it
starts (daemon, echo server, temporary lab directory) is stopped/removed at the end.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import librouteros

from kopnet_iac.lab import control
from kopnet_iac.lab.spec import spec_to_dict
from kopnet_iac.lab.topology import AddressBook, synthetic_specs

PREFIX = "127.66"  # a /16 of its own: does not disturb a lab running on this machine
ECHO_SERVER = """
import asyncio, sys
async def serve(reader, writer):
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
async def main():
    server = await asyncio.start_server(serve, sys.argv[1], int(sys.argv[2]))
    print("ready", flush=True)
    await server.serve_forever()
asyncio.run(main())
"""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def encode_sentence(words: list[str]) -> bytes:
    out = b""
    for word in [*words, ""]:
        data = word.encode()
        out += bytes([len(data)]) + data  # short words only: 1-byte length
    return out


def echo_rtt(rounds: int) -> list[float]:
    host, port = f"{PREFIX}.255.1", 9999
    server = subprocess.Popen(
        [sys.executable, "-c", ECHO_SERVER, host, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        payload = encode_sentence(["/system/identity/print"])
        times = []
        with socket.create_connection((host, port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for _ in range(rounds + 20):
                start = time.perf_counter()
                sock.sendall(payload)
                received = b""
                while len(received) < len(payload):
                    received += sock.recv(65536)
                times.append(time.perf_counter() - start)
        return times[20:]
    finally:
        server.terminate()
        server.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=250)
    parser.add_argument("--rounds", type=int, default=500)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="kopnet-lab-bench-"))
    lab_dir = tmp / "lab"
    lab_dir.mkdir()
    specs = synthetic_specs(args.devices, AddressBook(lab_dir / "addresses.json", prefix=PREFIX))
    daemon: subprocess.Popen[bytes] | None = None
    try:
        started = time.perf_counter()
        with open(lab_dir / control.LOG_NAME, "ab") as log:
            daemon = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kopnet_iac.cli.main",
                    "lab",
                    "daemon",
                    "--lab-dir",
                    str(lab_dir),
                ],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        while not control.is_running(lab_dir):
            if daemon.poll() is not None:
                print("daemon failed to start; log:", (lab_dir / control.LOG_NAME).read_text())
                return 1
            time.sleep(0.05)
        daemon_ready = time.perf_counter() - started
        rss_empty = rss_kib(daemon.pid)

        add_start = time.perf_counter()
        answer = control.request(
            lab_dir, "add", timeout=600, specs=[spec_to_dict(s) for s in specs], faults={}
        )
        added = time.perf_counter() - add_start
        failed = answer.get("failed", {})
        waiting = {s.hostname: s for s in specs if s.hostname not in failed}
        while waiting:
            for name, spec in list(waiting.items()):
                ports = [
                    p for p in (spec.api_port, spec.ssh_port, spec.http_port, spec.https_port) if p
                ]
                if all(answers(spec.host, port) for port in ports):
                    del waiting[name]
            if time.perf_counter() - add_start > 300:
                print(f"gave up waiting for {len(waiting)} devices")
                return 1
        all_up = time.perf_counter() - started
        time.sleep(1.0)
        rss_full = rss_kib(daemon.pid)
        running = len(specs) - len(failed)
        by_platform: dict[str, int] = {}
        for spec in specs:
            if spec.hostname not in failed:
                by_platform[spec.platform] = by_platform.get(spec.platform, 0) + 1

        print(
            f"devices: {running} running of {len(specs)} "
            f"({', '.join(f'{n} {p}' for p, n in sorted(by_platform.items()))})"
        )
        for host, reason in list(failed.items())[:5]:
            print(f"  failed: {host}: {reason}")
        print(
            f"daemon start: {daemon_ready:.2f} s; add request: {added:.2f} s; "
            f"lab up (all ports answering): {all_up:.2f} s"
        )
        print(
            f"daemon RSS: {rss_empty / 1024:.1f} MiB empty, {rss_full / 1024:.1f} MiB with "
            f"{running} devices -> {(rss_full - rss_empty) / max(running, 1):.0f} KiB per device"
        )

        router = next(
            (s for s in specs if s.platform == "routeros" and s.hostname not in failed), None
        )
        if router is None:
            print("no emulated router running: API round trip not measured")
            return 1
        api = librouteros.connect(
            host=router.host,
            username=router.username,
            password=router.password,
            port=router.api_port,
        )
        identity = api.path("/system/identity")
        for _ in range(20):
            tuple(identity)
        times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            tuple(identity)
            times.append(time.perf_counter() - start)
        api.close()
        baseline = echo_rtt(args.rounds)
        med, base = statistics.median(times) * 1000, statistics.median(baseline) * 1000
        print(
            f"librouteros /system/identity print: median {med:.3f} ms, "
            f"p95 {percentile(times, 0.95) * 1000:.3f} ms ({args.rounds} rounds, "
            f"{running} devices loaded)"
        )
        print(
            f"asyncio echo baseline:              median {base:.3f} ms, "
            f"p95 {percentile(baseline, 0.95) * 1000:.3f} ms"
        )
        verdict = "OK" if med - base < 2.0 else "ABOVE TARGET"
        print(
            f"emulator overhead per API round trip: {med - base:.3f} ms (target < 2 ms: {verdict})"
        )
        return 0
    finally:
        if daemon is not None:
            control.stop_daemon(lab_dir, timeout=60)
            if daemon.poll() is None:
                daemon.kill()
            daemon.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
