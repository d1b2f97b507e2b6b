"""Gateway commands: ``kopnet verify`` (read-only checks of a village), ``kopnet gateway apply``
and ``kopnet ansible-inventory``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from kopnet_iac.cli.context import AppContext, cli_errors, echo_json, pass_app
from kopnet_iac.errors import KopnetError


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    _register_verify(group)
    _register_gateway(group)


# --------------------------------------------------------------------------- kopnet verify


def _register_verify(group: click.Group) -> None:
    @group.command("verify")
    @click.argument("village")
    @click.option("--lab", is_flag=True, help="Check the running lab's devices of the village.")
    @click.option(
        "--lab-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Lab directory (with --lab). Env: KOPNET_LAB_DIR. Default: .kopnet/lab",
    )
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @pass_app
    def verify(
        app: AppContext, village: str, lab: bool, lab_dir: Path | None, as_json: bool
    ) -> None:
        """Run the read-only checks of VILLAGE's devices; exit 1 when a check fails.

        \b
        Gateway: bgp-established (or static-default for VSAT), default-route, nat-rules,
        dns, forwarding. RouterOS and airOS devices: the role checks of
        kopnet_iac/deploy/checks.yaml through the drivers' getters (converged, management,
        upstream-ping, interfaces-up, pppoe-server, hotspot, radio-link on both PtP ends).
        """
        if app.verbose < 2:  # paramiko logs a traceback per failed attempt; our message says it
            logging.getLogger("paramiko").setLevel(logging.CRITICAL)
        with cli_errors():
            report = _verify_village(app.inventory_dir, village, lab, lab_dir)
        if as_json:
            echo_json(report)
        else:
            _print_verify(report)
        if not report["ok"]:
            sys.exit(1)


def _verify_village(
    inventory_dir: Path, village_id: str, lab: bool, lab_dir: Path | None
) -> dict[str, Any]:
    from kopnet_iac.deploy.checking import verify_village
    from kopnet_iac.lab.control import resolve_lab_dir

    directory = resolve_lab_dir(lab_dir) if lab else None
    return verify_village(inventory_dir, village_id, lab_dir=directory).to_json()


def _print_verify(report: dict[str, Any]) -> None:
    where = " (lab)" if report["lab"] else ""
    click.echo(f"verify {report['village']}{where}")
    for device in report["devices"]:
        if not device["covered"]:
            reason = device.get("reason") or "not covered"
            click.echo(f"  {device['hostname']} ({device['platform']}): {reason}")
            continue
        click.echo(f"  {device['hostname']} ({device['platform']}, {device['host']})")
        width = max(len(c["name"]) for c in device["checks"])
        for check in device["checks"]:
            mark = "SKIP" if check.get("skipped") else "PASS" if check["ok"] else "FAIL"
            click.echo(f"    {mark}  {check['name']:<{width}}  {check['detail']}")
    click.echo(f"{report['checks']} check(s), {report['failed']} failed")


# --------------------------------------------------------------------------- kopnet gateway apply


def _lab_dir_option(func: Any) -> Any:
    return click.option(
        "--lab-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Lab directory (with --lab). Env: KOPNET_LAB_DIR. Default: .kopnet/lab",
    )(func)


def _register_gateway(group: click.Group) -> None:
    @group.group("gateway")
    def gateway() -> None:
        """Linux gateways, configured with Ansible (roles/gateway, playbooks/gateway.yml)."""

    @gateway.command("apply")
    @click.argument("village")
    @click.option("--check", is_flag=True, help="Plan only: show the diffs Ansible would apply.")
    @click.option("--lab", is_flag=True, help="Apply to the running lab's gateway.")
    @_lab_dir_option
    @click.option(
        "--workdir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Keep rendered files, snapshot and Ansible artifacts here "
        "(default: a new folder in the state directory, runs/VILLAGE/<time>-<suffix>).",
    )
    @click.option(
        "--settle",
        type=float,
        default=45.0,
        show_default=True,
        help="Seconds the checks may take to pass (BGP needs a moment).",
    )
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @pass_app
    def apply(
        app: AppContext,
        village: str,
        check: bool,
        lab: bool,
        lab_dir: Path | None,
        workdir: Path | None,
        settle: float,
        as_json: bool,
    ) -> None:
        """Configure VILLAGE's gateway with Ansible, run the gateway checks, and re-apply the
        previous configuration when a check fails. Exit 1 on failure.

        \b
        kopnet gateway apply sukadana --lab --check   what would change (diffs)
        kopnet gateway apply sukadana --lab           apply, verify, roll back on failure
        """
        from kopnet_iac.inventory.loader import load_inventory
        from kopnet_iac.lab.control import resolve_lab_dir
        from kopnet_iac.platforms.linux.ansible import new_run_folder
        from kopnet_iac.platforms.linux.apply import apply_gateway
        from kopnet_iac.state.database import default_state_dir

        with cli_errors():
            inv = load_inventory(app.inventory_dir)
            if village not in inv.villages:
                known = ", ".join(sorted(inv.villages))
                raise KopnetError(f"unknown village {village!r} (known: {known})")
            directory = workdir or new_run_folder(default_state_dir() / "runs" / village)
            report = apply_gateway(
                inv,
                village,
                lab_dir=resolve_lab_dir(lab_dir) if lab else None,
                workdir=directory.absolute(),
                check=check,
                settle_s=settle,
            )
        if as_json:
            echo_json(report.to_json())
        else:
            _print_apply(report)
        if not report.ok:
            sys.exit(1)

    @group.command("ansible-inventory")
    @click.option("--lab", is_flag=True, help="The running lab's gateways.")
    @_lab_dir_option
    @click.option("--list", "list_", is_flag=True, help="Accepted for Ansible (the default).")
    @click.option("--host", default=None, help="Variables of one host (Ansible's --host).")
    @click.option(
        "--static",
        is_flag=True,
        help="YAML-inventory structure instead (save as .json, use with ansible-playbook -i).",
    )
    @pass_app
    def ansible_inventory_cmd(
        app: AppContext,
        lab: bool,
        lab_dir: Path | None,
        list_: bool,
        host: str | None,
        static: bool,
    ) -> None:
        """Print Ansible's JSON inventory of the gateways (usable as a dynamic inventory).

        \b
        Passwords are not printed: ansible_password is a lookup resolved at connection time.
        As a dynamic inventory: ansible-playbook -i playbooks/inventory/kopnet-inventory.sh
        (KOPNET_LAB=1 for the lab), or the plugin config playbooks/inventory/kopnet.yml, or
        kopnet ansible-inventory --lab --static > lab.json; ansible-playbook -i lab.json ...
        """
        import os

        from kopnet_iac.inventory.loader import load_inventory
        from kopnet_iac.lab.control import resolve_lab_dir
        from kopnet_iac.platforms.linux.inventory import (
            ansible_inventory,
            gateway_hosts,
            runner_inventory,
        )

        use_lab = lab or os.environ.get("KOPNET_LAB", "") in ("1", "true", "yes")
        with cli_errors():
            inv = load_inventory(app.inventory_dir)
            directory = resolve_lab_dir(lab_dir) if use_lab else None
            if static:
                echo_json(runner_inventory(gateway_hosts(inv, None, directory)))
                return
            data = ansible_inventory(inv, None, directory)
        if host is not None:
            echo_json(data["_meta"]["hostvars"].get(host, {}))
        else:
            echo_json(data)


def _print_apply(report: Any) -> None:
    mode = "plan (check mode)" if report.check_mode else "apply"
    click.echo(f"gateway {mode}: {report.village}/{report.host} ({report.address})")
    for task in report.tasks:
        if task.status == "skipped":
            continue
        label = f"{'handler: ' if task.handler else ''}{task.task}"
        click.echo(f"  {task.status:<11} {label}")
        if task.message:
            for line in task.message.splitlines()[:8]:
                click.echo(f"              {line}")
        if task.diff and report.check_mode:
            for line in task.diff.rstrip("\n").splitlines():
                click.echo(f"      {line}")
    changed = len(report.changed)
    click.echo(f"{changed} change(s)" + (" would be made" if report.check_mode else ""))
    for check in report.checks:
        mark = "PASS" if check.ok else "FAIL"
        click.echo(f"  {mark}  {check.name}  {check.detail}")
    if report.error:
        click.echo(f"error: {report.error}", err=True)
    if report.rolled_back:
        outcome = "ok" if report.rollback_ok else "FAILED"
        click.echo(f"rollback {outcome}: {report.rollback_detail}")
    elif report.rollback_detail:
        click.echo(report.rollback_detail)
        for check in report.rollback_checks:
            mark = "PASS" if check.ok else "FAIL"
            click.echo(f"  {mark}  {check.name}  {check.detail}")
