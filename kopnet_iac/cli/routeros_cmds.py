"""``kopnet routeros``: check, diff and lint RouterOS export files (no device access)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kopnet_iac.cli.context import EXIT_ERROR, AppContext, cli_errors, echo_json, pass_app
from kopnet_iac.errors import KopnetError, ParseError
from kopnet_iac.inventory.addressing import village_addressing
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.platforms.routeros.diff import diff_report, render_text
from kopnet_iac.platforms.routeros.lint import describe_rules, lint
from kopnet_iac.platforms.routeros.model import RouterOSConfig
from kopnet_iac.platforms.routeros.parser import parse_export
from kopnet_iac.platforms.routeros.planner import plan

MASKED_NOTE = "# sensitive values masked (********): not runnable; use --show-sensitive\n"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise KopnetError(f"{path}: cannot read: {exc.strerror}") from exc


def _load(path: Path) -> RouterOSConfig:
    return parse_export(_read(path), str(path))


def register(group: click.Group) -> None:
    """Add the ``routeros`` command group to the top-level group."""
    group.add_command(routeros)


@click.group()
def routeros() -> None:
    """RouterOS configuration engine: parse, plan and lint exports."""


@routeros.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def check(files: tuple[Path, ...]) -> None:
    """Parse export FILES and print a summary per file (exit 3 on any error)."""
    failed = 0
    with cli_errors():
        for path in files:
            try:
                cfg = _load(path)
            except ParseError as exc:
                failed += 1
                kind = type(exc).__name__
                click.echo(f"{exc} [{kind}]", err=True)
                continue
            version = cfg.header.version or "unknown version"
            click.echo(
                f"{path}: ok, RouterOS {version}, {len(cfg.sections)} paths, "
                f"{cfg.line_count()} entries"
            )
    if failed:
        click.echo(f"{failed} of {len(files)} file(s) failed", err=True)
        sys.exit(EXIT_ERROR)


@routeros.command()
@click.argument("running", type=click.Path(path_type=Path))
@click.argument("intended", type=click.Path(path_type=Path))
@click.option("--revert", is_flag=True, help="Print the script that undoes the plan.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable diff and scripts.")
@click.option(
    "--show-sensitive",
    is_flag=True,
    help="Print secrets in the script (masked with ******** by default).",
)
@click.option(
    "--changes", "as_changes", is_flag=True, help="Show the changes per path instead of the script."
)
@click.option(
    "--running-hides-sensitive",
    is_flag=True,
    help="RUNNING was exported without show-sensitive: do not compare secrets.",
)
def diff(
    running: Path,
    intended: Path,
    revert: bool,
    as_json: bool,
    show_sensitive: bool,
    as_changes: bool,
    running_hides_sensitive: bool,
) -> None:
    """Print the plan script that turns RUNNING into INTENDED (nothing when equivalent).

    Paths that appear in INTENDED (or are declared with a `# kopnet: manage /a b, /c` comment)
    converge fully; other paths are left alone.
    """
    with cli_errors():
        result = plan(
            _load(running), _load(intended), compare_sensitive=not running_hides_sensitive
        )
        mask = not show_sensitive
        if as_json:
            report = diff_report(result, host=str(intended))
            report["script"] = result.script(mask_sensitive=mask)
            report["revert_script"] = result.revert_script(mask_sensitive=mask)
            echo_json(report)
            return
        if as_changes:
            click.echo(render_text(diff_report(result, host=str(intended))), nl=False)
            return
        render = result.revert_script if revert else result.script
        text = render(mask_sensitive=mask)
        if text != render(mask_sensitive=False):
            # Never let a masked script pass for a runnable one.
            text = MASKED_NOTE + text
        if text:
            click.echo(text, nl=False)


def _rules_epilog() -> str:
    lines = ["\b", "Rules (kopnet_iac/platforms/routeros/lint_rules.yaml):"]
    lines += [f"  {rule_id}  {message}" for rule_id, message in describe_rules()]
    return "\n".join(lines)


@routeros.command(name="lint", epilog=_rules_epilog())
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable findings.")
@click.option("--mgmt-net", multiple=True, help="Management network (api/ssh/winbox addresses).")
@click.option("--noc-net", multiple=True, help="NOC network (SNMP community addresses).")
@click.option(
    "--village",
    help="Networks from the inventory: the fleet's NOC networks plus VILLAGE's management "
    "network for --mgmt-net, the NOC networks for --noc-net.",
)
@click.option("--rules", "list_rules", is_flag=True, help="List the rules and exit.")
@pass_app
def lint_cmd(
    app: AppContext,
    files: tuple[Path, ...],
    as_json: bool,
    mgmt_net: tuple[str, ...],
    noc_net: tuple[str, ...],
    village: str | None,
    list_rules: bool,
) -> None:
    """Check intended configs against the policy rules (exit 1 on any finding).

    Each finding is printed as FILE:LINE: RULE: PATH ENTRY: MESSAGE.
    """
    if list_rules:
        for rule_id, message in describe_rules():
            click.echo(f"{rule_id}  {message}")
        return
    if not files:
        raise click.UsageError("give at least one FILE (or --rules)")
    results: dict[str, list[dict[str, str | int]]] = {}
    with cli_errors():
        if village is not None:
            inv = load_inventory(app.inventory_dir)
            addr = village_addressing(inv, village)
            mgmt_net = (*mgmt_net, *inv.fleet.noc.networks, str(addr.management))
            noc_net = (*noc_net, *inv.fleet.noc.networks)
        for path in files:
            text = _read(path)
            try:
                findings = lint(
                    parse_export(text, str(path)),
                    mgmt_networks=mgmt_net,
                    noc_networks=noc_net,
                    text=text,
                )
            except ValueError as exc:
                raise KopnetError(f"bad network: {exc}") from exc
            results[str(path)] = [f.as_dict() for f in findings]
    total = sum(len(v) for v in results.values())
    if as_json:
        echo_json({"files": results, "findings": total})
    else:
        for name, rows in results.items():
            for row in rows:
                where = f"{row['path']} {row['entry']}".strip()
                click.echo(f"{name}:{row['line']}: {row['rule']}: {where}: {row['message']}")
        click.echo(f"{total} finding(s) in {len(files)} file(s)", err=True)
    if total:
        sys.exit(1)
