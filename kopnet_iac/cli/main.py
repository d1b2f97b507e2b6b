"""Top-level ``kopnet`` command group.

Each area of the pipeline keeps its commands in its own module and exposes
``register(group)``; this module only wires them together.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from kopnet_iac import __version__
from kopnet_iac.cli import (
    deploy_cmds,
    fleet_cmds,
    gateway_cmds,
    inventory_cmds,
    lab_cmds,
    render_cmds,
    replace_cmds,
    routeros_cmds,
    state_cmds,
)
from kopnet_iac.cli.context import EXIT_CODES_HELP, AppContext
from kopnet_iac.cli.hostkey_cmds import hostkey


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES_HELP,
)
@click.option(
    "--inventory",
    "inventory_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="inventory",
    show_default=True,
    envvar="KOPNET_INVENTORY",
    help="Inventory folder (fleet files + villages/). Env: KOPNET_INVENTORY.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="kopnet")
@click.pass_context
def cli(ctx: click.Context, inventory_dir: Path, verbose: int) -> None:
    """KopNet IaC: roll out and run village internet POPs from a YAML inventory.

    \b
    Typical flow:
      kopnet validate                 check the whole inventory
      kopnet render desa-x            write intended configs to build/
      kopnet diff --base origin/main  what a change alters, per device
      kopnet lab up desa-x            start emulated devices to rehearse
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = AppContext(inventory_dir=inventory_dir, verbose=verbose)


inventory_cmds.register(cli)
render_cmds.register(cli)
routeros_cmds.register(cli)
lab_cmds.register(cli)
gateway_cmds.register(cli)
deploy_cmds.register(cli)
fleet_cmds.register(cli)
state_cmds.register(cli)
replace_cmds.register(cli)
cli.add_command(hostkey)


if __name__ == "__main__":  # pragma: no cover
    cli()
