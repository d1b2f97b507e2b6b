"""Host key pinning benchmark: what trust-on-first-use and pinned checks cost.

    .venv/bin/python benchmarks/hostkeys.py [--devices 250] [--workers 8]

Starts ``--devices`` asyncssh servers (each its own ed25519 key) on loopback addresses of a
/16 of its own, then prints: the time ``pin_current_keys`` takes to record every key (what
``kopnet lab up`` adds), sequentially and with ``--workers`` threads; the time of one
``HostKeyStore.check`` against a store holding every key (what each connection adds besides
the key exchange); and the store's size. Everything it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from pathlib import Path

import asyncssh

from kopnet_iac.transport.hostkeys import HostKeyStore, pin_current_keys, scan_key

PREFIX = "127.67"
PORT = 8022


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=250)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    hosts = [f"{PREFIX}.{1 + i // 250}.{1 + i % 250}" for i in range(args.devices)]

    async def start() -> list[asyncssh.SSHAcceptor]:
        keys = [asyncssh.generate_private_key("ssh-ed25519") for _ in hosts]
        return [
            await asyncssh.create_server(asyncssh.SSHServer, h, PORT, server_host_keys=[k])
            for h, k in zip(hosts, keys, strict=True)
        ]

    acceptors = asyncio.run_coroutine_threadsafe(start(), loop).result(120)
    try:
        targets = [(h, PORT, f"dev-{i}") for i, h in enumerate(hosts)]
        with tempfile.TemporaryDirectory() as tmp:
            for workers in (1, args.workers):
                store = HostKeyStore(Path(tmp) / f"known_hosts.{workers}")
                started = time.perf_counter()
                problems = pin_current_keys(store, targets, workers=workers)
                took = time.perf_counter() - started
                print(
                    f"pin {len(targets)} devices, {workers} worker(s): {took:.2f} s "
                    f"({took / len(targets) * 1000:.1f} ms/device), {len(problems)} failed"
                )
            key = scan_key(hosts[-1], PORT)
            rounds = 200
            started = time.perf_counter()
            for _ in range(rounds):
                store.check(hosts[-1], PORT, key)
            per = (time.perf_counter() - started) / rounds
            print(f"check against {len(targets)} pins: {per * 1000:.2f} ms per connection")
            print(f"known_hosts: {store.path.stat().st_size / 1024:.1f} KiB")
    finally:

        async def stop() -> None:
            for acceptor in acceptors:
                acceptor.close()
                await acceptor.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


if __name__ == "__main__":
    main()
