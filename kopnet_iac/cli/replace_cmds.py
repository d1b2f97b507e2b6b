"""``kopnet replace`` and ``kopnet bundle``: replaced hardware, online or offline
(see kopnet_iac.replace). Only rendering, prompts and exit codes live here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from kopnet_iac.cli.context import AppContext, echo_json, pass_app
from kopnet_iac.cli.deploy_cmds import ProgressPrinter, _quiet_libraries, _show_plan


def register(group: click.Group) -> None:
    """Add ``kopnet replace`` and ``kopnet bundle`` to the top-level group."""
    group.add_command(replace)
    group.add_command(bundle)


def _summary(report: Any) -> None:
    probe = report.probe
    if probe:
        click.echo(
            f"found {report.hostname}: {probe.get('state')}, {probe.get('model') or '?'}, "
            f"serial {probe.get('serial') or '?'}"
            + (f", MAC {probe['mac']}" if probe.get("mac") else "")
        )
    if report.bootstrapped:
        click.echo("day-0 bootstrap applied; reachable on its management address")
    title = f"replace {report.village}/{report.hostname}: {report.outcome}"
    if report.release:
        title += f" (release {report.release})"
    click.echo(title)
    failed = [c for c in report.checks if not c["ok"]]
    if report.checks:
        click.echo(f"  checks: {len(report.checks)}, failed: {len(failed)}")
        for check in failed:
            click.echo(f"    FAIL {check['host']}/{check['check']}: {check['detail']}")
    if report.inventory_diff:
        click.echo("inventory edit:")
        click.echo(report.inventory_diff.rstrip("\n"))
    elif report.ok:
        click.echo("inventory: serial already recorded")
    if report.error:
        click.echo(f"  {report.error}")


@click.command("replace")
@click.argument("village")
@click.argument("hostname")
@click.option("--serial", help="Serial on the new device's label (checked against the device).")
@click.option("--address", metavar="FACTORY_IP", help="Where the fresh device answers.")
@click.option(
    "--password",
    envvar="KOPNET_FACTORY_PASSWORD",
    help="Factory password printed on the label (RouterOS). Env: KOPNET_FACTORY_PASSWORD.",
)
@click.option("--lab", is_flag=True, help="The running lab's device.")
@click.option(
    "--lab-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Lab directory (with --lab). Env: KOPNET_LAB_DIR.",
)
@click.option("--force", is_flag=True, help="Accept another model or serial than expected.")
@click.option("--wipe", is_flag=True, help="Erase a device that is not factory-fresh.")
@click.option("--verify-only", is_flag=True, help="Only check the device against the release.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before deploying.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.option(
    "--revert-in",
    type=click.IntRange(min=30),
    default=300,
    show_default=True,
    metavar="S",
    help="The device reverts by itself after S seconds unless confirmed.",
)
@click.option(
    "--boot-timeout",
    type=float,
    default=180.0,
    show_default=True,
    metavar="S",
    help="Seconds the device may take to come back after the day-0 reset.",
)
@click.option(
    "--settle",
    type=float,
    default=90.0,
    show_default=True,
    help="Seconds the verification may take to pass (a radio link needs a moment).",
)
@click.option(
    "--state",
    "state_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="KOPNET_STATE",
    help="Release store folder. Env: KOPNET_STATE.",
)
@pass_app
def replace(app: AppContext, /, village: str, hostname: str, **flags: Any) -> None:
    """Bring a factory-fresh replacement of HOSTNAME to the village's current release.

    \b
    Finds the device at its factory address (RouterOS 192.168.88.1, admin with an empty or
    label password; airOS 192.168.1.20, ubnt/ubnt), refuses a wrong model or a configured
    device (--wipe erases it), applies the day-0 bootstrap (identity, management VLAN and
    address, NOC account, SSH key, hardened services), reconnects on the management address,
    deploys the full configuration of the last successful release with its revert armed,
    verifies (its radio peer included), confirms, and records the new serial in the village
    file (diff shown) and the replacement in the release store. Safe to run again after any
    interruption. Exit: 0 replaced, 1 checks failed, 2 usage, 3 errors.
    """
    from kopnet_iac.errors import KopnetError
    from kopnet_iac.lab.control import resolve_lab_dir
    from kopnet_iac.replace.flow import ReplaceOptions, replace_device

    _quiet_libraries(app)
    as_json, yes = flags["as_json"], flags["yes"]
    terminal = sys.stdin.isatty() and sys.stderr.isatty()
    if not (yes or flags["verify_only"] or terminal):
        raise click.UsageError("not a terminal: pass --yes to configure the device")
    printer = ProgressPrinter(rich=sys.stderr.isatty() and not as_json)

    def approve(report: Any) -> bool:
        printer.pause()
        _show_plan(report)
        return yes or click.confirm(f"deploy this to {hostname}?", err=True)

    options = ReplaceOptions(
        village=village,
        hostname=hostname,
        inventory_dir=app.inventory_dir,
        lab_dir=resolve_lab_dir(flags["lab_dir"]) if flags["lab"] else None,
        serial=flags["serial"],
        address=flags["address"],
        password=flags["password"],
        force=flags["force"],
        wipe=flags["wipe"],
        verify_only=flags["verify_only"],
        state_dir=flags["state_dir"],
        revert_in=flags["revert_in"],
        boot_timeout=flags["boot_timeout"],
        settle_s=flags["settle"],
        approve=None if yes else approve,
        progress=printer,
    )
    try:
        report = replace_device(options)
    except KopnetError as exc:
        printer.pause()
        if exc.step == "select":
            raise click.UsageError(str(exc)) from exc
        click.echo(f"error: {exc}", err=True)
        sys.exit(3)
    printer.pause()
    if as_json:
        echo_json(report.to_json())
    else:
        _summary(report)
    if report.ok:
        sys.exit(0)
    # checks failed (reverted, or a converged device failing them) or only planned: 1
    sys.exit(1 if report.outcome in ("reverted", "planned", "confirmed", "no-change") else 3)


@click.command("bundle")
@click.argument("village")
@click.argument("hostname")
@click.option(
    "--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder."
)
@click.option(
    "--vault-password-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Put the secrets into an ansible-vault archive with this password (else placeholders).",
)
@click.option(
    "--state",
    "state_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="KOPNET_STATE",
    help="Release store folder. Env: KOPNET_STATE.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@pass_app
def bundle(
    app: AppContext,
    /,
    village: str,
    hostname: str,
    out: Path,
    vault_password_file: Path | None,
    state_dir: Path | None,
    as_json: bool,
) -> None:
    """Write the offline replacement bundle of HOSTNAME into --out: the full configuration of
    the current release (RouterOS: netinstall and run-after-reset scripts; airOS: system.cfg),
    README (English, Bahasa Indonesia), SHA256SUMS; secrets in a vault or as placeholders."""
    from kopnet_iac.errors import KopnetError
    from kopnet_iac.replace.offline import make_bundle

    try:
        password = (
            vault_password_file.read_text(encoding="utf-8").strip()
            if vault_password_file is not None
            else None
        )
        result, release = make_bundle(
            app.inventory_dir, village, hostname, out, state_dir=state_dir, vault_password=password
        )
    except KopnetError as exc:
        if exc.step == "select":
            raise click.UsageError(str(exc)) from exc
        click.echo(f"error: {exc}", err=True)
        sys.exit(3)
    if as_json:
        echo_json(
            {
                "directory": str(result.directory),
                "files": result.files,
                "secrets": result.secrets,
                "vault": result.vault,
                "release": release,
            }
        )
        return
    source = f"release {release}" if release else "working tree (never deployed)"
    click.echo(f"bundle for {village}/{hostname} from {source} in {result.directory}:")
    for name, digest in sorted(result.files.items()):
        click.echo(f"  {name}  sha256 {digest[:16]}...")
    if result.secrets and not result.vault:
        click.echo(f"  secrets left as placeholders: {', '.join(result.secrets)} (see README)")
