"""Apply a village gateway's configuration with Ansible, verify it, roll back on failure.

Steps (``apply_gateway``):

1. render the gateway's files with KopNet's renderer into ``workdir/rendered`` (what is applied
   is exactly what ``kopnet render`` shows);
2. snapshot the files active on the gateway (``gateway-snapshot.yml``) into ``workdir/snapshot``;
3. run ``gateway.yml`` with the rendered files (``--check --diff`` for a plan);
4. run the gateway checks until they pass or ``settle_s`` runs out;
5. when the playbook or a check failed: re-apply the snapshot with the same playbook and check
   again, reporting the rollback outcome.

Inside a deploy transaction the caller owns the revert (``transaction.arm_revert`` armed a
timer on the gateway before): ``rollback=False`` skips steps 2 and 5, ``verify=False`` step 4,
so the apply only moves the files and activates them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kopnet_iac.errors import SecretError
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.platforms.linux.ansible import PlaybookRun, TaskResult, run_playbook
from kopnet_iac.platforms.linux.checks import (
    CheckResult,
    gateway_check_context,
    run_gateway_checks,
)
from kopnet_iac.platforms.linux.files import mask_secrets, rendered_files, write_files
from kopnet_iac.platforms.linux.gateway import GatewayConnection, connection
from kopnet_iac.platforms.linux.inventory import gateway_hosts, runner_inventory
from kopnet_iac.platforms.linux.sshrun import SshTarget

log = logging.getLogger(__name__)

Checker = Callable[[], list[CheckResult]]


@dataclass
class ApplyReport:
    """What ``kopnet gateway apply`` did for one gateway."""

    village: str
    host: str
    address: str
    check_mode: bool
    tasks: list[TaskResult] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    error: str = ""
    rolled_back: bool = False
    rollback_ok: bool | None = None
    rollback_detail: str = ""
    rollback_tasks: list[TaskResult] = field(default_factory=list)
    rollback_checks: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error and all(c.ok for c in self.checks)

    @property
    def changed(self) -> list[TaskResult]:
        return [t for t in self.tasks if t.changed]

    def to_json(self) -> dict[str, Any]:
        def task(t: TaskResult) -> dict[str, Any]:
            row: dict[str, Any] = {"task": t.task, "status": t.status, "handler": t.handler}
            if t.message:
                row["message"] = t.message
            if t.diff:
                row["diff"] = t.diff
            return row

        return {
            "village": self.village,
            "host": self.host,
            "address": self.address,
            "check_mode": self.check_mode,
            "ok": self.ok,
            "changed": len(self.changed),
            "error": self.error,
            "tasks": [task(t) for t in self.tasks],
            "checks": [c.to_json() for c in self.checks],
            "rollback": {
                "performed": self.rolled_back,
                "ok": self.rollback_ok,
                "detail": self.rollback_detail,
                "tasks": [task(t) for t in self.rollback_tasks],
                "checks": [c.to_json() for c in self.rollback_checks],
            },
        }


def ssh_target(inv: Inventory, conn: GatewayConnection) -> SshTarget:
    """SSH login for the checks: the lab key/password, or the device's credentials secret."""
    from kopnet_iac.inventory.secrets import resolve_secret

    password = conn.password if conn.lab else resolve_secret(inv, conn.credentials)
    return SshTarget(
        host=conn.host,
        port=conn.port,
        username=conn.username,
        password=password,
        key_file=conn.key_file,
        hostname=conn.hostname,
        village=conn.village,
    )


def known_secrets(inv: Inventory) -> dict[str, str]:
    """name -> value of every declared secret that resolves here (to mask them)."""
    from kopnet_iac.inventory.secrets import SecretResolver

    resolver = SecretResolver(inv)
    values = {}
    for name in inv.fleet.secrets:
        try:
            values[name] = resolver.get(name)
        except SecretError:
            continue
    return {k: v for k, v in values.items() if v}


def mask_snapshot(snapshot: Path, secrets: dict[str, str]) -> None:
    """Put placeholders back into fetched gateway files: the snapshot on the controller's disk
    never holds a secret in clear (re-applying it substitutes them again)."""
    if not snapshot.is_dir() or not secrets:
        return
    for path in snapshot.iterdir():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        masked = mask_secrets(text, secrets)
        if masked != text:
            path.write_text(masked, encoding="utf-8")


def _masked(tasks: list[TaskResult], values: list[str]) -> list[TaskResult]:
    """Task results with secret values masked in diffs and messages (second layer: the role's
    module already masks what it returns)."""
    if not values:
        return tasks
    return [
        replace(t, diff=mask_secrets(t.diff, values), message=mask_secrets(t.message, values))
        for t in tasks
    ]


def settle_checks(checker: Checker, settle_s: float, interval_s: float = 2.0) -> list[CheckResult]:
    """Run the checks until all pass or ``settle_s`` is over (a BGP session needs seconds)."""
    deadline = time.monotonic() + settle_s
    while True:
        results = checker()
        if all(r.ok for r in results) or time.monotonic() >= deadline:
            return results
        time.sleep(interval_s)


def _failure_text(run: PlaybookRun, village: str) -> str:
    if run.failures:
        lines = []
        for t in run.failures:
            what = "unreachable" if t.status == "unreachable" else "failed"
            lines.append(f"{village}/{t.host}: task '{t.task}' {what}: {t.message}")
        return "\n".join(lines)
    return f"{village}: {run.playbook} did not run ({run.status}, rc {run.rc}): {run.error}"


def apply_gateway(
    inv: Inventory,
    village_id: str,
    *,
    lab_dir: Path | None,
    workdir: Path,
    check: bool = False,
    settle_s: float = 45.0,
    checker: Checker | None = None,
    extravars: dict[str, Any] | None = None,
    rollback: bool = True,
    verify: bool = True,
) -> ApplyReport:
    """Apply (or with ``check`` plan) the gateway of ``village_id``; see the module docstring.

    ``checker`` replaces the standard gateway checks (the deploy pipeline passes its own);
    ``extravars`` go to every playbook run (e.g. extra packages). ``rollback=False``: no
    snapshot and no re-apply on failure (a transaction's device-side revert does that);
    ``verify=False``: no checks after the apply.
    """
    workdir = workdir.absolute()  # Ansible runs in the playbooks folder: no relative paths
    conn = connection(inv, village_id, lab_dir)
    report = ApplyReport(village_id, conn.hostname, f"{conn.host}:{conn.port}", check)
    hosts = gateway_hosts(inv, [village_id], lab_dir)
    inventory = runner_inventory(hosts)
    rendered = workdir / "rendered"
    write_files(rendered_files(inv, village_id, conn.hostname), rendered, conn.hostname)
    base_vars = dict(extravars or {})
    secrets = known_secrets(inv)
    values = sorted(set(secrets.values()), key=len, reverse=True)
    if checker is None:
        ctx = gateway_check_context(inv, village_id)
        target = ssh_target(inv, conn)

        def checker() -> list[CheckResult]:
            return run_gateway_checks(target, ctx)

    snapshot = workdir / "snapshot"
    if not check and rollback:
        snap = run_playbook(
            "gateway-snapshot.yml",
            inventory,
            extravars={**base_vars, "kopnet_snapshot_dir": str(snapshot)},
            diff=False,
            workdir=workdir / "runner-snapshot",
        )
        mask_snapshot(snapshot, secrets)
        if not snap.ok:
            report.tasks = snap.tasks
            report.error = "snapshot of the active configuration failed, nothing changed:\n"
            report.error += _failure_text(snap, village_id)
            return report
    run = run_playbook(
        "gateway.yml",
        inventory,
        extravars={**base_vars, "kopnet_gateway_source_dir": str(rendered)},
        check=check,
        workdir=workdir / "runner-apply",
    )
    report.tasks = _masked(run.tasks, values)
    if check:
        if not run.ok:
            report.error = _failure_text(run, village_id)
        return report
    if not run.ok:
        report.error = _failure_text(run, village_id)
        if not run.changes:
            report.rollback_detail = "nothing was changed; the previous configuration stays active"
            return report
    elif not verify:
        return report
    else:
        report.checks = settle_checks(checker, settle_s)
        if report.ok:
            return report
        failed = ", ".join(c.name for c in report.checks if not c.ok)
        report.error = f"{village_id}/{conn.hostname}: checks failed after apply: {failed}"
    if not rollback:
        report.rollback_detail = "rollback left to the caller (transaction revert armed)"
        return report
    _rollback(report, inventory, snapshot, base_vars, workdir, checker, settle_s)
    report.rollback_tasks = _masked(report.rollback_tasks, values)
    return report


def _rollback(
    report: ApplyReport,
    inventory: dict[str, Any],
    snapshot: Path,
    base_vars: dict[str, Any],
    workdir: Path,
    checker: Checker,
    settle_s: float,
) -> None:
    """Re-apply the snapshot; a file that did not exist before is left as it is (said so)."""
    report.rolled_back = True
    restored = (
        sorted(p.name for p in snapshot.glob(f"{report.host}.*")) if snapshot.is_dir() else []
    )
    if not restored:
        report.rollback_ok = False
        report.rollback_detail = "no previous configuration on the gateway to restore"
        return
    run = run_playbook(
        "gateway.yml",
        inventory,
        extravars={**base_vars, "kopnet_gateway_source_dir": str(snapshot)},
        workdir=workdir / "runner-rollback",
    )
    report.rollback_tasks = run.tasks
    if not run.ok:
        report.rollback_ok = False
        report.rollback_detail = "re-applying the previous configuration failed: " + _failure_text(
            run, report.village
        )
        return
    report.rollback_checks = settle_checks(checker, settle_s)
    report.rollback_ok = all(c.ok for c in report.rollback_checks)
    state = "checks pass" if report.rollback_ok else "checks still fail"
    report.rollback_detail = f"previous configuration re-applied ({len(restored)} files), {state}"


__all__ = ["ApplyReport", "apply_gateway", "settle_checks", "ssh_target"]
