"""What a one-line change costs on the wire of a GEO satellite link, per deploy tool.

One emulated core router (the lab's spec of a real village's core, loaded with that village's
rendered configuration through ``/import``) behind the lab's link model (default 600 ms RTT,
the GEO hop of a VSAT village). The same one-line change (``/system identity``), side by side:

* napalm-ros 1.6.1's own flow: ``load_merge_candidate``, ``compare_config``,
  ``commit_config(revert_in=...)``, ``confirm_commit`` (committed only when ``compare_config``
  is not empty, as ``nornir_napalm``'s ``napalm_configure`` does), and its ``rollback``;
* our driver ``napalm.get_network_driver("kopnet_routeros")``, the same calls;
* Ansible's ``community.routeros.api_modify`` (the ``ansible<13`` bundle; it has no revert).

For each: the change with the revert armed and then confirmed, the same change again (a
no-op), and a rollback of a confirmed change, polling the router's API port meanwhile to see
how long it was unreachable. Printed: TCP connections, round trips, bytes each way and
configuration commands as the lab counted them (``kopnet lab stats``), and wall time.
Figures, never pass/fail.

    .venv/bin/python benchmarks/drivers.py                # 600 ms RTT
    .venv/bin/python benchmarks/drivers.py --rtt-ms 300
    .venv/bin/python benchmarks/drivers.py --fast         # smoke run: 20 ms RTT
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import librouteros  # noqa: E402

from kopnet_iac.inventory.loader import load_inventory  # noqa: E402
from kopnet_iac.lab import control  # noqa: E402
from kopnet_iac.lab.spec import DeviceSpec, spec_to_dict  # noqa: E402
from kopnet_iac.lab.topology import ENV_PREFIX, AddressBook, village_specs  # noqa: E402
from kopnet_iac.render.renderer import render_device  # noqa: E402

VILLAGE = "pematang-panggang"  # the VSAT village: its core is the one behind a GEO hop
LOAD_FILE = "bench-village.rsc"
POLL_INTERVAL = 0.05
DAEMON = [sys.executable, "-m", "kopnet_iac.cli.main", "lab", "daemon"]


@dataclass
class Figures:
    connections: int = 0
    round_trips: int = 0
    to_device: int = 0
    from_device: int = 0
    config_commands: int = 0
    wall: float = 0.0
    unreachable: float | None = None
    note: str = ""


class Bench:
    """A lab daemon of its own with one core router; stats and faults through the lab API."""

    def __init__(self, workdir: Path, prefix: str, village: str) -> None:
        self.lab_dir = workdir / "lab"
        self.lab_dir.mkdir(parents=True)
        os.environ[ENV_PREFIX] = prefix
        inventory = load_inventory(REPO / "inventory")
        specs = village_specs(inventory, village, AddressBook(self.lab_dir / "addresses.json"))
        core = next(s for s in specs if s.platform == "routeros" and s.role.startswith("core"))
        self.spec: DeviceSpec = replace(core, hostname="core-bench")
        self.config = next(iter(render_device(inventory, village, core.hostname).values()))
        self.poll_source = self.spec.host.rsplit(".", 1)[0] + ".250"
        log = open(self.lab_dir / control.LOG_NAME, "ab")  # noqa: SIM115 - the child's
        self.process = subprocess.Popen(
            [*DAEMON, "--lab-dir", str(self.lab_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 30
        while not control.is_running(self.lab_dir):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"lab daemon did not start, see {self.lab_dir}")
            time.sleep(0.1)
        answer = control.request(self.lab_dir, "add", specs=[spec_to_dict(self.spec)])
        if answer["failed"]:
            raise SystemExit(f"core router did not start: {answer['failed']}")

    def close(self) -> None:
        control.stop_daemon(self.lab_dir)

    def fault(self, **changes: Any) -> None:
        control.request(self.lab_dir, "fault", host=self.spec.hostname, changes=changes)

    def api(self, source: str | None = None) -> Any:
        return librouteros.connect(
            host=self.spec.host,
            username=self.spec.username,
            password=self.spec.password,
            port=self.spec.api_port or 8728,
            timeout=60,
            saddr=source,
        )

    def load_village(self) -> int:
        """Import the rendered village configuration (fast, before the link is slowed)."""
        # the header comments carry no configuration (and the emulator's /import splits a
        # comment line at ';'), so they stay out
        text = "".join(f"{line}\n" for line in self.config.splitlines() if line[:1] != "#")
        # secrets are pushed from the resolver; here: the lab's admin password, fakes elsewhere
        text = re.sub(
            r"@@secret:([\w.-]+)@@",
            lambda m: self.spec.password if m.group(1).endswith("admin") else "lab-fake-value",
            text,
        )
        api = self.api()
        try:
            tuple(api("/file/add", name=LOAD_FILE, contents=text))
            tuple(api("/import", **{"file-name": LOAD_FILE}))
        finally:
            api.close()
        # from now on: the account the village config gives the admin secret (admin may be off)
        account = re.search(r"name=(\S+) password=\"@@secret:[\w.-]*admin@@\"", self.config)
        if account is not None:
            self.spec = replace(self.spec, username=account.group(1))
        return len(text.splitlines())

    def identity(self, source: str | None = None) -> str:
        api = self.api(source)
        try:
            return str(next(iter(api("/system/identity/print")))["name"])
        finally:
            api.close()

    def stats(self, reset: bool = False) -> dict[str, Any]:
        return control.lab_stats(self.lab_dir, [self.spec.hostname], reset=reset)[
            self.spec.hostname
        ]

    def settled(self, timeout: float = 30.0) -> dict[str, Any]:
        """The stats once every connection of the measured flow has ended."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if stats["open_connections"] == 0 or time.monotonic() > deadline:
                return stats
            time.sleep(0.05)


class Poller:
    """Connects to the API port every 50 ms from an address of its own; measures the longest
    time the router refused or did not answer."""

    def __init__(self, host: str, port: int, source: str) -> None:
        self.address = (host, port)
        self.source = source
        self.successes = 0
        self.down_since: float | None = None
        self.longest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                with socket.create_connection(self.address, 1.0, (self.source, 0)):
                    self.successes += 1
                if self.down_since is not None:
                    self.longest = max(self.longest, now - self.down_since)
                    self.down_since = None
            except OSError:
                if self.down_since is None:
                    self.down_since = now
            self._stop.wait(POLL_INTERVAL)

    def up(self) -> bool:
        return self.down_since is None

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        if self.down_since is not None:
            self.longest = max(self.longest, time.monotonic() - self.down_since)


def measure(bench: Bench, action: Callable[[], str], poll: bool = False, back: str = "") -> Figures:
    """Run ``action`` from zeroed counters. With ``poll``, the API port is polled from the
    start until the router answers again with identity ``back`` (a rollback that reboots);
    the poller's traffic (from an address of its own) is left out of the figures."""
    bench.settled()
    bench.stats(reset=True)
    poller = Poller(bench.spec.host, bench.spec.api_port or 8728, bench.poll_source)
    with poller if poll else contextlib.nullcontext():
        start = time.monotonic()
        note = action()
        wall = time.monotonic() - start
        if poll:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not (poller.up() and _answers(bench, back)):
                time.sleep(0.2)
    stats = bench.settled()
    polls = stats["by_client"].get(bench.poll_source, {})

    def own(counter: str) -> int:
        return int(stats[counter]) - int(polls.get(counter, 0))

    return Figures(
        connections=own("connections"),
        round_trips=own("round_trips"),
        to_device=own("bytes_to_device"),
        from_device=own("bytes_from_device"),
        config_commands=own("config_commands"),
        wall=wall,
        unreachable=poller.longest if poll else None,
        note=note,
    )


def _answers(bench: Bench, identity: str) -> bool:
    """Whether the router answers with ``identity`` (asked from the poller's address)."""
    try:
        return bench.identity(source=bench.poll_source) == identity
    except (OSError, librouteros.exceptions.LibRouterosError):
        return False


# ---- the tools ---------------------------------------------------------------------------------
def napalm_flow(make: Callable[[], Any], change: str, revert_in: int) -> Callable[[], str]:
    """``napalm_configure`` + ``napalm_confirm_commit`` as nornir_napalm runs them."""

    def run() -> str:
        driver = make()
        driver.open()
        try:
            driver.load_merge_candidate(config=change)
            diff = driver.compare_config()
            if not diff:
                return "compare_config empty: nothing committed"
            driver.commit_config(revert_in=revert_in)
            driver.confirm_commit()
            return f"diff of {len(diff.splitlines())} lines committed"
        finally:
            driver.close()

    return run


def napalm_rollback(make: Callable[[], Any]) -> Callable[[], str]:
    def run() -> str:
        driver = make()
        driver.open()
        try:
            driver.rollback()
            return ""
        finally:
            with contextlib.suppress(Exception):
                driver.close()

    return run


def napalm_maker(bench: Bench, name: str) -> Callable[[], Any]:
    from napalm import get_network_driver

    cls = get_network_driver(name)
    args: dict[str, Any] = {"port": bench.spec.api_port, "ssh_port": bench.spec.ssh_port}
    if name == "kopnet_routeros":
        args.update(expected_model=bench.spec.model, host_label=bench.spec.hostname)

    def make() -> Any:
        return cls(bench.spec.host, bench.spec.username, bench.spec.password, 120, args)

    return make


def ansible_available() -> str:
    """Empty when ``community.routeros.api_modify`` can run, else why not."""
    playbook = Path(sys.executable).with_name("ansible-playbook")
    if not playbook.exists():
        return "not installed (ansible-playbook missing)"
    try:
        import ansible_collections.community.routeros  # noqa: F401
    except ImportError:
        return "not installed (pip install 'ansible>=12,<13')"
    return ""


@contextlib.contextmanager
def ansible_project(bench: Bench, workdir: Path) -> Iterator[Path]:
    folder = workdir / "ansible"
    folder.mkdir()
    (folder / "inventory.ini").write_text("core ansible_connection=local\n")
    secrets = folder / "lab-credentials.yml"  # lab-only credentials, removed afterwards
    secrets.touch(mode=0o600)
    secrets.write_text(
        f"ros_host: {bench.spec.host}\nros_user: {bench.spec.username}\n"
        f"ros_password: {bench.spec.password}\nros_port: {bench.spec.api_port}\n"
    )
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def ansible_flow(folder: Path, name: str) -> Callable[[], str]:
    playbook = folder / f"identity-{name}.yml"
    playbook.write_text(
        "- hosts: core\n  gather_facts: false\n  tasks:\n"
        "    - community.routeros.api_modify:\n"
        "        hostname: '{{ ros_host }}'\n        username: '{{ ros_user }}'\n"
        "        password: '{{ ros_password }}'\n        port: '{{ ros_port }}'\n"
        "        tls: false\n        timeout: 60\n        path: system identity\n"
        f"        data:\n          - name: {name}\n"
    )
    env = {
        **os.environ,
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCAL_TEMP": str(folder / "tmp"),
    }
    command = [str(Path(sys.executable).with_name("ansible-playbook"))]
    command += ["-i", str(folder / "inventory.ini"), "-e", f"@{folder / 'lab-credentials.yml'}"]

    def run() -> str:
        done = subprocess.run(
            [*command, str(playbook)], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            return f"FAILED (exit {done.returncode})"
        recap = [line for line in done.stdout.splitlines() if "changed=" in line]
        changed = recap[-1].split("changed=")[1].split()[0] if recap else "?"
        if "startup" not in _STARTUP:  # the same run with a task that does nothing
            empty = folder / "empty.yml"
            empty.write_text("- hosts: core\n  gather_facts: false\n  tasks:\n    - meta: noop\n")
            start = time.monotonic()
            subprocess.run([*command, str(empty)], env=env, capture_output=True, check=False)
            _STARTUP["startup"] = time.monotonic() - start
        return f"changed={changed}; wall includes {_STARTUP['startup']:.1f} s of ansible-playbook"

    return run


_STARTUP: dict[str, float] = {}


# ---- report ------------------------------------------------------------------------------------
def print_table(title: str, rows: list[tuple[str, Figures | str]]) -> None:
    print(f"\n{title}")
    header = ("tool", "conns", "round trips", "bytes to", "bytes from", "config cmds", "wall s")
    lines: list[tuple[str, ...]] = [header]
    notes: list[str] = []
    for tool, figures in rows:
        if isinstance(figures, str):
            head, _, why = figures.partition(" (")
            lines.append((tool, head, "", "", "", "", ""))
            if why:
                notes.append(f"  {tool}: {why.removesuffix(')')}")
            continue
        wall = f"{figures.wall:.1f}"
        if figures.unreachable is not None:
            wall += f" (unreachable {figures.unreachable:.1f})"
        lines.append(
            (
                tool,
                str(figures.connections),
                str(figures.round_trips),
                str(figures.to_device),
                str(figures.from_device),
                str(figures.config_commands),
                wall,
            )
        )
        if figures.note:
            notes.append(f"  {tool}: {figures.note}")
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  " + "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())
    for note in notes:
        print(note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rtt-ms", type=float, default=None, help="link RTT (default 600)")
    parser.add_argument("--fast", action="store_true", help="smoke run: 20 ms RTT")
    parser.add_argument("--revert-in", type=int, default=300, help="revert timer, seconds")
    parser.add_argument("--village", default=VILLAGE, help="whose core router config to load")
    parser.add_argument(
        "--prefix",
        default=os.environ.get(ENV_PREFIX, "127.79"),
        help="lab address prefix (env KOPNET_LAB_PREFIX)",
    )
    args = parser.parse_args()
    # fast: a LAN-like 20 ms, enough for pipelined requests to count as one exchange
    rtt = args.rtt_ms if args.rtt_ms is not None else (20.0 if args.fast else 600.0)
    workdir = Path(tempfile.mkdtemp(prefix="kopnet-bench-drivers-"))
    bench = Bench(workdir, args.prefix, args.village)
    try:
        lines = bench.load_village()
        bench.fault(link_rtt_ms=rtt)
        print(
            f"core router {bench.spec.model} at {bench.spec.host}, {lines}-line rendered config"
            f" of {args.village} loaded; link RTT {rtt:.0f} ms; revert_in {args.revert_in} s;"
            f" boot time {bench.spec.boot_seconds:.0f} s"
        )
        results: dict[str, list[tuple[str, Figures | str]]] = {"change": [], "noop": [], "rb": []}
        with ansible_project(bench, workdir) as folder:
            for index, (tool, flow, rollback) in enumerate(tools(bench, folder, args.revert_in)):
                if isinstance(flow, str):
                    for key in results:
                        results[key].append((tool, flow))
                    continue
                name = f"bench-{index}-a"
                results["change"].append((tool, measure(bench, flow(name))))
                results["noop"].append((tool, measure(bench, flow(name))))
                if rollback is None:
                    results["rb"].append((tool, "no revert, no rollback"))
                    continue
                before = bench.identity()
                flow(f"bench-{index}-b")()  # the change the rollback undoes (not measured)
                figures = measure(bench, rollback, poll=True, back=before)
                if bench.identity() != before:
                    figures.note += f"identity NOT restored to {before}"
                results["rb"].append((tool, figures))
        print_table("one-line change, revert armed, then confirmed", results["change"])
        print_table("the same change again (no-op)", results["noop"])
        print_table("rollback of a confirmed change", results["rb"])
    finally:
        bench.close()
        shutil.rmtree(workdir, ignore_errors=True)


Flow = Callable[[str], Callable[[], str]]


def tools(bench: Bench, folder: Path, revert_in: int) -> list[tuple[str, Flow | str, Any]]:
    """(name, flow for an identity or why it is not available, rollback action or None)."""
    out: list[tuple[str, Flow | str, Any]] = []
    for label, name in (("napalm-ros 1.6.1", "ros"), ("kopnet_routeros", "kopnet_routeros")):
        try:
            make = napalm_maker(bench, name)
        except Exception as exc:  # the driver may not exist (yet): say so, run the others
            out.append((label, f"not available ({type(exc).__name__}: {exc})", None))
            continue

        def flow(identity: str, make: Callable[[], Any] = make) -> Callable[[], str]:
            return napalm_flow(make, f"/system identity set name={identity}\n", revert_in)

        out.append((label, flow, napalm_rollback(make)))
    missing = ansible_available()

    def ansible(identity: str) -> Callable[[], str]:
        return ansible_flow(folder, identity)

    out.append(("ansible api_modify", missing or ansible, None))
    return out


if __name__ == "__main__":
    main()
