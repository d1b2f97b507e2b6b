"""Running the verification of a village: role checks of RouterOS/airOS devices through their
drivers' getters (in parallel with Nornir) and the gateway checks over SSH, at the same time.

Used by the deploy transaction after applying, and by ``kopnet verify`` on its own
(:func:`verify_village`, read-only: nothing on any device changes).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kopnet_iac.deploy import tasks
from kopnet_iac.deploy.expect import DeviceExpectation, village_expectations
from kopnet_iac.deploy.runner import HostOutcome, configure_driver, run_step, village_nornir
from kopnet_iac.deploy.verify import (
    CheckOutcome,
    VerifySpec,
    evaluate,
    load_verify_spec,
    ping_targets,
)
from kopnet_iac.errors import ConnectError, KopnetError, LabError, SecretError

if TYPE_CHECKING:
    from nornir.core import Nornir

    from kopnet_iac.deploy.gateway import GatewayDeploy


@dataclass(frozen=True)
class CheckTarget:
    """A RouterOS/airOS device to check: what the inventory expects and its rendered intent."""

    expect: DeviceExpectation
    intended: str | None = None


def run_checks(
    nr: Nornir | None,
    village: str,
    targets: dict[str, CheckTarget],
    *,
    spec: VerifySpec,
    lab: bool,
    gateway: GatewayDeploy | None = None,
) -> list[CheckOutcome]:
    """One round of every check: device getters in parallel, the gateway's beside them."""
    per_host = {
        hostname: {
            "intended": target.intended,
            "ping_targets": ping_targets(spec, target.expect, lab=lab),
            "ping_count": spec.ping_count,
        }
        for hostname, target in targets.items()
    }
    if nr is None or not targets:
        gateway_checks = gateway.checks() if gateway is not None else []
        observed: dict[str, HostOutcome] = {}
    else:
        gateway_checks, observed = _parallel(nr, village, targets, per_host, gateway)
    results: list[CheckOutcome] = []
    for hostname, target in targets.items():
        out = observed[hostname]
        if out.ok:
            results += evaluate(spec, target.expect, out.payload, lab=lab)
        else:
            results.append(CheckOutcome(hostname, "management", False, out.message()))
    if gateway is not None:
        results += [CheckOutcome(gateway.hostname, c.name, c.ok, c.detail) for c in gateway_checks]
    return results


def _parallel(
    nr: Nornir,
    village: str,
    targets: dict[str, CheckTarget],
    per_host: dict[str, dict[str, Any]],
    gateway: GatewayDeploy | None,
) -> tuple[list[Any], dict[str, HostOutcome]]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(
            run_step,
            nr,
            "verify",
            tasks.collect_observation,
            list(targets),
            per_host,
            village=village,
        )
        gateway_checks = gateway.checks() if gateway is not None else []
        return gateway_checks, future.result()


@dataclass
class VillageVerification:
    """``kopnet verify``'s report: per device, its checks (or why it is not covered)."""

    village: str
    lab: bool
    devices: list[dict[str, Any]] = field(default_factory=list)

    @property
    def checks(self) -> list[dict[str, Any]]:
        return [c for d in self.devices for c in d["checks"]]

    @property
    def ok(self) -> bool:
        return all(c["ok"] for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        checks = self.checks
        return {
            "village": self.village,
            "lab": self.lab,
            "ok": self.ok,
            "checks": len(checks),
            "failed": sum(1 for c in checks if not c["ok"]),
            "devices": self.devices,
        }


def verify_village(
    inventory_dir: Path, village: str, *, lab_dir: Path | None, spec: VerifySpec | None = None
) -> VillageVerification:
    """Read-only checks of every device of ``village`` (the running lab's with ``lab_dir``).

    RouterOS/airOS: the role checks of ``checks.yaml`` (``converged`` compares the device with
    its rendered intent); the gateway: the checks of :mod:`kopnet_iac.platforms.linux.checks`.
    A device that is not running in the lab is listed as not covered, with the reason.
    """
    from kopnet_iac.deploy.gateway import GatewayDeploy
    from kopnet_iac.deploy.intent import NAPALM_PLATFORMS, village_intent
    from kopnet_iac.inventory.loader import load_inventory
    from kopnet_iac.inventory.secrets import SecretResolver

    inv = load_inventory(inventory_dir)
    if village not in inv.villages:
        known = ", ".join(sorted(inv.villages))
        raise KopnetError(f"unknown village {village!r} (known: {known})")
    spec = spec or load_verify_spec()
    intent = village_intent(inv, village)
    expectations = village_expectations(inv, village)
    resolver = SecretResolver(inv)
    # the gateway first: its checks need no driver; production logins need every secret
    order = sorted(intent.devices.values(), key=lambda d: d.role != "gateway")
    if lab_dir is None:
        for device in order:
            try:
                resolver.get(device.credentials)
            except SecretError as exc:
                raise SecretError(
                    exc.message, village=village, host=device.hostname, step="verify"
                ) from exc
    nr = _nornir(inventory_dir, village, lab_dir)
    report = VillageVerification(village, lab_dir is not None)
    rows: dict[str, dict[str, Any]] = {}
    targets: dict[str, CheckTarget] = {}
    gateway: GatewayDeploy | None = None
    for device in sorted(order, key=lambda d: list(intent.devices).index(d.hostname)):
        hostname = device.hostname
        row: dict[str, Any] = {
            "hostname": hostname,
            "role": device.role,
            "platform": device.platform,
            "covered": False,
            "checks": [],
        }
        rows[hostname] = row
        report.devices.append(row)
        if device.platform in NAPALM_PLATFORMS:
            if nr is None or hostname not in nr.inventory.hosts:
                row["reason"] = "not running in the lab"
                continue
            configure_driver(
                nr,
                hostname,
                platform=device.platform,
                model=device.model,
                credentials=device.credentials,
                secrets=resolver,
                village=village,
            )
            row.update(covered=True, host=nr.inventory.hosts[hostname].hostname)
            targets[hostname] = CheckTarget(expectations[hostname], device.config)
        elif device.role == "gateway":
            candidate = GatewayDeploy(inv, village, hostname, {}, Path("."), lab_dir=lab_dir)
            try:
                conn = candidate.connection()
            except ConnectError as exc:
                if lab_dir is None:
                    raise
                row["reason"] = exc.message
                continue
            gateway = candidate
            row.update(covered=True, host=conn.host)
    try:
        results = run_checks(
            nr, village, targets, spec=spec, lab=lab_dir is not None, gateway=gateway
        )
    finally:
        if nr is not None:
            nr.close_connections()
    if lab_dir is not None and nr is None and gateway is None:
        raise LabError(
            f"no lab running in {lab_dir} (start one with `kopnet lab up {village}`)",
            village=village,
        )
    for outcome in results:
        rows[outcome.host]["checks"].append(
            {
                "name": outcome.check,
                "ok": outcome.ok,
                "detail": outcome.detail,
                "skipped": outcome.skipped,
            }
        )
    return report


def _nornir(inventory_dir: Path, village: str, lab_dir: Path | None) -> Nornir | None:
    """Nornir over the village; None in the lab when no emulated devices run (gateways only)."""
    try:
        return village_nornir(inventory_dir, village, lab_dir=lab_dir)
    except LabError:
        if lab_dir is None:
            raise
        return None


__all__ = ["CheckTarget", "VillageVerification", "run_checks", "verify_village"]
