"""The Linux gateway's part of a deploy: plan (Ansible check mode), arm, apply, check, confirm.

The gateway joins the village transaction with a device-side revert of its own
(:mod:`kopnet_iac.platforms.linux.transaction`: a timer on the gateway re-applies its snapshot
unless confirmed), so the deploy applies it with the plain ``gateway.yml`` run, without the
controller-side rollback of ``kopnet gateway apply``.

Ansible runs in the calling thread (ansible-runner and signal handlers belong to the main thread);
the transaction runs the gateway steps beside the Nornir steps of the other devices.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kopnet_iac.errors import ApplyError, KopnetError, PlanError
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.platforms.linux.ansible import PlaybookRun, TaskResult, run_playbook
from kopnet_iac.platforms.linux.checks import (
    CheckResult,
    gateway_check_context,
    run_gateway_checks,
)
from kopnet_iac.platforms.linux.files import write_files
from kopnet_iac.platforms.linux.gateway import GatewayConnection, connection
from kopnet_iac.platforms.linux.inventory import gateway_hosts, runner_inventory
from kopnet_iac.platforms.linux.sshrun import SshTarget

log = logging.getLogger(__name__)


@dataclass
class GatewayStep:
    """What one playbook run did: changed task names, their diffs, and an error if it failed."""

    changed: list[str] = field(default_factory=list)
    diff: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class GatewayDeploy:
    """One village gateway in a deploy: where it is, its rendered files, a work folder."""

    inv: Inventory
    village: str
    hostname: str
    files: dict[str, str]
    workdir: Path
    lab_dir: Path | None = None
    conn: GatewayConnection | None = None

    def connection(self) -> GatewayConnection:
        if self.conn is None:
            self.conn = connection(self.inv, self.village, self.lab_dir)
        return self.conn

    def target(self) -> SshTarget:
        from kopnet_iac.platforms.linux.apply import ssh_target

        return ssh_target(self.inv, self.connection())

    def _inventory(self) -> dict[str, Any]:
        return runner_inventory(gateway_hosts(self.inv, [self.village], self.lab_dir))

    def _rendered_dir(self) -> Path:
        directory = self.workdir / "rendered"
        write_files(self.files, directory, self.hostname)
        return directory

    def _run(self, name: str, *, check: bool) -> PlaybookRun:
        return run_playbook(
            "gateway.yml",
            self._inventory(),
            extravars={"kopnet_gateway_source_dir": str(self._rendered_dir())},
            check=check,
            workdir=self.workdir / f"runner-{name}",
        )

    def plan(self) -> GatewayStep:
        """Ansible check mode with diffs: what ``apply`` would change. Changes nothing."""
        run = self._run("plan", check=True)
        step = _step(run)
        if step.error:
            raise PlanError(step.error, village=self.village, host=self.hostname, step="plan")
        return step

    def apply(self) -> GatewayStep:
        """Write the rendered files and reload the services (no rollback here: see module)."""
        run = self._run("apply", check=False)
        step = _step(run)
        if step.error:
            raise ApplyError(step.error, village=self.village, host=self.hostname, step="apply")
        return step

    def arm(self, revert_in: int) -> None:
        """Snapshot the active files on the gateway and arm its revert timer."""
        from kopnet_iac.platforms.linux import transaction

        transaction.arm_revert(self.target(), revert_in, village=self.village)

    def confirm(self) -> None:
        from kopnet_iac.platforms.linux import transaction

        transaction.confirm(self.target(), village=self.village)

    def revert(self) -> bool:
        """Re-apply the snapshot now if a revert is armed; False when none was pending."""
        from kopnet_iac.platforms.linux import transaction

        target = self.target()
        if not transaction.pending(target, village=self.village):
            return False
        transaction.revert_now(target, village=self.village)
        return True

    def pending(self) -> bool:
        from kopnet_iac.platforms.linux import transaction

        return bool(transaction.pending(self.target(), village=self.village))

    def checks(self) -> list[CheckResult]:
        """The gateway checks of ``kopnet verify`` (one SSH exec)."""
        try:
            return run_gateway_checks(self.target(), gateway_check_context(self.inv, self.village))
        except KopnetError as exc:
            return [CheckResult("reachable", False, str(exc))]


def _step(run: PlaybookRun) -> GatewayStep:
    changed = [t for t in run.tasks if t.changed and not t.handler]
    step = GatewayStep(changed=[t.task for t in changed], diff=_diff_text(changed))
    if not run.ok:
        step.error = _failure(run)
    return step


def _diff_text(tasks: list[TaskResult]) -> str:
    parts = []
    for task in tasks:
        parts.append(f"# {task.task}")
        if task.diff:
            parts.append(task.diff.rstrip("\n"))
    return "\n".join(parts) + ("\n" if parts else "")


def _failure(run: PlaybookRun) -> str:
    if run.failures:
        return "; ".join(
            f"task '{t.task}' {'unreachable' if t.status == 'unreachable' else 'failed'}: "
            f"{t.message.splitlines()[0] if t.message else ''}"
            for t in run.failures
        )
    return f"{run.playbook} did not run ({run.status}, rc {run.rc}): {run.error}"


__all__ = ["GatewayDeploy", "GatewayStep"]
