"""Releases left "in doubt" (a controller that died or lost its link mid-deploy) resolved by
reading the devices, never by re-applying anything.

For each unfinished release of the village, oldest first: the journal says which devices the
controller had started to change; each of them is asked whether its revert is still armed
(``has_pending_commit`` / the gateway's ``pending``) and whether it runs the release's intent
(an empty ``compare_config`` against the stored rendered config; Ansible check mode for the
gateway). A revert still armed means the change was never confirmed, so it is carried out now
(what the device's timer would do anyway). Then the release records what really happened:

- every changed device back on its old configuration -> ``reverted``;
- every changed device on the new configuration, none pending -> ``confirmed``;
- some old, some new -> ``failed`` naming both groups (nothing is changed to "fix" it: the
  operator deploys or rolls back, each a transaction of its own);
- a device that cannot be read -> stays ``in-doubt`` (the next recovery tries again);
- nothing was applied before the controller stopped -> ``failed``, nothing applied.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kopnet_iac.deploy import tasks
from kopnet_iac.deploy.gateway import GatewayDeploy
from kopnet_iac.deploy.intent import NAPALM_PLATFORMS, village_intent
from kopnet_iac.deploy.report import Progress, ProgressEvent
from kopnet_iac.deploy.runner import configure_driver, run_step, village_nornir
from kopnet_iac.errors import KopnetError
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.inventory.secrets import SecretResolver

log = logging.getLogger(__name__)


@dataclass
class RecoveredDevice:
    """What one device of an in-doubt release turned out to run."""

    hostname: str
    platform: str
    state: str = "unknown"  # old | new | unknown
    pending: bool | None = None
    action: str = "none"  # none | reverted now
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "platform": self.platform,
            "state": self.state,
            "pending": self.pending,
            "action": self.action,
            "error": self.error,
        }


@dataclass
class RecoveredRelease:
    release: str
    outcome: str
    error: str
    last_step: str
    devices: list[RecoveredDevice] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "outcome": self.outcome,
            "error": self.error,
            "last_step": self.last_step,
            "devices": [d.to_json() for d in self.devices],
        }


def resolve_unfinished(
    inv: Inventory,
    store: Any,
    village: str,
    *,
    lab_dir: Path | None,
    progress: Progress | None = None,
) -> list[RecoveredRelease]:
    """Resolve every unfinished release of ``village``; call it holding the village's lock."""
    out = []
    for release in reversed(store.unfinished(village)):
        out.append(_resolve(inv, store, release, lab_dir, progress))
    return out


def _emit(progress: Progress | None, status: str, host: str | None, detail: str) -> None:
    if progress is not None:
        progress(ProgressEvent("recover", status, host, detail))


def _resolve(
    inv: Inventory, store: Any, release: Any, lab_dir: Path | None, progress: Progress | None
) -> RecoveredRelease:
    rid, village = release.id, release.village
    journal = release.journal
    last = journal[-1]["step"] if journal else "begin"
    touched = list(dict.fromkeys(j["host"] for j in journal if j["step"] in ("arm", "apply")))
    _emit(progress, "start", None, f"release {rid} in doubt (last step: {last})")
    result = RecoveredRelease(rid, "failed", "", last)
    if not touched:
        result.error = f"in doubt: the controller stopped at '{last}' before any change"
        _finish(store, result, village)
        return result
    intent = village_intent(inv, village, rendered=release.rendered)
    devices = {h: RecoveredDevice(h, intent.devices[h].platform) for h in touched}
    store.journal(rid, "recover", None, {"hosts": touched, "last_step": last})
    napalm = [h for h in touched if intent.devices[h].platform in NAPALM_PLATFORMS]
    if napalm:
        _read_napalm(inv, store, rid, village, intent, napalm, devices, lab_dir)
    for hostname in touched:
        if intent.devices[hostname].platform == "linux":
            _read_gateway(inv, store, rid, village, intent, hostname, devices[hostname], lab_dir)
    result.devices = [devices[h] for h in touched]
    states = {d.state for d in result.devices}
    reverted_now = [d.hostname for d in result.devices if d.action == "reverted now"]
    note = f"; reverted now: {', '.join(reverted_now)}" if reverted_now else ""
    if "unknown" in states:
        unread = [f"{d.hostname} ({d.error})" for d in result.devices if d.state == "unknown"]
        result.outcome = "in-doubt"
        result.error = f"in doubt after '{last}': cannot read {', '.join(unread)}{note}"
    elif states == {"old"}:
        result.outcome = "reverted"
        result.error = (
            f"in doubt after '{last}': every changed device is back on its previous "
            f"configuration{note}"
        )
    elif states == {"new"}:
        result.outcome = "confirmed"
        result.error = f"in doubt after '{last}': every changed device runs the release"
    else:
        new = [d.hostname for d in result.devices if d.state == "new"]
        old = [d.hostname for d in result.devices if d.state == "old"]
        result.error = (
            f"in doubt after '{last}': the village is split, new configuration on "
            f"{', '.join(new)}, previous on {', '.join(old)}{note}; deploy or roll back"
        )
    for device in result.devices:
        outcome = {"old": "reverted", "new": "confirmed"}.get(device.state, "failed")
        store.record_device(
            rid,
            device.hostname,
            platform=device.platform,
            outcome=outcome,
            error=device.error or None,
        )
    _finish(store, result, village)
    _emit(progress, result.outcome, None, result.error)
    return result


def _finish(store: Any, result: RecoveredRelease, village: str) -> None:
    store.journal(result.release, "finish", None, {"outcome": result.outcome, "recovered": True})
    store.finish_release(result.release, result.outcome, error=result.error or None)
    log.info("%s: release %s resolved as %s", village, result.release, result.outcome)


def _read_napalm(
    inv: Inventory,
    store: Any,
    rid: str,
    village: str,
    intent: Any,
    hosts: list[str],
    devices: dict[str, RecoveredDevice],
    lab_dir: Path | None,
) -> None:
    nr = village_nornir(inv.root, village, lab_dir=lab_dir)
    resolver = SecretResolver(inv)
    present = [h for h in hosts if h in nr.inventory.hosts]
    for hostname in set(hosts) - set(present):
        devices[hostname].error = "not in the inventory's reachable hosts"
    try:
        for hostname in present:
            device = intent.devices[hostname]
            configure_driver(
                nr,
                hostname,
                platform=device.platform,
                model=device.model,
                credentials=device.credentials,
                secrets=resolver,
                village=village,
            )
        pending = run_step(nr, "recover", tasks.pending_commit, present, None, village=village)
        armed = [h for h in present if pending[h].ok and pending[h].payload["pending"]]
        for hostname in present:
            if not pending[hostname].ok:
                devices[hostname].error = pending[hostname].message()
            else:
                devices[hostname].pending = hostname in armed
        for hostname in armed:
            store.journal(rid, "revert", hostname, {"recover": True})
        reverted = run_step(nr, "recover", tasks.revert, armed, None, village=village)
        for hostname, out in reverted.items():
            if out.ok:
                devices[hostname].action = "reverted now"
            else:
                devices[hostname].error = out.message()
        readable = [h for h in present if pending[h].ok]
        per_host = {h: {"intended": intent.devices[h].config} for h in readable}
        planned = run_step(nr, "recover", tasks.plan_config, readable, per_host, village=village)
        for hostname, out in planned.items():
            if not out.ok:
                devices[hostname].error = out.message()
            elif not devices[hostname].error:
                devices[hostname].state = "old" if out.payload["changed"] else "new"
    finally:
        nr.close_connections()


def _read_gateway(
    inv: Inventory,
    store: Any,
    rid: str,
    village: str,
    intent: Any,
    hostname: str,
    device: RecoveredDevice,
    lab_dir: Path | None,
) -> None:
    files = intent.devices[hostname].gateway_files()
    workdir = (store.path.parent / "runs" / village / f"recover-{rid}").absolute()
    gateway = GatewayDeploy(inv, village, hostname, files, workdir, lab_dir=lab_dir)
    try:
        device.pending = gateway.pending()
        if device.pending:
            store.journal(rid, "revert", hostname, {"recover": True})
            gateway.revert()
            device.action = "reverted now"
        step = gateway.plan()
    except KopnetError as exc:
        device.error = str(exc)
        return
    device.state = "old" if step.changed else "new"


__all__ = ["RecoveredDevice", "RecoveredRelease", "resolve_unfinished"]
