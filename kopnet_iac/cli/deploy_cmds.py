"""``kopnet deploy``: a village rolled out as one transaction (see kopnet_iac.deploy.transaction).

Only rendering lives here: progress lines (rich on a terminal, plain otherwise, on stderr so
``--json`` keeps stdout to one document), the plan with diffs, the confirmation prompt, the
summary table and the exit code.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from kopnet_iac.cli.context import AppContext, echo_json, pass_app

#: outcome -> exit code (0 only for confirmed / no-change; 1 checks failed or differences
#: planned but not applied; >= 3 errors)
EXIT_CODES = {"confirmed": 0, "no-change": 0, "reverted": 1, "planned": 1, "failed": 3}


def register(group: click.Group) -> None:
    """Add ``kopnet deploy``, ``rollback`` and ``recover`` to the top-level group."""
    group.add_command(deploy)
    group.add_command(rollback)
    group.add_command(recover)


class ProgressPrinter:
    """Renders deploy progress events: on a terminal a live rich table (one row per device:
    its current step, status and detail; village-wide events printed above it), otherwise
    plain lines, one per event (CI logs)."""

    STYLES = {
        "ok": "green",
        "failed": "bold red",
        "start": "yellow",
        "confirmed": "bold green",
        "reverted": "bold yellow",
        "no-change": "green",
        "planned": "cyan",
    }

    def __init__(self, rich: bool, console: Any = None) -> None:
        self.rich = rich
        self.console: Any = console
        self.rows: dict[str, tuple[str, str, str]] = {}
        self.live: Any = None
        if rich and console is None:
            from rich.console import Console

            self.console = Console(stderr=True, highlight=False)

    def __call__(self, event: Any) -> None:
        stamp = time.strftime("%H:%M:%S")
        where = event.host or "village"
        detail = f"  {event.detail}" if event.detail else ""
        if not self.rich:
            click.echo(f"{stamp} {event.step:<13} {where:<22} {event.status}{detail}", err=True)
            return
        from rich.markup import escape

        if event.host is None:
            style = self.STYLES.get(event.status, "")
            status = f"[{style}]{event.status}[/]" if style else event.status
            self._start().console.print(
                f"[dim]{stamp}[/] {event.step:<13} {status}{escape(detail)}"
            )
            return
        self.rows[event.host] = (event.step, event.status, event.detail)
        self._start().update(self._table())

    def _start(self) -> Any:
        if self.live is None:
            from rich.live import Live

            self.live = Live(self._table(), console=self.console, refresh_per_second=8)
            self.live.start()
        return self.live

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        for column in ("device", "step", "status", "detail"):
            table.add_column(column, overflow="fold" if column == "detail" else "ellipsis")
        for host, (step, status, detail) in sorted(self.rows.items()):
            style = self.STYLES.get(status, "")
            table.add_row(host, step, f"[{style}]{status}[/]" if style else status, detail[:100])
        return table

    def pause(self) -> None:
        """Stop the live display (before a prompt, and at the end)."""
        if self.live is not None:
            self.live.stop()
            self.live = None


def _show_plan(report: Any) -> None:
    click.echo(f"plan for {report.village}:", err=True)
    for device in report.devices:
        if device.outcome == "skipped":
            click.echo(f"  {device.hostname}: skipped ({device.error})", err=True)
        elif not device.changed:
            click.echo(f"  {device.hostname}: no change", err=True)
        else:
            click.echo(f"  {device.hostname}: {device.planned_operations} operation(s)", err=True)
            for line in device.diff.rstrip("\n").splitlines():
                click.echo(f"      {line}", err=True)


def _summary(report: Any) -> None:
    title = f"{report.kind} {report.village}: {report.outcome}"
    if report.release:
        title += f" (release {report.release})"
    click.echo(title)
    width = max((len(d.hostname) for d in report.devices), default=8)
    for device in report.devices:
        extra = f"  {device.error}" if device.error else ""
        restored = "" if device.restored is None else f"  restored={device.restored}"
        click.echo(
            f"  {device.hostname:<{width}}  {device.platform:<8} {device.outcome:<10} "
            f"{device.operations:>4} op(s){restored}{extra}"
        )
    failed = report.failed_checks
    if report.checks:
        click.echo(f"  checks: {len(report.checks)}, failed: {len(failed)}")
        for check in failed:
            click.echo(f"    FAIL {check.host}/{check.check}: {check.detail}")
    if report.error:
        click.echo(f"  {report.error}")


_LAB_DIR = click.option(
    "--lab-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Lab directory (with --lab). Env: KOPNET_LAB_DIR. Default: .kopnet/lab",
)
_STATE = click.option(
    "--state",
    "state_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="KOPNET_STATE",
    help="Release store folder. Env: KOPNET_STATE. Default: .kopnet/state",
)


def _transaction_options(func: Any) -> Any:
    """The options ``deploy`` and ``rollback`` share."""
    options = [
        click.option("--dry-run", is_flag=True, help="Plan and show the diffs; change nothing."),
        click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation."),
        click.option("--lab", is_flag=True, help="The running lab's devices of the village."),
        _LAB_DIR,
        click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout."),
        click.option(
            "--revert-in",
            type=click.IntRange(min=30),
            default=300,
            show_default=True,
            metavar="S",
            help="Devices revert by themselves after S seconds unless confirmed.",
        ),
        click.option(
            "--only", multiple=True, metavar="HOST", help="Only these devices (repeatable)."
        ),
        _STATE,
        click.option(
            "--settle",
            type=float,
            default=90.0,
            show_default=True,
            help="Seconds the verification may take to pass (links and BGP need a moment).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _quiet_libraries(app: AppContext) -> None:
    if app.verbose < 2:  # these log a traceback per failed attempt; our messages say it
        for name in ("paramiko", "nornir.core.task", "nornir.core"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def _run(app: AppContext, village: str, run: Any, **flags: Any) -> None:
    """Build the options, run ``run(options)``, render the report, exit with its code."""
    from kopnet_iac.deploy.transaction import DeployOptions
    from kopnet_iac.errors import KopnetError
    from kopnet_iac.lab.control import resolve_lab_dir

    _quiet_libraries(app)
    yes, dry_run, as_json = flags["yes"], flags["dry_run"], flags["as_json"]
    terminal = sys.stdin.isatty() and sys.stderr.isatty()
    if not (yes or dry_run or terminal):
        raise click.UsageError("not a terminal: pass --yes to change devices without asking")

    printer = ProgressPrinter(rich=sys.stderr.isatty() and not as_json)

    def approve(report: Any) -> bool:
        printer.pause()
        _show_plan(report)
        if yes:
            return True
        return click.confirm(f"apply these changes to {report.village}?", err=True)

    options = DeployOptions(
        village=village,
        inventory_dir=app.inventory_dir,
        lab_dir=resolve_lab_dir(flags["lab_dir"]) if flags["lab"] else None,
        revert_in=flags["revert_in"],
        only=flags["only"],
        dry_run=dry_run,
        settle_s=flags["settle"],
        state_dir=flags["state_dir"],
        approve=None if as_json and yes else approve,
        progress=printer,
    )
    try:
        report = run(options)
    except KopnetError as exc:
        printer.pause()
        if exc.step == "select":
            raise click.UsageError(str(exc)) from exc
        click.echo(f"error: {exc}", err=True)
        sys.exit(3)
    printer.pause()
    if dry_run and not as_json:
        _show_plan(report)
    if as_json:
        echo_json(report.to_json())
    else:
        _summary(report)
    sys.exit(EXIT_CODES.get(report.outcome, 3))


@click.command("deploy")
@click.argument("villages", nargs=-1)
@click.option("--all", "all_villages", is_flag=True, help="Every village, in waves.")
@click.option("--canary", type=int, default=1, show_default=True, help="Villages in wave 0.")
@click.option(
    "--batch-growth",
    type=float,
    default=2.0,
    show_default=True,
    metavar="F",
    help="Each wave after the canary is F times the one before.",
)
@click.option(
    "--max-parallel", type=int, default=4, show_default=True, help="Villages deploying at once."
)
@click.option(
    "--max-fail",
    default="0",
    show_default=True,
    metavar="N|P%",
    help="Failed villages tolerated; one more stops the rollout (running ones finish).",
)
@click.option("--resume", metavar="ROLLOUT", help="Deploy what a stopped rollout left undone.")
@_transaction_options
@pass_app
def deploy(
    app: AppContext,
    /,
    villages: tuple[str, ...],
    all_villages: bool,
    canary: int,
    batch_growth: float,
    max_parallel: int,
    max_fail: str,
    resume: str | None,
    **flags: Any,
) -> None:
    """Deploy VILLAGE's rendered configs to all its devices as one transaction; with several
    villages, --all or --resume, roll the fleet out in waves.

    \b
    Reads every device, plans every change and shows it (secrets masked), asks (unless --yes),
    arms every device's own revert, applies farthest-from-the-NOC first, verifies the whole
    village, then confirms every device, or reverts every device when a check fails.
    A release left in doubt by an earlier run is first resolved by reading the devices.
    Exit: 0 confirmed or no change, 1 checks failed (reverted) or changes only planned,
    2 usage, 3 errors (nothing half-applied).

    \b
    Rollout: --canary villages first, then waves growing by --batch-growth, at most
    --max-parallel villages at once; when more than --max-fail villages failed, no new
    village starts. Recorded in the release store; --resume ROLLOUT deploys the villages
    that did not succeed. --dry-run plans every village and groups the devices by distinct
    change. Exit: 0 every village confirmed or no change, 1 some failed or not started.
    """
    context = click.get_current_context()
    waves_asked = any(
        context.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)
        for name in ("canary", "batch_growth", "max_parallel", "max_fail")
    )
    fleet = all_villages or resume is not None or len(villages) != 1 or waves_asked
    if not fleet:
        from kopnet_iac.deploy.transaction import deploy_village

        _run(app, villages[0], deploy_village, **flags)
        return
    from kopnet_iac.cli.fleet_cmds import fleet_deploy
    from kopnet_iac.deploy.transaction import DeployOptions
    from kopnet_iac.errors import KopnetError
    from kopnet_iac.lab.control import resolve_lab_dir

    if resume is not None and (villages or all_villages):
        raise click.UsageError("--resume ROLLOUT takes no VILLAGE and no --all")
    if resume is None and all_villages == bool(villages):
        raise click.UsageError("give VILLAGE names or --all (not both)")
    if flags["only"]:
        raise click.UsageError("--only names devices of one village; not with a rollout")
    if max_parallel < 1:
        raise click.UsageError(f"--max-parallel {max_parallel}: at least 1")
    chosen: list[str] = []
    if resume is None:
        from kopnet_iac.fleet.reading import check_villages
        from kopnet_iac.inventory.loader import load_inventory

        try:
            inv = load_inventory(app.inventory_dir)
            chosen = check_villages(inv, sorted(inv.villages) if all_villages else list(villages))
        except KopnetError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(3)
    template = DeployOptions(
        village="",
        inventory_dir=app.inventory_dir,
        lab_dir=resolve_lab_dir(flags["lab_dir"]) if flags["lab"] else None,
        revert_in=flags["revert_in"],
        dry_run=flags["dry_run"],
        settle_s=flags["settle"],
        state_dir=flags["state_dir"],
    )
    fleet_deploy(
        app,
        chosen,
        resume=resume,
        canary=canary,
        growth=batch_growth,
        max_parallel=max_parallel,
        max_fail=max_fail,
        template=template,
        as_json=flags["as_json"],
        yes=flags["yes"],
    )


@click.command("rollback")
@click.argument("village")
@click.option("--to", "to", metavar="RELEASE", help="Release id (default: the previous good one).")
@_transaction_options
@pass_app
def rollback(app: AppContext, /, village: str, to: str | None, **flags: Any) -> None:
    """Deploy the stored intended configs of an earlier release of VILLAGE, through the same
    transaction as deploy (plan, arm, apply, verify, confirm or revert).

    \b
    Default target: the newest successful release whose configs differ from the last one.
    Exit codes as for deploy.
    """
    from kopnet_iac.deploy.transaction import rollback_village

    _run(app, village, lambda options: rollback_village(options, to), **flags)


@click.command("recover")
@click.argument("village")
@click.option("--lab", is_flag=True, help="The running lab's devices of the village.")
@_LAB_DIR
@_STATE
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@pass_app
def recover(
    app: AppContext,
    village: str,
    lab: bool,
    lab_dir: Path | None,
    state_dir: Path | None,
    as_json: bool,
) -> None:
    """Resolve VILLAGE's releases left in doubt by a controller that stopped mid-deploy.

    \b
    Reads the devices (revert still armed? running the release's configs?), carries out a
    revert that is still armed, and records what really happened; never re-applies anything.
    Exit: 0 resolved (or nothing in doubt), 1 still in doubt or the village is split, 3 errors.
    """
    from kopnet_iac.deploy.transaction import recover_village
    from kopnet_iac.errors import KopnetError
    from kopnet_iac.lab.control import resolve_lab_dir

    _quiet_libraries(app)
    printer = ProgressPrinter(rich=sys.stderr.isatty() and not as_json)
    try:
        resolved = recover_village(
            app.inventory_dir,
            village,
            lab_dir=resolve_lab_dir(lab_dir) if lab else None,
            state_dir=state_dir,
            progress=printer,
        )
    except KopnetError as exc:
        printer.pause()
        click.echo(f"error: {exc}", err=True)
        sys.exit(3)
    printer.pause()
    if as_json:
        echo_json({"village": village, "releases": [r.to_json() for r in resolved]})
    else:
        if not resolved:
            click.echo(f"{village}: no release in doubt")
        for release in resolved:
            click.echo(f"{release.release}: {release.outcome}: {release.error}")
            for device in release.devices:
                extra = f" ({device.error})" if device.error else ""
                click.echo(f"  {device.hostname}: {device.state}, {device.action}{extra}")
    unresolved = any(r.outcome in ("in-doubt", "failed") for r in resolved)
    sys.exit(1 if unresolved else 0)
