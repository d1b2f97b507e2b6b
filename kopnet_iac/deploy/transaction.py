"""A village deployed as one transaction: all devices confirmed, or all devices back as before.

::

    lock village -> render -> preflight secrets -> read running (parallel) -> plan every device
      -> show + approve (--dry-run stops here) -> begin release
      -> ARM + APPLY, farthest from the NOC first -> VERIFY the village (role checks + gateway)
      -> all pass: CONFIRM every device | any fails: REVERT every device -> finish release -> unlock

**Arming.** Every change is made with its device-side revert armed first: the gateway's timer
(``arm_revert``) before anything is applied anywhere; RouterOS/airOS through
``commit_config(revert_in=...)``, whose driver arms the revert (scheduler job + revert script,
airOS test mode) *before* it changes the device. All timers share one deadline (each device gets
the seconds left), so a controller that dies leaves every device going back at the same moment.

**Apply order.** By :func:`~kopnet_iac.deploy.expect.management_rank`: devices farthest from the
NOC first (sector radios, then the PtP hops toward the core, the core router), the gateway after
them, and uplink radios on the gateway's ISP side last, the one nearest the ISP at the very end.
A change that cuts management therefore only ever cuts the path to devices already changed, and
the controller never loses a device it still has to change. Devices at the same distance are
applied in parallel. **Revert** runs in the opposite order (nearest first), restoring the path
to the far devices before they are asked to go back (their own timers cover a lost path).

**Journal.** Every step is journaled in the release store before it is taken; reading and
planning change nothing, so the release begins when the first change is about to be made.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from kopnet_iac.deploy import tasks
from kopnet_iac.deploy.checking import CheckTarget, run_checks
from kopnet_iac.deploy.intent import same_configuration
from kopnet_iac.deploy.planning import DeployOptions, VillagePlan
from kopnet_iac.deploy.recover import RecoveredRelease, resolve_unfinished
from kopnet_iac.deploy.report import DeployReport, Progress
from kopnet_iac.deploy.verify import CheckOutcome
from kopnet_iac.errors import KopnetError
from kopnet_iac.inventory.loader import load_inventory

log = logging.getLogger(__name__)


def deploy_village(options: DeployOptions) -> DeployReport:
    """Run the transaction for ``options.village`` under its lock; see the module docstring.

    Raises LockError (another run holds the village: nothing read or changed), SecretError and
    other KopnetErrors found before any change; errors after the first change end in a report
    with outcome ``failed`` after every changed device was reverted.
    """
    from kopnet_iac.state import ReleaseStore

    inv = load_inventory(options.inventory_dir)
    if options.village not in inv.villages:
        known = ", ".join(sorted(inv.villages))
        raise KopnetError(f"unknown village {options.village!r} (known: {known})")
    store = ReleaseStore.open(options.state_dir)
    operator = options.operator or getpass.getuser()
    purpose = "dry-run" if options.dry_run else options.kind
    with store.lock(options.village, operator, purpose):
        recovered: list[dict[str, Any]] = []
        if options.dry_run:  # a dry run changes nothing, not even to resolve a release
            recovered = [
                {"release": r.id, "outcome": "in-doubt", "error": "not resolved in a dry run"}
                for r in store.unfinished(options.village)
            ]
        else:
            recovered = [
                r.to_json()
                for r in resolve_unfinished(
                    inv, store, options.village, lab_dir=options.lab_dir, progress=options.progress
                )
            ]
        transaction = _Transaction(inv, store, options, operator)
        transaction.report.recovered = recovered
        return transaction.run()


def rollback_village(options: DeployOptions, to: str | None = None) -> DeployReport:
    """Deploy the stored intent of an earlier release through the same transaction.

    ``to``: a release id of the village; default the newest successful release whose intent
    differs from the current one (the one before the last successful deploy).
    """
    from kopnet_iac.state import ReleaseStore

    store = ReleaseStore.open(options.state_dir, create=False)
    target = rollback_target(store.releases(options.village), options.village, to)
    return deploy_village(
        replace(options, kind="rollback", rendered=dict(target.rendered), source_release=target.id)
    )


def rollback_target(releases: list[Any], village: str, to: str | None) -> Any:
    """The release a rollback deploys (``releases`` newest first); KopnetError saying why not."""
    usable = [
        r for r in releases if r.rendered and (r.outcome == "confirmed" or r.outcome == "no-change")
    ]
    if to is not None:
        chosen = next((r for r in releases if r.id == to), None)
        if chosen is None:
            raise KopnetError(f"no release {to!r} of {village}", village=village, step="select")
        if not chosen.rendered:
            raise KopnetError(
                f"release {to} recorded no rendered configs to roll back to",
                village=village,
                step="select",
            )
        return chosen
    if not usable:
        raise KopnetError("no successful release to roll back to", village=village, step="select")
    current = usable[0]
    for release in usable[1:]:
        if release.rendered != current.rendered:
            return release
    raise KopnetError(
        f"no earlier successful release with another intent than {current.id}",
        village=village,
        step="select",
    )


def recover_village(
    inventory_dir: Path,
    village: str,
    *,
    lab_dir: Path | None,
    state_dir: Path | None = None,
    operator: str = "",
    progress: Progress | None = None,
) -> list[RecoveredRelease]:
    """Resolve the village's in-doubt releases by reading its devices (see :mod:`.recover`)."""
    from kopnet_iac.state import ReleaseStore

    inv = load_inventory(inventory_dir)
    if village not in inv.villages:
        raise KopnetError(f"unknown village {village!r}", village=village, step="select")
    store = ReleaseStore.open(state_dir)
    with store.lock(village, operator or getpass.getuser(), "recover"):
        return resolve_unfinished(inv, store, village, lab_dir=lab_dir, progress=progress)


class _Transaction(VillagePlan):
    """The second half: begin the release, arm + apply, verify, confirm or revert, record."""

    # -- the transaction -----------------------------------------------------------------------

    def run(self) -> DeployReport:
        try:
            self._prepare()
            self._plan()
            if self.opts.dry_run or not self._approved():
                return self.report
            self._begin()
            if not any(d.report.changed for d in self.devices.values()):
                self._finish("no-change")
                return self.report
            self._change()
            return self.report
        except KopnetError as exc:
            self._fail(exc)
            if self.rid is None:
                raise
            return self.report
        except Exception as exc:
            self._fail(exc)
            raise
        finally:
            if self.nr is not None:
                with contextlib.suppress(Exception):
                    self.nr.close_connections()

    def _approved(self) -> bool:
        if self.report.outcome == "no-change" or self.opts.approve is None:
            return True
        if self.opts.approve(self.report):
            return True
        self.report.error = "not approved; nothing was applied"
        return False

    def _begin(self) -> None:
        from kopnet_iac.state.gitinfo import git_state

        state = git_state(self.opts.inventory_dir)
        rev, dirty = state.revision, state.dirty
        self.rid = self.store.begin_release(
            self.opts.village,
            kind=self.opts.kind,
            operator=self.operator,
            git_revision=rev,
            git_dirty=dirty,
            rendered=self.intent.rendered,
            source_release=self.opts.source_release,
        )
        self.report.release = self.rid
        for hostname, device in self.devices.items():
            self.store.record_device(
                self.rid,
                hostname,
                platform=device.report.platform,
                running_before=self.mask(device.running) if device.running is not None else None,
                plan=device.report.diff,
                outcome="planned" if device.report.changed else "unchanged",
                operations=0,
            )

    def _finish(self, outcome: str, error: str = "") -> None:
        self.report.outcome = outcome
        if error:
            self.report.error = self.mask(error)
        for device in self.devices.values():
            if device.report.outcome == "planned":  # the transaction stopped before it
                device.report.outcome = "not-applied"
        if self.rid is not None:
            for hostname, device in self.devices.items():
                r = device.report
                self.store.record_device(
                    self.rid,
                    hostname,
                    platform=r.platform,
                    outcome=r.outcome,
                    operations=r.operations,
                    error=r.error or None,
                )
            self.journal("finish", outcome=outcome)
            self.store.finish_release(self.rid, outcome, error=self.report.error or None)
            self._write_report()
        self.emit("finish", outcome, detail=self.report.error)

    def _write_report(self) -> None:
        """The release as one HTML page beside the store: ``<state>/reports/<release>.html``.
        A report that cannot be written is logged; it never changes the release's outcome."""
        from kopnet_iac.report.release import write_release_report

        assert self.rid is not None
        path = self.store.path.parent / "reports" / f"{self.rid}.html"
        try:
            write_release_report(self.store, self.rid, path, inventory=self.inv)
        except Exception as exc:  # the release is recorded; the page is a convenience
            log.warning("%s: release report not written: %s", self.opts.village, exc)

    def _fail(self, exc: BaseException) -> None:
        message = str(exc) or type(exc).__name__
        log.info("%s: deploy failed: %s", self.opts.village, self.mask(message))
        if self.rid is None:
            self.report.outcome, self.report.error = "failed", self.mask(message)
            return
        if self.report.outcome in ("confirmed", "reverted", "no-change", "failed"):
            return  # already finished
        with contextlib.suppress(Exception):
            self._revert([h for h, d in self.devices.items() if d.applied], force=False)
        with contextlib.suppress(Exception):
            self._finish("failed", message)

    # -- change --------------------------------------------------------------------------------

    def _tiers(self, hosts: list[str]) -> list[list[str]]:
        ranks = sorted({self.devices[h].expect.rank for h in hosts})
        return [[h for h in hosts if self.devices[h].expect.rank == r] for r in ranks]

    def _change(self) -> None:
        changed = [h for h, d in self.devices.items() if d.report.changed]
        self.deadline = time.monotonic() + self.opts.revert_in
        gw = self.gateway.hostname if self.gateway is not None else None
        if gw in changed:
            assert self.gateway is not None
            self.journal("arm", gw, revert_in=self.remaining())
            self.emit("arm", "start", gw)
            # armed counts as touched: if the transaction stops before the gateway's turn, its
            # revert re-applies the (unchanged) snapshot and disarms the timer
            self.devices[gw].applied = True
            self.gateway.arm(self.remaining())
            self.emit("arm", "ok", gw, f"revert in {self.remaining()} s")
        for tier in self._tiers(changed):
            error = self._apply_tier(tier)
            if error:
                self._revert([h for h, d in self.devices.items() if d.applied], force=False)
                self._finish("failed", error)
                return
        checks = self._verify()
        self.report.checks = checks
        self.journal("record verification", passed=all(c.ok for c in checks))
        self.store.record_verification(self.rid, [c.to_json() for c in checks])
        if all(c.ok for c in checks):
            error = self._confirm(changed)
            if not error:
                self._finish("confirmed")
                return
            self._revert(changed, force=True)
            self._finish("failed", error)
            return
        failing = ", ".join(f"{c.host}/{c.check}" for c in checks if not c.ok)
        self._revert(changed, force=False)
        bad = [d.report.hostname for d in self.devices.values() if d.report.outcome == "failed"]
        if bad:
            self._finish("failed", f"checks failed ({failing}); revert incomplete on {bad}")
        else:
            self._finish("reverted", f"checks failed: {failing}")

    def _apply_tier(self, tier: list[str]) -> str:
        napalm = self.napalm(tier)
        per_host = {}
        for hostname in napalm:
            device = self.devices[hostname]
            revert_in = self.remaining()
            self.journal("apply", hostname, revert_in=revert_in)
            device.applied = True
            per_host[hostname] = {
                "intended": device.config,
                "revert_in": revert_in,
                "expected_diff": device.diff,
            }
        errors = []
        for hostname, out in self.step("apply", tasks.arm_and_apply, napalm, per_host).items():
            report = self.devices[hostname].report
            if out.ok:
                report.operations = int(out.payload["operations"])
                report.outcome = "applied"
            else:
                self._device_failed(hostname, out.message())
                errors.append(report.error)
        if self.gateway is not None and self.gateway.hostname in tier and not errors:
            hostname = self.gateway.hostname
            self.journal("apply", hostname)
            self.devices[hostname].applied = True
            self.emit("apply", "start", hostname)
            try:
                step = self.gateway.apply()
                report = self.devices[hostname].report
                report.operations, report.outcome = len(step.changed), "applied"
                self.emit("apply", "ok", hostname)
            except KopnetError as exc:
                self._device_failed(hostname, str(exc))
                errors.append(self.mask(str(exc)))
        return "; ".join(errors)

    def _observe(self) -> list[CheckOutcome]:
        targets = {
            h: CheckTarget(self.devices[h].expect, self.devices[h].config) for h in self.napalm()
        }
        results = run_checks(
            self.nr,
            self.opts.village,
            targets,
            spec=self.spec,
            lab=self.opts.lab_dir is not None,
            gateway=self.gateway,
        )
        return [
            CheckOutcome(c.host, c.check, c.ok, self.mask(c.detail), c.skipped) for c in results
        ]

    def _verify(self) -> list[CheckOutcome]:
        guard = min(30.0, self.opts.revert_in / 4)
        until = min(time.monotonic() + self.opts.settle_s, self.deadline - guard)
        attempt = 0
        while True:
            attempt += 1
            self.journal("verify", attempt=attempt)
            self.emit("verify", "start", detail=f"attempt {attempt}")
            checks = self._observe()
            failed = [c for c in checks if not c.ok]
            for check in failed:
                self.emit("verify", "failed", check.host, f"{check.check}: {check.detail}")
            if not failed or time.monotonic() + self.opts.verify_interval_s >= until:
                self.emit(
                    "verify", "ok" if not failed else "failed", detail=f"{len(checks)} checks"
                )
                return checks
            time.sleep(self.opts.verify_interval_s)

    def _confirm(self, changed: list[str]) -> str:
        errors = []
        napalm = self.napalm(changed)
        for hostname in napalm:
            self.journal("confirm", hostname)
        for hostname, out in self.step("confirm", tasks.confirm, napalm, None).items():
            report = self.devices[hostname].report
            if not out.ok:
                errors.append(f"{hostname}: {self.mask(out.message())}")
            elif not out.payload["confirmed"]:
                errors.append(f"{hostname}: its revert had already run before the confirm")
            else:
                report.outcome = "confirmed"
        if errors:
            return "; ".join(errors)  # the gateway stays armed: it can still go back
        if self.gateway is not None and self.gateway.hostname in changed:
            # last: a confirmed gateway has no snapshot left to go back to
            hostname = self.gateway.hostname
            self.journal("confirm", hostname)
            try:
                self.gateway.confirm()
                self.devices[hostname].report.outcome = "confirmed"
            except KopnetError as exc:
                errors.append(f"{hostname}: {self.mask(str(exc))}")
        return "; ".join(errors)

    def _revert(self, hosts: list[str], *, force: bool) -> None:
        """Put ``hosts`` back, nearest to the NOC first; ``force`` also rolls back devices
        whose change was already confirmed."""
        for tier in reversed(self._tiers(hosts)):
            if self.gateway is not None and self.gateway.hostname in tier:
                hostname = self.gateway.hostname
                self.journal("revert", hostname)
                self.emit("revert", "start", hostname)
                report = self.devices[hostname].report
                try:
                    self.gateway.revert()
                    report.outcome = "reverted"
                    self.emit("revert", "ok", hostname)
                except KopnetError as exc:
                    report.outcome, report.error = "failed", self.mask(str(exc))
                    self.emit("revert", "failed", hostname, str(exc))
            napalm = self.napalm(tier)
            for hostname in napalm:
                self.journal("revert", hostname)
            per_host = {h: {"force": force} for h in napalm}
            for hostname, out in self.step("revert", tasks.revert, napalm, per_host).items():
                report = self.devices[hostname].report
                if out.ok:
                    report.outcome = "reverted"
                else:
                    report.outcome, report.error = "failed", self.mask(out.message())
        self._check_restored(self.napalm(hosts))

    def _check_restored(self, hosts: list[str]) -> None:
        """Read the reverted devices back: running must equal the pre-deploy running config."""
        for hostname, out in self.step("read running", tasks.fetch_running, hosts, None).items():
            device = self.devices[hostname]
            if not out.ok:
                device.report.restored = None
                continue
            try:
                device.report.restored = device.running is not None and same_configuration(
                    device.report.platform, device.running, str(out.payload["running"])
                )
            except KopnetError as exc:
                log.info("%s: cannot compare the configurations: %s", hostname, exc)
                device.report.restored = False
            if not device.report.restored and device.report.outcome == "reverted":
                device.report.outcome = "failed"
                device.report.error = "after the revert the running configuration differs"


__all__ = [
    "DeployOptions",
    "deploy_village",
    "recover_village",
    "rollback_target",
    "rollback_village",
]
