"""``kopnet lab``: start, inspect, disturb and stop the device lab."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from kopnet_iac.cli.context import EXIT_ERROR, AppContext, cli_errors, echo_json, pass_app
from kopnet_iac.errors import LabError
from kopnet_iac.lab import control
from kopnet_iac.lab.control import lab_stats
from kopnet_iac.lab.faultspec import parse_fault_spec, validate_changes
from kopnet_iac.lab.spec import DeviceSpec, spec_to_dict
from kopnet_iac.lab.targets import lab_status
from kopnet_iac.lab.topology import AddressBook, village_specs

DAEMON_START_TIMEOUT = 20.0
READY_TIMEOUT = 180.0

lab_dir_option = click.option(
    "--lab-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=control.ENV_LAB_DIR,
    default=None,
    help="Lab directory (state, pid, control socket). Env: KOPNET_LAB_DIR. Default: .kopnet/lab",
)


def _load_inventory(inventory_dir: Path) -> Any:
    from kopnet_iac.inventory import loader

    load = getattr(loader, "load_inventory", None) or getattr(loader, "load_fleet", None)
    if load is None:
        raise LabError("inventory loader not available")
    return load(inventory_dir)


def _spawn_daemon(lab_dir: Path) -> int:
    lab_dir.mkdir(parents=True, exist_ok=True)
    log = open(lab_dir / control.LOG_NAME, "ab")  # noqa: SIM115 - handed to the child
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kopnet_iac.cli.main",
                "lab",
                "daemon",
                "--lab-dir",
                str(lab_dir),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:  # e.g. the interpreter cannot be run: a message, not a traceback
        raise LabError(f"cannot start the lab daemon: {exc}") from exc
    finally:
        log.close()
    deadline = time.monotonic() + DAEMON_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LabError(f"lab daemon exited at start; see {lab_dir / control.LOG_NAME}")
        if control.is_running(lab_dir):
            return process.pid
        time.sleep(0.1)
    raise LabError(f"lab daemon did not come up; see {lab_dir / control.LOG_NAME}")


def _ports(row: dict[str, Any]) -> list[int]:
    return [
        int(row[key]) for key in ("api_port", "ssh_port", "http_port", "https_port") if row.get(key)
    ]


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _wait_ready(lab_dir: Path, hostnames: set[str]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + READY_TIMEOUT
    ready: set[str] = set()
    shown = -1
    while True:
        rows = [r for r in lab_status(lab_dir) if r["hostname"] in hostnames]
        failed = [r for r in rows if r["state"] == "failed"]
        for row in rows:
            if row["hostname"] in ready or row["state"] != "running":
                continue
            if all(_answers(row["host"], port) for port in _ports(row)):
                ready.add(row["hostname"])
        if len(ready) != shown:
            shown = len(ready)
            click.echo(f"  {len(ready)}/{len(hostnames) - len(failed)} devices answering")
        if len(ready) + len(failed) >= len(hostnames):
            return rows
        if time.monotonic() > deadline:
            missing = sorted(hostnames - ready - {r["hostname"] for r in failed})
            raise LabError(
                f"devices not answering after {READY_TIMEOUT:.0f}s: {', '.join(missing)}"
            )
        time.sleep(0.2)


def _gateway_module() -> Any:
    try:
        from kopnet_iac.lab import gateway_netns
    except ImportError:
        return None
    return gateway_netns


def _gateways_up(
    villages: list[str], inventory: Any, lab_dir: Path, *, explicit: bool
) -> list[str]:
    """Start the gateways; the reasons of those that did not start (empty: all up).

    Gateways the user did not ask for by name (the ``--gateways`` default) are skipped with a
    note where they cannot run at all (not root, no gateway lab module); asked for explicitly,
    that is a failure too.
    """
    unavailable = None
    if os.geteuid() != 0:
        unavailable = "needs root"
    elif _gateway_module() is None:
        unavailable = "gateway lab module not installed"
    if unavailable is not None:
        if not explicit:
            click.echo(f"gateways not started: {unavailable} (--no-gateways silences this)")
            return []
        return [f"gateways not available: {unavailable}"]
    module = _gateway_module()
    failures: list[str] = []
    for village in villages:
        try:
            info = module.up(village, inventory, lab_dir)
        except Exception as exc:  # report it and keep the emulated devices running
            reason = f"gateway of {village} not started: {exc}"
            click.echo(reason, err=True)
            failures.append(reason)
            continue
        click.echo(f"gateway {info.get('hostname', village)} up at {info.get('host', '?')}")
    return failures


def _pin_host_keys(lab_dir: Path, villages: set[str]) -> None:
    """Record the SSH host keys of the lab's devices, just started, in the known-hosts store
    (replacing older ones: lab gateways get new keys at every start)."""
    from kopnet_iac.transport.hostkeys import HostKeyStore, pin_current_keys

    store = HostKeyStore.open()
    targets = [
        (str(row["host"]), int(row["ssh_port"]), str(row["hostname"]))
        for row in lab_status(lab_dir)
        if row.get("village") in villages and row.get("ssh_port") and row["state"] == "running"
    ]
    problems = pin_current_keys(store, targets)
    for device, reason in sorted(problems.items()):
        click.echo(f"  {device}: host key not recorded: {reason}", err=True)
    click.echo(f"  {len(targets) - len(problems)} SSH host keys recorded in {store.path}")


def _gateways_down(lab_dir: Path, village: str | None = None) -> None:
    module = _gateway_module()
    if module is None or os.geteuid() != 0:
        return
    try:
        if village is None:
            module.down(lab_dir)
        else:
            module.down_village(lab_dir, village)
    except Exception as exc:  # say it, do not hide it
        click.echo(f"gateways not stopped cleanly: {exc}", err=True)


def _print_table(rows: list[dict[str, Any]]) -> None:
    header = ("HOSTNAME", "VILLAGE", "PLATFORM", "STATE", "ADDRESS", "PORTS", "USER", "FAULTS")
    lines = [header]
    for row in rows:
        ports = ",".join(str(p) for p in _ports(row))
        faults = ",".join(sorted(row.get("faults") or {}))
        lines.append(
            (
                row["hostname"],
                row["village"],
                row["platform"],
                row["state"],
                row["host"],
                ports,
                row["username"],
                faults or "-",
            )
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    for line in lines:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())
    for row in rows:
        if row.get("error"):
            click.echo(f"{row['hostname']}: {row['error']}", err=True)


@click.group("lab")
def lab() -> None:
    """Emulated RouterOS/airOS devices (and root-only gateway namespaces) to rehearse on."""


@lab.command("up")
@click.argument("villages", nargs=-1)
@click.option("--all", "all_villages", is_flag=True, help="Every village of the inventory.")
@click.option("--factory-default", is_flag=True, help="Start the devices wiped, factory state.")
@click.option(
    "--gateways/--no-gateways",
    default=True,
    show_default=True,
    help="Also start the Linux gateways in network namespaces (needs root).",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="HOST:SPEC",
    help="e.g. core-x:latency=200,trap=/ip address*",
)
@lab_dir_option
@pass_app
def up(
    app: AppContext,
    villages: tuple[str, ...],
    all_villages: bool,
    factory_default: bool,
    gateways: bool,
    faults: tuple[str, ...],
    lab_dir: Path | None,
) -> None:
    """Start the lab (or add villages to the running one); returns when every device answers.

    Each device listens on its own loopback address (127.77.<village>.<device>, kept in the lab
    directory): RouterOS API 8728 + SSH 8022, airOS SSH 8022 + HTTP 8080 + HTTPS 8443. Lab
    credentials are shown by 'kopnet lab status'.

    \b
    --fault HOST:SPEC, SPEC a comma list of:
      rtt=MS link-jitter=MS loss-burst=MS loss-every=S kbps=N nagle=no geo (link)
      latency=MS jitter=MS (per command: a slow device) stall=S drop-after=N
      drop-at=GLOB trap=GLOB trap-message=TEXT refuse-login disk-full
      scheduler-disabled slow-boot=S link-down=PORT
    """
    with cli_errors():
        directory = control.resolve_lab_dir(lab_dir)
        control.socket_path(directory)  # fails early when the path is too long for a socket
        inventory = _load_inventory(app.inventory_dir)
        chosen = sorted(inventory.villages) if all_villages else list(villages)
        if not chosen:
            raise click.UsageError("name at least one village or use --all")
        book = AddressBook(directory / "addresses.json")
        specs: list[DeviceSpec] = []
        for village in chosen:
            specs.extend(village_specs(inventory, village, book, factory_default=factory_default))
        book.save()
        fault_map: dict[str, dict[str, Any]] = {}
        for text in faults:
            host, changes = parse_fault_spec(text)
            if host not in {s.hostname for s in specs}:
                raise LabError(f"fault for unknown device {host!r}")
            fault_map.setdefault(host, {}).update(changes)
        if control.is_running(directory):
            click.echo(f"adding {len(specs)} devices to the running lab in {directory}")
        else:
            pid = _spawn_daemon(directory)
            click.echo(f"lab daemon started (pid {pid}) in {directory}")
        answer = control.request(
            directory,
            "add",
            timeout=600.0,
            specs=[spec_to_dict(s) for s in specs],
            faults=fault_map,
            factory_reset=factory_default,
        )
        already = answer.get("already_running", [])
        if already:
            note = " (not reset to factory state)" if factory_default else ""
            click.echo(f"  already running{note}: {', '.join(already)}")
        for host, reason in sorted(answer.get("failed", {}).items()):
            click.echo(f"  {host}: failed to start: {reason}", err=True)
        rows = _wait_ready(directory, {s.hostname for s in specs})
        gateway_failures: list[str] = []
        if gateways:
            source = click.get_current_context().get_parameter_source("gateways")
            explicit = source is not None and source != ParameterSource.DEFAULT
            gateway_failures = _gateways_up(chosen, inventory, directory, explicit=explicit)
        _pin_host_keys(directory, set(chosen))
        started = [r["hostname"] for r in rows if r["state"] == "running"]
        if started:  # readiness probes and host-key pinning are not the user's traffic
            lab_stats(directory, started, reset=True)
        running = sum(1 for r in rows if r["state"] == "running")
        click.echo(f"lab up: {running}/{len(specs)} devices running ({', '.join(chosen)})")
        failed_devices = sorted(answer.get("failed", {}))
        if failed_devices or gateway_failures:
            parts = [f"{len(failed_devices)} device(s) failed to start"] if failed_devices else []
            parts.extend(gateway_failures)
            click.echo("lab up incomplete: " + "; ".join(parts), err=True)
            sys.exit(EXIT_ERROR)


@lab.command("down")
@lab_dir_option
def down(lab_dir: Path | None) -> None:
    """Stop the lab daemon this lab directory started (device state is kept)."""
    with cli_errors():
        directory = control.resolve_lab_dir(lab_dir)
        pid = control.stop_daemon(directory)
        _gateways_down(directory)
        click.echo(f"lab stopped (pid {pid})" if pid else "no lab daemon was running")


@lab.command("remove")
@click.argument("villages", nargs=-1, required=True)
@lab_dir_option
def remove(villages: tuple[str, ...], lab_dir: Path | None) -> None:
    """Stop the devices of some villages; the rest of the lab keeps running."""
    with cli_errors():
        directory = control.resolve_lab_dir(lab_dir)
        answer = control.request(directory, "remove", villages=list(villages))
        for village in villages:
            _gateways_down(directory, village)
        click.echo(f"removed {len(answer.get('removed', []))} devices")


@lab.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@lab_dir_option
def status(as_json: bool, lab_dir: Path | None) -> None:
    """One line (or JSON object) per lab device, with its address, ports and lab credentials."""
    with cli_errors():
        rows = lab_status(lab_dir)
        if as_json:
            echo_json(rows)
        else:
            _print_table(rows)


@lab.command("fault")
@click.argument("host")
@click.option("--rtt", type=float, help="Link round-trip time, ms (delay on the traffic itself).")
@click.option("--link-jitter", type=float, help="Extra one-way link delay up to this, ms.")
@click.option("--loss-burst", type=float, help="Link outage of this many ms, periodically.")
@click.option("--loss-every", type=float, help="Seconds between link outages (default 10).")
@click.option("--kbps", type=float, help="Link bandwidth each way, kbit/s (0: unlimited).")
@click.option(
    "--nagle/--no-nagle",
    default=None,
    help="Clients' TCP holds small writes until acknowledged (default on; off: TCP_NODELAY).",
)
@click.option("--geo", is_flag=True, default=None, help="GEO satellite link: 600 ms RTT.")
@click.option("--latency", type=float, help="Added delay per command (slow device), ms.")
@click.option("--jitter", type=float, help="Random extra delay per command up to this, ms.")
@click.option("--stall", type=float, help="Stall the next command this many seconds.")
@click.option("--drop-after", type=int, help="Drop the session after N more commands.")
@click.option("--drop-at", help="Drop the session at the first command matching (glob).")
@click.option("--trap", help="Fail commands matching this glob with an error.")
@click.option("--trap-message", help="Error text for --trap.")
@click.option("--reboot", is_flag=True, default=None, help="Reboot the device now.")
@click.option("--slow-boot", type=float, help="Boot time in seconds for the next reboots.")
@click.option("--refuse-login/--allow-login", default=None)
@click.option("--disk-full/--disk-ok", default=None)
@click.option("--scheduler-disabled/--scheduler-enabled", default=None)
@click.option("--link-down", multiple=True, metavar="PORT", help="Take a local port's link down.")
@click.option("--link-up", multiple=True, metavar="PORT", help="Bring a port's link back.")
@click.option("--clear", is_flag=True, default=None, help="Remove every fault first.")
@lab_dir_option
def fault(host: str, lab_dir: Path | None, **options: Any) -> None:
    """Change the fault injection of one device at runtime."""
    names = {
        "rtt": "link_rtt_ms",
        "link_jitter": "link_jitter_ms",
        "loss_burst": "link_loss_burst_ms",
        "loss_every": "link_loss_every_s",
        "kbps": "link_kbps",
        "nagle": "link_nagle",
        "latency": "latency_ms",
        "jitter": "jitter_ms",
        "stall": "stall_seconds",
        "drop_after": "drop_after_commands",
        "drop_at": "drop_at_pattern",
        "trap": "trap_pattern",
        "slow_boot": "boot_seconds",
    }
    with cli_errors():
        changes: dict[str, Any] = {}
        for option, value in options.items():
            if value is None or value == ():
                continue
            changes[names.get(option, option)] = list(value) if isinstance(value, tuple) else value
        if not changes:
            raise click.UsageError("give at least one fault option")
        answer = control.request(
            control.resolve_lab_dir(lab_dir), "fault", host=host, changes=validate_changes(changes)
        )
        active = answer.get("faults", {})
        click.echo(f"{host}: " + (json.dumps(active, sort_keys=True) if active else "no faults"))


def _print_stats(stats: dict[str, dict[str, Any]]) -> None:
    header = ("HOSTNAME", "CONN", "OPEN", "ROUND-TRIPS", "BYTES-TO", "BYTES-FROM", "CONFIG", "READ")
    lines = [header]
    for host, row in sorted(stats.items()):
        lines.append(
            (
                host,
                row.get("connections", 0),
                row.get("open_connections", 0),
                row.get("round_trips", 0),
                row.get("bytes_to_device", 0),
                row.get("bytes_from_device", 0),
                row.get("config_commands", 0),
                row.get("read_commands", 0),
            )
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    for line in lines:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())


@lab.command("stats")
@click.argument("hosts", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable, with every connection.")
@click.option("--reset", is_flag=True, help="Start the counters again from zero (after showing).")
@lab_dir_option
def stats(hosts: tuple[str, ...], as_json: bool, reset: bool, lab_dir: Path | None) -> None:
    """What crossed the wire per device: TCP connections, round trips, bytes each way and
    configuration/read commands received, since the lab started or the last --reset.

    A round trip is one request/response exchange: client bytes followed by the device's answer
    reaching the client; requests sent back to back without waiting (pipelined) count once.
    Bytes include TLS and SSH framing (BYTES-TO: client to device).
    """
    with cli_errors():
        answer = lab_stats(lab_dir, hosts, reset=reset)
        if as_json:
            echo_json(answer)
        else:
            _print_stats(answer)
            if reset:
                click.echo("counters reset")


@lab.command("log")
@click.argument("host")
@click.option("--tail", type=int, default=0, help="Only the last N commands.")
@lab_dir_option
def log(host: str, tail: int, lab_dir: Path | None) -> None:
    """Commands the device received (API sentences, console lines, HTTP requests)."""
    with cli_errors():
        answer = control.request(control.resolve_lab_dir(lab_dir), "log", host=host)
        commands = list(answer.get("commands", []))
        for line in commands[-tail:] if tail else commands:
            click.echo(line)


@lab.command("daemon", hidden=True)
@lab_dir_option
def daemon(lab_dir: Path | None) -> None:
    """Run the lab daemon in the foreground (started by 'lab up')."""
    from kopnet_iac.lab.daemon import run

    run(control.resolve_lab_dir(lab_dir))


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(lab)
