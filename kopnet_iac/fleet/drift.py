"""Drift and compliance: every device planned against its village's last confirmed release.

Per device, one of:

- ``compliant``: the driver's semantic plan (``compare_config`` of the release's intended
  config as a replace candidate) is empty;
- ``drifted``: the plan is not empty; it is the exact plan that would restore the device
  (what ``kopnet rollback --to RELEASE`` would apply), secrets masked;
- ``unreachable``: the device could not be reached, logged into, read or planned (the reason
  is given);
- ``never-deployed``: the village has no confirmed release: nothing to compare with (no device
  is contacted).

Linux gateways: their managed files (one SSH read, :mod:`kopnet_iac.fleet.gateway`) are
compared with the release's rendered files, secrets masked on both sides; ``drifted`` carries
a unified diff per file that differs (from the running file to the release's), and a network
file of another backend left on the gateway counts as drift (the role removes those).

Cost: a device is opened and planned once (``load_replace_candidate`` + ``compare_config``:
for RouterOS the login and one pipelined read of the managed menus; for airOS one SSH read
of ``system.cfg``), no more than one ``get_config`` of it, and nothing is written to it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kopnet_iac.errors import KopnetError
from kopnet_iac.fleet.gateway import (
    GATEWAY_PLATFORM,
    GatewayOutcome,
    compare_files,
    intended_by_path,
    network_backend,
    read_gateways,
)
from kopnet_iac.fleet.reading import (
    DeviceProgress,
    FleetDevice,
    check_villages,
    fleet_devices,
    fleet_nornir,
    is_unreachable,
    read_devices,
)
from kopnet_iac.state.redact import mask_secrets

log = logging.getLogger(__name__)

#: worst first (the order of the summary and of the villages)
STATUSES = ("unreachable", "drifted", "never-deployed", "compliant")


@dataclass
class DeviceDrift:
    village: str
    hostname: str
    platform: str
    status: str
    release: str | None = None
    plan: str = ""
    operations: int = 0
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class DriftReport:
    devices: list[DeviceDrift] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        found = Counter(d.status for d in self.devices)
        return {s: found[s] for s in (*STATUSES, "not-checked") if found[s] or s in STATUSES}

    def villages(self) -> list[tuple[str, dict[str, int]]]:
        """Villages with their counts, worst first (most unreachable + drifted + never
        deployed, then most unreachable, then most drifted, then by name)."""
        per: dict[str, Counter[str]] = {}
        for d in self.devices:
            per.setdefault(d.village, Counter())[d.status] += 1
        ranked = sorted(
            per.items(),
            key=lambda item: (
                -(item[1]["unreachable"] + item[1]["drifted"] + item[1]["never-deployed"]),
                -item[1]["unreachable"],
                -item[1]["drifted"],
                item[0],
            ),
        )
        return [(v, {s: c[s] for s in (*STATUSES, "not-checked") if c[s]}) for v, c in ranked]

    def page_rows(self) -> list[dict[str, str]]:
        """Rows for :func:`kopnet_iac.report.compliance.render_compliance_page`."""
        return [
            {"village": d.village, "hostname": d.hostname, "status": d.status, "plan": d.plan}
            for d in self.devices
            if d.status in STATUSES
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": self.counts(),
            "villages": [{"village": v, "counts": c} for v, c in self.villages()],
            "devices": [d.to_json() for d in self.devices],
        }


def drift_villages(
    inventory_dir: Path,
    villages: Sequence[str],
    *,
    state_dir: Path | None = None,
    lab_dir: Path | None = None,
    progress: DeviceProgress | None = None,
    workers: int = 32,
) -> DriftReport:
    """Plan every device of ``villages`` against its last confirmed release (see the module
    docstring). Raises KopnetError for an unknown village or an unusable release store."""
    from kopnet_iac.deploy.intent import preflight_secrets, village_intent
    from kopnet_iac.deploy.tasks import plan_config
    from kopnet_iac.inventory.loader import load_inventory
    from kopnet_iac.platforms.linux.transaction import managed_paths
    from kopnet_iac.state import ReleaseStore, StateMissingError

    inv = load_inventory(inventory_dir)
    chosen = check_villages(inv, villages)
    releases: dict[str, Any] = {}
    try:
        store = ReleaseStore.open(state_dir, create=False)
    except StateMissingError:
        store = None  # nothing was ever deployed
    if store is not None:
        with store:
            for village in chosen:
                releases[village] = store.last_successful(village)
    report = DriftReport()
    per_host: dict[str, dict[str, Any]] = {}
    secrets: dict[str, Any] = {}
    intents: dict[str, Any] = {}
    to_plan = []
    gateways: list[FleetDevice] = []
    gw_intended: dict[str, dict[str, str | None]] = {}
    for device in fleet_devices(inv, chosen):
        release = releases.get(device.village)
        row = DeviceDrift(device.village, device.hostname, device.platform, "never-deployed")
        report.devices.append(row)
        if release is None:
            continue
        row.release = release.id
        if device.village not in intents:
            intents[device.village] = village_intent(inv, device.village, rendered=release.rendered)
        intent = intents[device.village]
        if device.platform == GATEWAY_PLATFORM:
            files = intent.devices[device.hostname].gateway_files()
            if files:
                backend = network_backend(inv, device.village)
                gw_intended[device.hostname] = intended_by_path(files, managed_paths(), backend)
                gateways.append(device)
            else:
                row.error = "not in the release"
            continue
        if device.platform not in ("routeros", "airos"):
            row.status = "not-checked"
            continue
        if device.hostname not in intent.devices or not intent.devices[device.hostname].config:
            row.error = "not in the release"
            continue
        if device.village not in secrets:
            hosts = [h for h in intent.devices if intent.devices[h].config]
            try:
                values, _ = preflight_secrets(inv, intent, hosts, credentials=lab_dir is None)
            except KopnetError as exc:
                raise KopnetError(str(exc), village=device.village, step="drift") from exc
            secrets[device.village] = values
        per_host[device.hostname] = {"intended": intent.devices[device.hostname].config}
        to_plan.append(device)
    if to_plan:
        nr = fleet_nornir(
            inventory_dir,
            sorted({d.village for d in to_plan}),
            lab_dir=lab_dir,
            workers=workers,
            progress=progress,
        )
        outcomes, skipped = read_devices(
            nr, to_plan, "drift", plan_config, per_host, secrets=secrets
        )
    else:
        outcomes, skipped = {}, {}
    rows = {d.hostname: d for d in report.devices}
    for device in to_plan:
        row = rows[device.hostname]
        if device.hostname in skipped:
            row.status, row.error = "unreachable", skipped[device.hostname]
            continue
        out = outcomes[device.hostname]
        if not out.ok:
            row.status = "unreachable"
            row.error = mask_secrets(out.message())
            if not is_unreachable(out.error):
                row.error = f"cannot plan: {row.error}"
            continue
        diff = str(out.payload["diff"])
        row.plan = mask_secrets(diff)
        row.operations = int(out.payload["operations"])
        row.status = "drifted" if out.payload["changed"] else "compliant"
    read = read_gateways(inv, gateways, lab_dir, progress, workers, intended=gw_intended)
    for device in gateways:
        gateway_row(rows[device.hostname], read[device.hostname], gw_intended[device.hostname])
    for row in report.devices:
        if row.status == "not-checked" and not row.error:
            from kopnet_iac.fleet.reading import GATEWAY_NOTE

            row.error = GATEWAY_NOTE
    log.info("drift: %s", report.counts())
    return report


def gateway_row(row: DeviceDrift, out: GatewayOutcome, intended: dict[str, str | None]) -> None:
    """Fill a gateway's row: its files compared with the release's (both masked)."""
    if out.status == "skipped":
        row.status, row.error = "not-checked", out.error
        return
    if out.status != "ok":
        row.status = "unreachable"
        row.error = out.error if out.status == "unreachable" else f"cannot read: {out.error}"
        return
    running = {path: out.files.get(path) for path in intended}
    drifts = compare_files(running, intended, row.release or "")
    row.plan = mask_secrets("".join(d.diff for d in drifts))
    row.operations = len(drifts)
    row.status = "drifted" if drifts else "compliant"


__all__ = ["STATUSES", "DeviceDrift", "DriftReport", "drift_villages", "gateway_row"]
