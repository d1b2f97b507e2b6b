"""``kopnet hostkey``: the pinned SSH host keys of the devices (trust on first use)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kopnet_iac.cli.context import EXIT_ERROR, cli_errors, echo_json
from kopnet_iac.cli.state_cmds import state_option
from kopnet_iac.transport.hostkeys import HostKeyStore


@click.group("hostkey")
def hostkey() -> None:
    """Pinned SSH host keys: recorded at first contact, a changed key is refused."""


@hostkey.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@state_option
def list_keys(as_json: bool, state_dir: Path | None) -> None:
    """Every pinned key: host, device, key type, SHA256 fingerprint, when first seen."""
    with cli_errors():
        store = HostKeyStore.open(state_dir)
        pins = store.entries()
        if as_json:
            echo_json(
                [
                    {
                        "host": p.host,
                        "device": p.device,
                        "key_type": p.key_type,
                        "fingerprint": p.fingerprint,
                        "added": p.added,
                    }
                    for p in pins
                ]
            )
            return
        if not pins:
            click.echo(f"no pinned host keys in {store.path}")
            return
        rows = [("HOST", "DEVICE", "TYPE", "FINGERPRINT", "ADDED")] + [
            (p.host, p.device or "-", p.key_type, p.fingerprint, p.added or "-") for p in pins
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for row in rows:
            click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@hostkey.command("forget")
@click.argument("host")
@click.option("--port", type=int, default=None, help="Only this port (default: every port).")
@state_option
def forget(host: str, port: int | None, state_dir: Path | None) -> None:
    """Drop the pinned keys of HOST (address or device name): the next connection records
    the key it is offered. Use after replacing or reinstalling a device on purpose."""
    with cli_errors():
        store = HostKeyStore.open(state_dir)
        dropped = store.forget(host, port)
        if not dropped:
            click.echo(f"no pinned host key for {host} in {store.path}", err=True)
            sys.exit(EXIT_ERROR)
        for pin in dropped:
            click.echo(f"forgot {pin.host} {pin.key_type} {pin.fingerprint}")


def register(group: click.Group) -> None:
    """Add the ``hostkey`` command group to the top-level group."""
    group.add_command(hostkey)
