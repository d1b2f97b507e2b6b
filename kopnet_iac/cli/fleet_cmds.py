"""``kopnet backup`` and ``kopnet drift`` (fleet reads), and the rendering of a fleet
``kopnet deploy`` (rollout in waves, fleet dry run); the work is in :mod:`kopnet_iac.fleet`.

Exit codes: 0 success / nothing differs; 1 drift found (``drift --exit-code``), a rollout with
a failed village, or changes only planned; 2 usage; 3 errors (unknown village, unreachable
device), 4 damaged state or backup repository (nothing written).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from kopnet_iac.cli.context import EXIT_DIFFERENT, EXIT_ERROR, AppContext, echo_json, pass_app
from kopnet_iac.cli.progress import FleetProgress, wanted
from kopnet_iac.errors import KopnetError

_STATE = click.option(
    "--state",
    "state_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="KOPNET_STATE",
    help="State folder (release store, backups/). Env: KOPNET_STATE. Default: .kopnet/state",
)


def _fleet_options(func: Any) -> Any:
    options = [
        click.argument("villages", nargs=-1),
        click.option("--all", "all_villages", is_flag=True, help="Every village of the fleet."),
        click.option("--lab", is_flag=True, help="The running lab's devices."),
        click.option(
            "--lab-dir",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Lab directory (with --lab). Env: KOPNET_LAB_DIR. Default: .kopnet/lab",
        ),
        _STATE,
        click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _select(app: AppContext, villages: tuple[str, ...], all_villages: bool) -> list[str]:
    if all_villages == bool(villages):
        raise click.UsageError("give VILLAGE names or --all (not both)")
    from kopnet_iac.fleet.reading import check_villages
    from kopnet_iac.inventory.loader import load_inventory

    inv = load_inventory(app.inventory_dir)
    return check_villages(inv, sorted(inv.villages) if all_villages else list(villages))


def _device_count(app: AppContext, villages: list[str]) -> int:
    from kopnet_iac.inventory.loader import load_inventory

    inv = load_inventory(app.inventory_dir)
    return sum(len(inv.village(v).devices) for v in villages)


def _lab_dir(lab: bool, lab_dir: Path | None) -> Path | None:
    from kopnet_iac.lab.control import resolve_lab_dir

    return resolve_lab_dir(lab_dir) if lab else None


#: a damaged release store or backup repository (as ``kopnet history`` and ``show``)
EXIT_DAMAGED = 4


def _fail(exc: KopnetError) -> None:
    from kopnet_iac.fleet.backup import BackupError
    from kopnet_iac.state import StateCorruptError

    click.echo(f"error: {exc}", err=True)
    damaged = isinstance(exc, StateCorruptError | BackupError)
    sys.exit(EXIT_DAMAGED if damaged else EXIT_ERROR)


def _quiet() -> None:
    import logging

    for name in ("paramiko", "nornir.core.task", "nornir.core"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


@click.command("backup")
@_fleet_options
@pass_app
def backup(
    app: AppContext,
    /,
    villages: tuple[str, ...],
    all_villages: bool,
    lab: bool,
    lab_dir: Path | None,
    state_dir: Path | None,
    as_json: bool,
) -> None:
    """Back up the running configuration of every device of VILLAGE... (or --all) into a git
    history in the state folder (STATE/backups, one file per device, one commit per run that
    changed something): `git -C STATE/backups log -p VILLAGE/HOST.rsc` shows what changed
    when. Volatile lines are left out and secrets masked. A gateway's managed files go to
    STATE/backups/VILLAGE/HOST/ (their paths on the gateway).

    \b
    Devices that cannot be reached are reported; the others are backed up.
    Exit: 0 every device backed up, 3 some device unreachable or an error (unknown village),
    4 the backup repository or state is damaged (nothing written).
    """
    from kopnet_iac.fleet.backup import backup_villages

    _quiet()
    try:
        chosen = _select(app, villages, all_villages)
        with FleetProgress(_device_count(app, chosen), "backup", wanted(as_json)) as bar:
            report = backup_villages(
                app.inventory_dir,
                chosen,
                state_dir=state_dir,
                lab_dir=_lab_dir(lab, lab_dir),
                progress=bar.advance,
            )
    except KopnetError as exc:
        _fail(exc)
        return
    if as_json:
        echo_json(report.to_json())
    else:
        width = max((len(d.village) + len(d.hostname) + 1 for d in report.devices), default=8)
        for device in report.devices:
            extra = f"  {device.error}" if device.error else ""
            name = f"{device.village}/{device.hostname}"
            click.echo(f"  {name:<{width}}  {device.status:<11}{extra}")
        first = report.message.splitlines()[0] if report.message else ""
        commit = report.commit[:12] if report.commit else "no commit (nothing changed)"
        click.echo(f"{first}\n{report.repository}: {commit}")
    sys.exit(EXIT_ERROR if report.unreachable else 0)


@click.command("drift")
@_fleet_options
@click.option("--exit-code", is_flag=True, help="Exit 1 when a device has drifted.")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the fleet compliance page (one self-contained HTML file) here.",
)
@pass_app
def drift(
    app: AppContext,
    /,
    villages: tuple[str, ...],
    all_villages: bool,
    lab: bool,
    lab_dir: Path | None,
    state_dir: Path | None,
    as_json: bool,
    exit_code: bool,
    html_file: Path | None,
) -> None:
    """Compare every device of VILLAGE... (or --all) with its village's last confirmed
    release: compliant, drifted (with the plan that restores it), unreachable, or never
    deployed; villages worst first. Nothing is changed on any device.

    \b
    Exit: 0 no drift (or drift without --exit-code), 1 drift found with --exit-code,
    3 some device unreachable or an error (unknown village), 4 damaged state.
    """
    from kopnet_iac.fleet.drift import drift_villages

    _quiet()
    try:
        chosen = _select(app, villages, all_villages)
        with FleetProgress(_device_count(app, chosen), "drift", wanted(as_json)) as bar:
            report = drift_villages(
                app.inventory_dir,
                chosen,
                state_dir=state_dir,
                lab_dir=_lab_dir(lab, lab_dir),
                progress=bar.advance,
            )
        if html_file is not None:
            from kopnet_iac.report.compliance import render_compliance_page

            render_compliance_page(report.page_rows(), html_file)
    except KopnetError as exc:
        _fail(exc)
        return
    if as_json:
        echo_json(report.to_json())
    else:
        _print_drift(report)
        if html_file is not None:
            click.echo(f"compliance page: {html_file}")
    counts = report.counts()
    if counts.get("unreachable"):
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_DIFFERENT if exit_code and counts.get("drifted") else 0)


def _print_drift(report: Any) -> None:
    rows = {(d.village, d.hostname): d for d in report.devices}
    for village, counts in report.villages():
        summary = ", ".join(f"{n} {s}" for s, n in counts.items())
        click.echo(f"{village}: {summary}")
        for (v, _), device in sorted(rows.items()):
            if v != village:
                continue
            note = f" (release {device.release})" if device.status == "drifted" else ""
            error = f"  {device.error}" if device.error else ""
            click.echo(f"  {device.hostname:<24} {device.status}{note}{error}")
            if device.status == "drifted":
                for line in device.plan.rstrip("\n").splitlines():
                    click.echo(f"      {line}")
    total = ", ".join(f"{n} {s}" for s, n in report.counts().items())
    click.echo(f"fleet: {len(report.devices)} device(s): {total}")


# --------------------------------------------------------------------------- fleet deploy


def fleet_deploy(
    app: AppContext,
    villages: list[str],
    *,
    resume: str | None,
    canary: int,
    growth: float,
    max_parallel: int,
    max_fail: str,
    template: Any,
    as_json: bool,
    yes: bool,
) -> None:
    """``kopnet deploy --all | VILLAGE...`` (more than one, or wave options): a dry run of the
    fleet grouped by distinct change, or a rollout in waves; exits with its code."""
    from kopnet_iac.fleet.rollout import RolloutOptions, resume_rollout, start_rollout
    from kopnet_iac.fleet.waves import RolloutUsageError, parse_max_fail, plan_waves

    _quiet()
    try:
        if template.dry_run:
            _fleet_dry_run(villages, template, max_parallel, as_json)
            return
        terminal = sys.stdin.isatty() and sys.stderr.isatty()
        if resume is None:
            limit = parse_max_fail(max_fail, len(villages))
            waves = plan_waves(villages, canary=canary, growth=growth)
            if not yes:
                if not terminal:
                    raise click.UsageError("not a terminal: pass --yes to change devices")
                for index, wave in enumerate(waves):
                    click.echo(f"wave {index}: {', '.join(wave)}", err=True)
                if not click.confirm(
                    f"roll out to {len(villages)} village(s), stop after {limit + 1} failure(s)?",
                    err=True,
                ):
                    sys.exit(EXIT_DIFFERENT)
        elif not yes:
            if not terminal:
                raise click.UsageError("not a terminal: pass --yes to change devices")
            if not click.confirm(f"resume rollout {resume}?", err=True):
                sys.exit(EXIT_DIFFERENT)
        total = len(villages)
        if resume is not None:
            from kopnet_iac.state import ReleaseStore

            with ReleaseStore.open(template.state_dir, create=False) as store:
                total = sum(len(w) for w in store.get_rollout(resume).pending())
        with FleetProgress(total, "deploy", wanted(as_json), unit="village") as bar:

            def progress(village: str, status: str, detail: str) -> None:
                if status not in ("start", "stopped"):
                    bar.advance(village, status in ("confirmed", "no-change"))
                elif status == "stopped" and not as_json:
                    click.echo(f"rollout stopped after {village}: {detail}", err=True)

            if resume is not None:
                report = resume_rollout(resume, template, progress=progress)
            else:
                options = RolloutOptions(canary, growth, max_parallel, limit, template)
                report = start_rollout(villages, options, known=villages, progress=progress)
    except RolloutUsageError as exc:
        raise click.UsageError(exc.message) from exc
    except KopnetError as exc:
        _fail(exc)
        return
    if as_json:
        echo_json(report.to_json())
    else:
        _print_rollout(report)
    sys.exit(0 if report.outcome == "complete" else EXIT_DIFFERENT)


def _print_rollout(report: Any) -> None:
    click.echo(f"rollout {report.rollout}: {report.outcome}")
    width = max((len(v.village) for v in report.villages), default=8)
    for v in report.villages:
        release = f"  release {v.release}" if v.release else ""
        error = f"  {v.error}" if v.error and not v.ok else ""
        click.echo(f"  wave {v.wave}  {v.village:<{width}}  {v.status:<11}{release}{error}")
    counts = ", ".join(f"{n} {s}" for s, n in sorted(report.counts().items()))
    click.echo(f"  {counts}; failures allowed: {report.max_fail}")
    if report.outcome != "complete":
        click.echo(f"  resume with: kopnet deploy --resume {report.rollout}")


def _fleet_dry_run(villages: list[str], template: Any, max_parallel: int, as_json: bool) -> None:
    from kopnet_iac.fleet.preview import preview_fleet

    with FleetProgress(len(villages), "plan", wanted(as_json), unit="village") as bar:
        preview = preview_fleet(villages, template, max_parallel=max_parallel, progress=bar.advance)
    if as_json:
        echo_json(preview.to_json())
    else:
        changed = sum(1 for r in preview.reports for d in r.devices if d.changed)
        click.echo(
            f"dry run of {len(villages)} village(s): {changed} device(s) to change in "
            f"{len(preview.groups)} distinct change(s)"
        )
        for index, group in enumerate(preview.groups, start=1):
            names = ", ".join("/".join(m) for m in group.members[:40])
            more = f", and {group.count - 40} more" if group.count > 40 else ""
            click.echo(f"\n#{index}: {group.count} device(s): {names}{more}")
            click.echo(f"  as on {'/'.join(group.representative)}:")
            for line in preview.diff_of(*group.representative).rstrip("\n").splitlines():
                click.echo(f"      {line}")
        for village, error in preview.errors.items():
            click.echo(f"\n{village}: not planned: {error}")
    if preview.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_DIFFERENT if preview.changed else 0)


def register(group: click.Group) -> None:
    """Add ``kopnet backup`` and ``kopnet drift``."""
    group.add_command(backup)
    group.add_command(drift)
