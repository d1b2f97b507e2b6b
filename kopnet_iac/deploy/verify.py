"""Verification as data: the role checks of ``checks.yaml`` evaluated over getter data.

Pure: :func:`evaluate` takes the declared checks (:class:`VerifySpec`), what the inventory
expects of a device (:class:`~kopnet_iac.deploy.expect.DeviceExpectation`) and what the device
reported (:class:`Observation`, filled by :func:`kopnet_iac.deploy.tasks.collect_observation`
from the NAPALM getters), and returns one :class:`CheckOutcome` per check. No I/O here, so the
tests drive it with recorded getter data.

Getter data is read tolerantly where drivers differ in spelling (``enabled`` or ``disabled``,
``signal`` or ``signal_dbm`` or RouterOS ``signal-strength`` text such as ``-58dBm@6Mbps``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kopnet_iac.deploy.expect import DeviceExpectation
from kopnet_iac.errors import KopnetError

CheckKind = Literal[
    "converged",
    "management",
    "upstream-ping",
    "interfaces-up",
    "pppoe-server",
    "hotspot",
    "radio-link",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CheckSpec(_Model):
    """One declared check of a role."""

    check: CheckKind
    target: str = "upstream"
    name: str | None = Field(None, description="stable name, default: the check kind")

    @property
    def label(self) -> str:
        return self.name or self.check


class LabSpec(_Model):
    unreachable_targets: tuple[str, ...] = ()
    reason: str = "not emulated by the lab"


class VerifySpec(_Model):
    """The whole ``checks.yaml``."""

    margin_db: int = Field(6, ge=0, le=40)
    max_loss_percent: int = Field(20, ge=0, le=100)
    ping_count: int = Field(3, ge=1, le=20)
    lab: LabSpec = LabSpec()
    roles: dict[str, tuple[CheckSpec, ...]]

    def checks_for(self, role: str) -> tuple[CheckSpec, ...]:
        return self.roles.get(role, ())


def load_verify_spec(path: Path | None = None) -> VerifySpec:
    """The checks declared in ``path`` (default: the package's ``checks.yaml``)."""
    if path is None:
        return _default_spec()
    return _parse_spec(path.read_text(encoding="utf-8"), str(path))


@functools.cache
def _default_spec() -> VerifySpec:
    text = resources.files("kopnet_iac.deploy").joinpath("checks.yaml").read_text("utf-8")
    return _parse_spec(text, "checks.yaml")


def _parse_spec(text: str, where: str) -> VerifySpec:
    try:
        return VerifySpec.model_validate(yaml.safe_load(text))
    except (ValidationError, yaml.YAMLError) as exc:
        raise KopnetError(f"{where}: invalid verification checks: {exc}") from exc


@dataclass
class Observation:
    """What one device reported to the verification getters (``None``: not collected)."""

    hostname: str
    reachable: bool = False
    error: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    diff: str | None = None
    interfaces: dict[str, dict[str, Any]] | None = None
    pings: dict[str, dict[str, Any]] = field(default_factory=dict)
    pppoe_servers: list[dict[str, Any]] | None = None
    hotspot_servers: list[dict[str, Any]] | None = None
    wireless: list[dict[str, Any]] | None = None
    getter_errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckOutcome:
    """Result of one check on one device; ``skipped`` checks count as passed, said so."""

    host: str
    check: str
    ok: bool
    detail: str
    skipped: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "check": self.check,
            "ok": self.ok,
            "detail": self.detail,
            "skipped": self.skipped,
        }


def ping_targets(spec: VerifySpec, expect: DeviceExpectation, *, lab: bool) -> dict[str, str]:
    """Addresses the device must ping (target name -> address), lab-unanswerable ones left out."""
    out: dict[str, str] = {}
    for check in spec.checks_for(expect.role):
        if check.check != "upstream-ping":
            continue
        address = expect.targets.get(check.target)
        if address is None or (lab and _lab_skips(spec, expect, check.target)):
            continue
        out[check.target] = address
    return out


def _lab_skips(spec: VerifySpec, expect: DeviceExpectation, target: str) -> bool:
    address = expect.targets.get(target)
    return any(expect.targets.get(name) == address for name in spec.lab.unreachable_targets)


def evaluate(
    spec: VerifySpec, expect: DeviceExpectation, obs: Observation, *, lab: bool = False
) -> list[CheckOutcome]:
    """Every check of the device's role, in declared order."""
    results: list[CheckOutcome] = []
    for check in spec.checks_for(expect.role):
        label = check.label
        if not obs.reachable and check.check != "management":
            results.append(CheckOutcome(expect.hostname, label, False, "device not reachable"))
            continue
        results.append(_evaluate_one(spec, check, expect, obs, lab=lab))
    return results


def _evaluate_one(
    spec: VerifySpec, check: CheckSpec, expect: DeviceExpectation, obs: Observation, *, lab: bool
) -> CheckOutcome:
    host, label = expect.hostname, check.label

    def out(ok: bool, detail: str, skipped: bool = False) -> CheckOutcome:
        return CheckOutcome(host, label, ok, detail, skipped)

    kind = check.check
    if kind == "management":
        return _management(expect, obs, out)
    if kind == "converged":
        if obs.diff is None:
            return out(False, obs.getter_errors.get("compare", "configuration not compared"))
        if obs.diff.strip():
            changes = sum(1 for line in obs.diff.splitlines() if line[:1] in "+-")
            return out(False, f"{changes or 'some'} difference(s) left against the intent")
        return out(True, "no difference left against the intent")
    if kind == "upstream-ping":
        return _ping(spec, check, expect, obs, lab, out)
    if kind == "interfaces-up":
        return _interfaces(expect, obs, out)
    if kind == "pppoe-server":
        return _servers("PPPoE", expect.pppoe_servers, obs.pppoe_servers, obs, "pppoe", out)
    if kind == "hotspot":
        return _servers("hotspot", expect.hotspot_servers, obs.hotspot_servers, obs, "hotspot", out)
    return _radio(spec, expect, obs, out)


_Out = Callable[..., CheckOutcome]  # the local ``out`` helper of _evaluate_one


def _management(expect: DeviceExpectation, obs: Observation, out: _Out) -> CheckOutcome:
    if not obs.reachable:
        return out(False, f"no answer on the management address: {obs.error or 'unreachable'}")
    model = str(obs.facts.get("model", ""))
    if model and model.lower() != expect.model.lower():
        return out(False, f"device reports model {model!r}, inventory says {expect.model!r}")
    uptime = obs.facts.get("uptime")
    extra = f", up {int(float(uptime))} s" if isinstance(uptime, int | float) else ""
    return out(True, f"answers, model {model or expect.model}{extra}")


def _ping(
    spec: VerifySpec,
    check: CheckSpec,
    expect: DeviceExpectation,
    obs: Observation,
    lab: bool,
    out: _Out,
) -> CheckOutcome:
    address = expect.targets.get(check.target)
    if address is None:
        return out(False, f"unknown ping target {check.target!r}")
    if lab and _lab_skips(spec, expect, check.target):
        return out(True, f"skipped in the lab ({address}): {spec.lab.reason}", skipped=True)
    answer = obs.pings.get(address)
    if answer is None:
        return out(False, f"ping {address} not run")
    if "unsupported" in answer:
        return out(True, f"ping {address} skipped: {answer['unsupported']}", skipped=True)
    if "error" in answer:
        return out(False, f"ping {address}: {answer['error']}")
    success = answer.get("success", answer)
    sent = int(success.get("probes_sent", 0) or 0)
    loss = int(success.get("packet_loss", sent) or 0)
    if sent <= 0:
        return out(False, f"ping {address}: no probe sent")
    percent = 100 * loss // sent
    detail = f"ping {address}: {sent - loss}/{sent} answered"
    rtt = success.get("rtt_avg")
    if isinstance(rtt, int | float) and sent > loss:
        detail += f", avg {rtt:.0f} ms"
    return out(percent <= spec.max_loss_percent, detail)


def _interfaces(expect: DeviceExpectation, obs: Observation, out: _Out) -> CheckOutcome:
    if obs.interfaces is None:
        return out(False, obs.getter_errors.get("interfaces", "interfaces not read"))
    if not expect.ports:
        return out(True, "no linked ports in the inventory", skipped=True)
    missing = [p for p in expect.ports if p not in obs.interfaces]
    down = [
        p
        for p in expect.ports
        if p in obs.interfaces
        and not (obs.interfaces[p].get("is_up") and obs.interfaces[p].get("is_enabled", True))
    ]
    if missing or down:
        parts = []
        if down:
            parts.append(f"down: {', '.join(down)}")
        if missing:
            parts.append(f"absent: {', '.join(missing)}")
        return out(False, "; ".join(parts))
    return out(True, f"up: {', '.join(expect.ports)}")


def row_enabled(row: dict[str, Any]) -> bool:
    """A PPPoE/hotspot server row is enabled (``enabled`` true or ``disabled`` false)."""
    if "enabled" in row:
        return _truthy(row["enabled"])
    if "disabled" in row:
        return not _truthy(row["disabled"])
    return True


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "true", "1", "on", "enabled")
    return bool(value)


def _servers(
    what: str,
    wanted: int,
    rows: list[dict[str, Any]] | None,
    obs: Observation,
    getter: str,
    out: _Out,
) -> CheckOutcome:
    if wanted == 0:
        return out(True, f"village sells no {what} plan", skipped=True)
    if rows is None:
        return out(False, obs.getter_errors.get(getter, f"{what} servers not read"))
    enabled = [r for r in rows if row_enabled(r)]
    names = ", ".join(str(r.get("interface") or r.get("name") or "?") for r in enabled)
    if len(enabled) < wanted:
        return out(False, f"{len(enabled)} of {wanted} {what} server(s) enabled ({names or '-'})")
    return out(True, f"{len(enabled)} {what} server(s) enabled: {names}")


_DBM = re.compile(r"-?\d+(?:\.\d+)?")


def signal_dbm(row: dict[str, Any]) -> float | None:
    """Signal of a registration/station row in dBm, whatever the driver calls it."""
    for key in ("signal_dbm", "signal", "signal_strength", "signal-strength", "rssi"):
        value = row.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            match = _DBM.search(value)
            if match:
                return float(match.group())
    return None


_PEER_KEYS = ("radio_name", "radio-name", "remote_hostname", "hostname", "name", "peer", "identity")


def _peer_row(rows: list[dict[str, Any]], peer: str) -> dict[str, Any] | None:
    for row in rows:
        if any(str(row.get(k, "")).lower() == peer.lower() for k in _PEER_KEYS):
            return row
    return rows[0] if len(rows) == 1 else None


def _radio(
    spec: VerifySpec, expect: DeviceExpectation, obs: Observation, out: _Out
) -> CheckOutcome:
    radio = expect.radio
    if radio is None:
        return out(True, "no PtP radio link in the inventory", skipped=True)
    if obs.wireless is None:
        return out(False, obs.getter_errors.get("wireless", "wireless registrations not read"))
    threshold = radio.expected_signal_dbm - spec.margin_db
    if not obs.wireless:
        return out(False, f"{radio.peer} not registered on {radio.local_port}")
    row = _peer_row(obs.wireless, radio.peer)
    if row is None:
        return out(False, f"{radio.peer} not among {len(obs.wireless)} registered station(s)")
    signal = signal_dbm(row)
    if signal is None:
        return out(False, f"{radio.peer} registered, signal not reported")
    detail = (
        f"{radio.peer} registered, signal {signal:.0f} dBm "
        f"(expected {radio.expected_signal_dbm} dBm, margin {spec.margin_db} dB)"
    )
    return out(signal >= threshold, detail)


__all__ = [
    "CheckOutcome",
    "CheckSpec",
    "Observation",
    "VerifySpec",
    "evaluate",
    "load_verify_spec",
    "ping_targets",
    "row_enabled",
    "signal_dbm",
]
