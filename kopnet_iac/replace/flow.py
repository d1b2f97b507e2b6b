"""``kopnet replace``: a factory-fresh device to the full configuration of the current release.

::

    find the device (inventory, addresses, logins) -> lock village -> PROBE (factory address:
      factory login; else management address: NOC account) -> refuse configured / wrong model
      -> DAY-0 bootstrap (RouterOS: reset-configuration no-defaults run-after-reset; airOS:
      forced password change, day-0 in test mode) -> reconnect on the management address
      -> unlock -> DEPLOY the current release to this device through the deploy transaction
      (kind "replace": revert armed, verify incl. its radio peer, confirm)
      -> RECORD the serial in the village file (positional edit, diff shown) and the hardware
      facts in the release journal

The current release is the village's last successful one in the release store; a village never
deployed gets the rendered intent of the working tree, recorded as the release by the deploy.
Running the same command again after any interruption is safe: the probe says where the device
is (fresh, bootstrapped) and the run carries on from there.
"""

from __future__ import annotations

import getpass
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kopnet_iac.deploy.intent import village_intent
from kopnet_iac.deploy.planning import DeployOptions
from kopnet_iac.deploy.report import DeployReport, Progress, ProgressEvent
from kopnet_iac.errors import KopnetError
from kopnet_iac.inventory.loader import Inventory, load_inventory
from kopnet_iac.replace.inventory_edit import SerialEdit, plan_serial_edit
from kopnet_iac.replace.routeros import Probe
from kopnet_iac.replace.target import ReplaceTarget, replace_target

log = logging.getLogger(__name__)


@dataclass
class ReplaceOptions:
    """What ``kopnet replace`` decides; see the module docstring."""

    village: str
    hostname: str
    inventory_dir: Path
    lab_dir: Path | None = None
    serial: str | None = None
    address: str | None = None
    password: str | None = None  # the label password (RouterOS), never shown
    force: bool = False  # accept another model / serial than the inventory's
    wipe: bool = False  # bootstrap a device that is not factory-fresh
    verify_only: bool = False
    state_dir: Path | None = None
    operator: str = ""
    revert_in: int = 300
    boot_timeout: float = 180.0
    settle_s: float = 90.0
    approve: Callable[[DeployReport], bool] | None = None
    progress: Progress | None = None
    write_inventory: bool = True


@dataclass
class ReplaceReport:
    """The result of a replacement; ``outcome``: confirmed | no-change | failed | reverted."""

    village: str
    hostname: str
    platform: str = ""
    probe: dict[str, Any] = field(default_factory=dict)
    bootstrapped: bool = False
    release: str | None = None
    source_release: str | None = None
    outcome: str = "failed"
    deploy: DeployReport | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)
    inventory_diff: str = ""
    serial: str = ""
    error: str = ""
    round_trips: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome in ("confirmed", "no-change") and all(c["ok"] for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "village": self.village,
            "hostname": self.hostname,
            "platform": self.platform,
            "probe": self.probe,
            "bootstrapped": self.bootstrapped,
            "release": self.release,
            "source_release": self.source_release,
            "outcome": self.outcome,
            "ok": self.ok,
            "serial": self.serial,
            "inventory_diff": self.inventory_diff,
            "checks": self.checks,
            "deploy": self.deploy.to_json() if self.deploy is not None else None,
            "error": self.error,
            "round_trips": self.round_trips,
            "timings": self.timings,
        }


def _emit(opts: ReplaceOptions, step: str, status: str, detail: str = "") -> None:
    if opts.progress is not None:
        opts.progress(ProgressEvent(step, status, opts.hostname, detail))


def _normal(model: str) -> str:
    return "".join(ch for ch in model.lower() if ch.isalnum())


def check_hardware(target: ReplaceTarget, probe: Probe, opts: ReplaceOptions) -> str:
    """The serial to record; refuses a wrong model or a serial other than ``--serial``."""
    expected = target.device.model
    if probe.model and _normal(probe.model) != _normal(expected) and not opts.force:
        raise KopnetError(
            f"the device is a {probe.model}, the inventory expects a {expected}: wrong "
            "hardware for this place (use --force only if the inventory's model is to change "
            "too); nothing was changed",
            village=opts.village,
            host=opts.hostname,
            step="model",
        )
    if opts.serial and probe.serial and opts.serial != probe.serial and not opts.force:
        raise KopnetError(
            f"the device reports serial {probe.serial}, not {opts.serial}: another device "
            "than the one named? nothing was changed",
            village=opts.village,
            host=opts.hostname,
            step="serial",
        )
    return opts.serial or probe.serial


def _bootstrap(target: ReplaceTarget, probe: Probe, opts: ReplaceOptions, intended: str) -> None:
    from kopnet_iac.replace import day0

    if target.platform == "routeros":
        assert target.routeros is not None
        script = day0.substitute_routeros(day0.routeros_day0(intended), target.secret)
        day0.check_no_placeholder(script, village=opts.village, host=opts.hostname)
        target.routeros.bootstrap(script, day0.routeros_key_files(intended))
        _emit(opts, "bootstrap", "ok", "reset into the day-0 script; waiting for the reboot")
        target.routeros.wait_managed(target.management, opts.boot_timeout)
        return
    assert target.airos is not None
    if probe.login_user == day0.load_rules().airos_factory_user:
        target.airos.change_password()
        _emit(opts, "password", "ok", "factory password changed (airOS forces it)")
    text = day0.airos_day0(target.airos.config, intended)
    target.airos.apply_day0(
        text, target.management, target.secrets, target.device.model, opts.revert_in
    )


def _find(opts: ReplaceOptions) -> tuple[Inventory, ReplaceTarget, Any, dict[str, str] | None]:
    from kopnet_iac.state import ReleaseStore

    inv = load_inventory(opts.inventory_dir)
    target = replace_target(inv, opts)
    store = ReleaseStore.open(opts.state_dir)
    release = store.last_successful(opts.village)
    rendered = dict(release.rendered) if release is not None and release.rendered else None
    return inv, target, (store, release), rendered


def replace_device(opts: ReplaceOptions) -> ReplaceReport:
    """Run a replacement (see the module docstring). Raises KopnetError for anything found
    before the deploy began (nothing deployed); the deploy's own failures end in the report."""
    from kopnet_iac.deploy.transaction import deploy_village

    report = ReplaceReport(opts.village, opts.hostname)
    started = time.monotonic()
    inv, target, (store, release), rendered = _find(opts)
    report.platform = target.platform
    report.source_release = release.id if release is not None else None
    intent = village_intent(inv, opts.village, rendered=rendered)
    intended = intent.devices[opts.hostname].config
    if not intended:
        raise KopnetError(
            "no rendered configuration for this device in the release",
            village=opts.village,
            host=opts.hostname,
            step="intent",
        )
    operator = opts.operator or getpass.getuser()
    if opts.verify_only:
        return _verify_only(opts, inv, target, store, rendered, report, operator)
    with store.lock(opts.village, operator, "replace"):
        _emit(opts, "probe", "start", f"{target.factory_address} (factory address)")
        target.forget_old_keys()
        probe = target.probe()
        report.probe = {
            "state": probe.state,
            "model": probe.model,
            "serial": probe.serial,
            "mac": probe.mac,
            "identity": probe.identity,
            "reasons": probe.reasons,
            "pending": probe.pending,
        }
        report.timings["answers"] = time.monotonic() - started
        if probe.state == "configured" and not opts.wipe:
            raise KopnetError(
                f"not factory-fresh ({'; '.join(probe.reasons)}); reset it to factory state, "
                "or run again with --wipe to erase it; nothing was changed",
                village=opts.village,
                host=opts.hostname,
                step="probe",
            )
        report.serial = check_hardware(target, probe, opts)
        _emit(opts, "probe", "ok", f"{probe.state}, {probe.model} serial {probe.serial}")
        if probe.state == "bootstrapped" and probe.pending and target.airos is not None:
            target.airos.confirm_pending(target.management, target.secrets, target.device.model)
            _emit(opts, "bootstrap", "ok", "the day-0 left in test mode is confirmed")
        if probe.state != "bootstrapped":
            _emit(opts, "bootstrap", "start")
            _bootstrap(target, probe, opts, intended)
            report.bootstrapped = True
            _emit(opts, "bootstrap", "ok", f"reachable on {target.management}")
    report.timings["bootstrapped"] = time.monotonic() - started
    deploy = deploy_village(
        DeployOptions(
            village=opts.village,
            inventory_dir=opts.inventory_dir,
            lab_dir=opts.lab_dir,
            revert_in=opts.revert_in,
            only=(opts.hostname,),
            settle_s=opts.settle_s,
            state_dir=opts.state_dir,
            operator=operator,
            kind="replace",
            rendered=rendered,
            source_release=report.source_release,
            approve=opts.approve,
            progress=opts.progress,
        )
    )
    report.deploy, report.release, report.outcome = deploy, deploy.release, deploy.outcome
    report.checks = [c.to_json() for c in deploy.checks]
    report.error = deploy.error
    if deploy.outcome == "no-change" and deploy.release is not None:
        # already converged (a rerun after the deploy): verify before recording it
        report.checks = _checks(opts, inv, store, deploy.release, intended)
    if report.ok and deploy.release is not None:
        _record(opts, inv, store, deploy.release, report, probe)
    elif not report.error:
        failing = [f"{c['host']}/{c['check']}" for c in report.checks if not c["ok"]]
        report.error = f"checks failed: {', '.join(failing)}" if failing else "not confirmed"
    report.round_trips = target.round_trips()
    report.timings["recorded"] = time.monotonic() - started
    return report


def _checks(
    opts: ReplaceOptions, inv: Inventory, store: Any, rid: str, intended: str
) -> list[dict[str, Any]]:
    """The role checks of the device (converged with ``intended`` included), recorded."""
    from kopnet_iac.deploy.checking import CheckTarget, run_checks
    from kopnet_iac.deploy.expect import village_expectations
    from kopnet_iac.deploy.runner import configure_driver, village_nornir
    from kopnet_iac.deploy.verify import load_verify_spec
    from kopnet_iac.inventory.secrets import SecretResolver

    device = next(d for d in inv.village(opts.village).devices if d.hostname == opts.hostname)
    nr = village_nornir(opts.inventory_dir, opts.village, lab_dir=opts.lab_dir)
    try:
        configure_driver(
            nr,
            opts.hostname,
            platform=inv.hardware_of(device).platform,
            model=device.model,
            credentials=device.credentials,
            secrets=SecretResolver(inv),
            village=opts.village,
        )
        expect = village_expectations(inv, opts.village)[opts.hostname]
        store.journal(rid, "verify", opts.hostname, {"after": "no change"})
        results = run_checks(
            nr,
            opts.village,
            {opts.hostname: CheckTarget(expect, intended)},
            spec=load_verify_spec(),
            lab=opts.lab_dir is not None,
        )
    finally:
        nr.close_connections()
    rows = [c.to_json() for c in results]
    store.record_verification(rid, rows)
    return rows


def _record(
    opts: ReplaceOptions,
    inv: Inventory,
    store: Any,
    rid: str,
    report: ReplaceReport,
    probe: Probe | None,
) -> None:
    """The serial into the village file (when it changes) and the hardware into the journal."""
    edit: SerialEdit | None = None
    if report.serial:
        path = inv.root / "villages" / f"{opts.village}.yaml"
        mac = probe.mac if probe is not None and probe.mac else None
        edit = plan_serial_edit(path, opts.hostname, report.serial, mac)
        report.inventory_diff = edit.diff()
    detail: dict[str, Any] = {
        "serial": report.serial or None,
        "old_serial": edit.old if edit is not None else None,
        "bootstrapped": report.bootstrapped,
        "inventory_changed": bool(edit and edit.changed),
    }
    if probe is not None:
        detail.update(model=probe.model, mac=probe.mac or None, found=probe.state)
    store.journal(rid, "record hardware", opts.hostname, detail)
    if edit is not None and edit.changed and opts.write_inventory:
        edit.write()
        _emit(opts, "record", "ok", f"serial {edit.old} -> {edit.new} in {edit.path.name}")


def _verify_only(
    opts: ReplaceOptions,
    inv: Inventory,
    target: ReplaceTarget,
    store: Any,
    rendered: dict[str, str] | None,
    report: ReplaceReport,
    operator: str,
) -> ReplaceReport:
    """From the NOC: the device matches the release (converged) and passes its checks;
    recorded as a ``replace`` release (the offline bundle's second half)."""
    from kopnet_iac.state.gitinfo import git_state

    intent = village_intent(inv, opts.village, rendered=rendered)
    intended = intent.devices[opts.hostname].config
    with store.lock(opts.village, operator, "replace --verify-only"):
        state = git_state(opts.inventory_dir)
        rid = store.begin_release(
            opts.village,
            kind="replace",
            operator=operator,
            git_revision=state.revision,
            git_dirty=state.dirty,
            rendered=intent.rendered,
            source_release=report.source_release,
        )
        report.release = rid
        try:
            report.checks = _checks(opts, inv, store, rid, intended)
        except KopnetError as exc:
            store.finish_release(rid, "failed", error=str(exc))
            raise
        store.record_device(
            rid,
            opts.hostname,
            platform=target.platform,
            outcome="verified" if all(c["ok"] for c in report.checks) else "failed",
            operations=0,
        )
        report.serial = opts.serial or ""
        if all(c["ok"] for c in report.checks):
            report.outcome = "confirmed"
            _record(opts, inv, store, rid, report, None)
            store.finish_release(rid, "confirmed")
        else:
            failing = [f"{c['host']}/{c['check']}" for c in report.checks if not c["ok"]]
            report.error = f"checks failed: {', '.join(failing)}"
            store.finish_release(rid, "failed", error=report.error)
    return report


__all__ = ["ReplaceOptions", "ReplaceReport", "check_hardware", "replace_device"]
