"""``kopnet lab``: start, inspect, disturb and stop the device lab."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from kopnet_iac.cli.context import EXIT_ERROR, AppContext, cli_errors, echo_json, pass_app
from kopnet_iac.errors import LabError
from kopnet_iac.lab import control, service
from kopnet_iac.lab.control import lab_stats
from kopnet_iac.lab.faultspec import validate_changes
from kopnet_iac.lab.targets import lab_status

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


def _warn(message: str) -> None:
    click.echo(message, err=True)


def _print_table(rows: list[dict[str, Any]]) -> None:
    header = ("HOSTNAME", "VILLAGE", "PLATFORM", "STATE", "ADDRESS", "PORTS", "USER", "FAULTS")
    lines = [header]
    for row in rows:
        ports = ",".join(str(p) for p in service.device_ports(row))
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
        inventory = _load_inventory(app.inventory_dir)
        chosen = sorted(inventory.villages) if all_villages else list(villages)
        if not chosen:
            raise click.UsageError("name at least one village or use --all")
        source = click.get_current_context().get_parameter_source("gateways")
        result = service.lab_up(
            inventory,
            chosen,
            lab_dir,
            factory_default=factory_default,
            gateways=gateways,
            explicit_gateways=source is not None and source != ParameterSource.DEFAULT,
            faults=faults,
            say=click.echo,
            warn=_warn,
        )
        click.echo(
            f"lab up: {result.running}/{len(result.specs)} devices running ({', '.join(chosen)})"
        )
        if not result.complete:
            click.echo("lab up incomplete: " + "; ".join(result.problems()), err=True)
            sys.exit(EXIT_ERROR)


@lab.command("down")
@lab_dir_option
def down(lab_dir: Path | None) -> None:
    """Stop the lab daemon this lab directory started (device state is kept)."""
    with cli_errors():
        pid = service.lab_down(lab_dir, warn=_warn)
        click.echo(f"lab stopped (pid {pid})" if pid else "no lab daemon was running")


@lab.command("remove")
@click.argument("villages", nargs=-1, required=True)
@lab_dir_option
def remove(villages: tuple[str, ...], lab_dir: Path | None) -> None:
    """Stop the devices of some villages; the rest of the lab keeps running."""
    with cli_errors():
        removed = service.lab_remove(villages, lab_dir, warn=_warn)
        click.echo(f"removed {len(removed)} devices")


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
