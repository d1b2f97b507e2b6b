"""Gateway commands: ``kopnet verify`` (read-only checks of a village)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from kopnet_iac.cli.context import AppContext, cli_errors, echo_json, pass_app


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    _register_verify(group)


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
        dns, forwarding. RouterOS and airOS devices are not covered yet.
        """
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
    from kopnet_iac.errors import KopnetError
    from kopnet_iac.inventory.loader import load_inventory
    from kopnet_iac.inventory.secrets import resolve_secret
    from kopnet_iac.lab.control import resolve_lab_dir
    from kopnet_iac.platforms.linux.checks import gateway_check_context, run_gateway_checks
    from kopnet_iac.platforms.linux.gateway import connection
    from kopnet_iac.platforms.linux.sshrun import SshTarget

    inv = load_inventory(inventory_dir)
    if village_id not in inv.villages:
        known = ", ".join(sorted(inv.villages))
        raise KopnetError(f"unknown village {village_id!r} (known: {known})")
    village = inv.village(village_id)
    devices: list[dict[str, Any]] = []
    for device in village.devices:
        platform = inv.hardware_of(device).platform
        row: dict[str, Any] = {
            "hostname": device.hostname,
            "role": device.role,
            "platform": platform,
            "covered": False,
            "checks": [],
        }
        if device.role == "gateway" and platform == "linux":
            conn = connection(inv, village_id, resolve_lab_dir(lab_dir) if lab else None)
            password = conn.password if conn.lab else resolve_secret(inv, conn.credentials)
            target = SshTarget(
                host=conn.host,
                port=conn.port,
                username=conn.username,
                password=password,
                key_file=conn.key_file,
                hostname=conn.hostname,
                village=village_id,
            )
            results = run_gateway_checks(target, gateway_check_context(inv, village_id))
            row.update(covered=True, host=conn.host, checks=[r.to_json() for r in results])
        devices.append(row)
    checks = [c for d in devices for c in d["checks"]]
    return {
        "village": village_id,
        "lab": lab,
        "ok": all(c["ok"] for c in checks),
        "checks": len(checks),
        "failed": sum(1 for c in checks if not c["ok"]),
        "devices": devices,
    }


def _print_verify(report: dict[str, Any]) -> None:
    where = " (lab)" if report["lab"] else ""
    click.echo(f"verify {report['village']}{where}")
    for device in report["devices"]:
        if not device["covered"]:
            click.echo(f"  {device['hostname']} ({device['platform']}): not covered yet")
            continue
        click.echo(f"  {device['hostname']} ({device['platform']}, {device['host']})")
        width = max(len(c["name"]) for c in device["checks"])
        for check in device["checks"]:
            mark = "PASS" if check["ok"] else "FAIL"
            click.echo(f"    {mark}  {check['name']:<{width}}  {check['detail']}")
    click.echo(f"{report['checks']} check(s), {report['failed']} failed")
