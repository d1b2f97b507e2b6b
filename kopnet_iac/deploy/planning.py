"""The first half of a deploy: what to change on which device, with nothing changed yet.

:class:`VillagePlan` selects the village's devices (the running lab's with ``--lab``), renders
their intent (or takes a stored release's), resolves every secret before touching anything,
reads every running configuration and plans every device in parallel (RouterOS/airOS through
their drivers' ``compare_config``, the gateway through Ansible's check mode beside them). The
transaction (:mod:`kopnet_iac.deploy.transaction`) builds on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kopnet_iac.deploy import tasks
from kopnet_iac.deploy.expect import DeviceExpectation, village_expectations
from kopnet_iac.deploy.gateway import GatewayDeploy
from kopnet_iac.deploy.intent import (
    NAPALM_PLATFORMS,
    Masker,
    VillageIntent,
    preflight_secrets,
    village_intent,
)
from kopnet_iac.deploy.report import DeployReport, DeviceReport, Progress, ProgressEvent
from kopnet_iac.deploy.runner import HostOutcome, configure_driver, run_step, village_nornir
from kopnet_iac.deploy.verify import VerifySpec, load_verify_spec
from kopnet_iac.errors import ConnectError, KopnetError
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.platforms.linux.ansible import new_run_folder


@dataclass
class DeployOptions:
    """Everything ``kopnet deploy`` / ``rollback`` decide; see the module docstring."""

    village: str
    inventory_dir: Path
    lab_dir: Path | None = None
    revert_in: int = 300
    only: tuple[str, ...] = ()
    dry_run: bool = False
    settle_s: float = 90.0
    verify_interval_s: float = 3.0
    state_dir: Path | None = None
    workdir: Path | None = None
    operator: str = ""
    kind: str = "deploy"
    rendered: dict[str, str] | None = None  # a stored release's intent (rollback)
    source_release: str | None = None
    approve: Callable[[DeployReport], bool] | None = None
    progress: Progress | None = None
    verify_spec: VerifySpec | None = None


@dataclass
class PlannedDevice:
    """One device in a deploy: its report, expectations, intent and what was read."""

    report: DeviceReport
    expect: DeviceExpectation
    config: str = ""
    expect_credentials: str = ""  # name of the device's login secret
    running: str | None = None  # raw, in memory only
    diff: str = ""  # as the driver returned it (masked by the driver)
    applied: bool = False  # a change was attempted: must be reverted on failure


@dataclass
class VillagePlan:
    """The first half of the transaction: select, render, preflight, read and plan every
    device; :class:`kopnet_iac.deploy.transaction` carries on from here."""

    inv: Inventory
    store: Any
    opts: DeployOptions
    operator: str
    report: DeployReport = field(init=False)
    devices: dict[str, PlannedDevice] = field(default_factory=dict)
    gateway: GatewayDeploy | None = None
    mask: Masker = field(default_factory=Masker)
    rid: str | None = None
    deadline: float = 0.0

    def __post_init__(self) -> None:
        self.report = DeployReport(
            village=self.opts.village,
            kind=self.opts.kind,
            dry_run=self.opts.dry_run,
            revert_in=self.opts.revert_in,
        )
        self.spec = self.opts.verify_spec or load_verify_spec()
        self.nr: Any = None

    # -- helpers -------------------------------------------------------------------------------

    def emit(self, step: str, status: str, host: str | None = None, detail: str = "") -> None:
        if self.opts.progress is not None:
            self.opts.progress(ProgressEvent(step, status, host, self.mask(detail)))

    def _forward(self, event: ProgressEvent) -> None:
        """Nornir's per-host events, secrets masked like every other event."""
        self.emit(event.step, event.status, event.host, event.detail)

    def journal(self, step: str, host: str | None = None, **detail: Any) -> None:
        if self.rid is not None:
            self.store.journal(self.rid, step, host, detail or None)

    def napalm(self, hosts: list[str] | None = None) -> list[str]:
        names = hosts if hosts is not None else list(self.devices)
        return [h for h in names if self.devices[h].report.platform in NAPALM_PLATFORMS]

    def remaining(self) -> int:
        return max(30, int(self.deadline - time.monotonic()))

    def step(
        self, name: str, func: Any, hosts: list[str], per_host: dict[str, dict[str, Any]] | None
    ) -> dict[str, HostOutcome]:
        return run_step(self.nr, name, func, hosts, per_host, village=self.opts.village)

    def _prepare(self) -> None:
        opts = self.opts
        self.emit("render", "start")
        intent = village_intent(self.inv, opts.village, rendered=opts.rendered)
        expectations = village_expectations(self.inv, opts.village)
        self.intent: VillageIntent = intent
        unknown = sorted(set(opts.only) - set(intent.devices))
        if unknown:
            raise KopnetError(
                f"--only names devices not in the village: {', '.join(unknown)}",
                village=opts.village,
                step="select",
            )
        self.nr = village_nornir(
            opts.inventory_dir,
            opts.village,
            lab_dir=opts.lab_dir,
            progress=self._forward if opts.progress is not None else None,
        )
        selected = [h for h in intent.devices if not opts.only or h in opts.only]
        for hostname in selected:
            device = intent.devices[hostname]
            expect = expectations[hostname]
            report = DeviceReport(hostname, device.platform, device.role, rank=expect.rank)
            self.report.devices.append(report)
            if device.platform in NAPALM_PLATFORMS and hostname not in self.nr.inventory.hosts:
                report.outcome, report.error = "skipped", "not running in the lab"
                continue
            if device.platform == "linux" and not self._gateway(hostname, device.gateway_files()):
                report.outcome, report.error = "skipped", "not running in the lab"
                continue
            self.devices[hostname] = PlannedDevice(
                report, expect, config=device.config, expect_credentials=device.credentials
            )
        self.emit("render", "ok", detail=f"{len(self.devices)} device(s)")
        values, self.mask = preflight_secrets(
            self.inv, intent, list(self.devices), credentials=opts.lab_dir is None
        )
        self.store.forbid(values.values())  # the store refuses and redacts them too
        for hostname in self.napalm():
            chosen = self.devices[hostname]
            configure_driver(
                self.nr,
                hostname,
                platform=chosen.report.platform,
                model=chosen.expect.model,
                credentials=chosen.expect_credentials,
                secrets=values,
                village=opts.village,
            )

    def _gateway(self, hostname: str, files: dict[str, str]) -> bool:
        # beside the release store by default: the runs of a village live with its releases
        workdir = self.opts.workdir or self.store.path.parent / "runs" / self.opts.village
        gateway = GatewayDeploy(
            self.inv,
            self.opts.village,
            hostname,
            files,
            new_run_folder(workdir),
            lab_dir=self.opts.lab_dir,
        )
        try:
            gateway.connection()
        except ConnectError:
            if self.opts.lab_dir is None:
                raise
            return False
        self.gateway = gateway
        return True

    def _plan(self) -> None:
        napalm = self.napalm()
        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(self._plan_napalm, napalm)
            if self.gateway is not None:
                self._plan_gateway()
            future.result()
        errors = [d.report for d in self.devices.values() if d.report.outcome == "failed"]
        if errors:
            raise KopnetError("; ".join(r.error for r in errors) + "; nothing was applied")
        changed = [d.report for d in self.devices.values() if d.report.changed]
        self.report.outcome = "planned" if changed else "no-change"

    def _plan_napalm(self, hosts: list[str]) -> None:
        for hostname, out in self.step("read running", tasks.fetch_running, hosts, None).items():
            if out.ok:
                self.devices[hostname].running = str(out.payload["running"])
            else:
                self._device_failed(hostname, out.message())
        readable = [h for h in hosts if self.devices[h].running is not None]
        per_host = {h: {"intended": self.devices[h].config} for h in readable}
        for hostname, out in self.step("plan", tasks.plan_config, readable, per_host).items():
            device = self.devices[hostname]
            if not out.ok:
                self._device_failed(hostname, out.message())
                continue
            device.diff = str(out.payload["diff"])
            self._planned(device, device.diff, int(out.payload["operations"]))

    def _plan_gateway(self) -> None:
        assert self.gateway is not None
        device = self.devices[self.gateway.hostname]
        self.emit("plan", "start", device.report.hostname)
        try:
            step = self.gateway.plan()
        except KopnetError as exc:
            self._device_failed(device.report.hostname, str(exc))
            return
        self._planned(device, step.diff, len(step.changed))
        self.emit("plan", "ok", device.report.hostname)

    def _planned(self, device: PlannedDevice, diff: str, operations: int) -> None:
        report = device.report
        report.diff = self.mask(diff)
        report.changed = operations > 0 and bool(diff.strip())
        report.planned_operations = operations if report.changed else 0
        report.outcome = "planned" if report.changed else "unchanged"

    def _device_failed(self, hostname: str, message: str) -> None:
        report = self.devices[hostname].report
        report.outcome, report.error = "failed", self.mask(message)
        self.emit("error", "failed", hostname, message)


__all__ = ["DeployOptions", "PlannedDevice", "VillagePlan"]
