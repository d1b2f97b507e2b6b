"""Connection details of the running lab, for commands run with ``--lab``.

:class:`LabTargets` is the lab as a :class:`kopnet_iac.inventory.targets.TargetSource`
(registered as the ``lab`` entry point of ``kopnet_iac.target_sources``): product code
receives it as a parameter and never imports the lab.

>>> # lab_targets()["core-sukadana"].api_port  -> 8728 on its own 127.77.x.y address
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kopnet_iac.errors import LabError
from kopnet_iac.inventory.targets import ConnectionTarget
from kopnet_iac.lab import control
from kopnet_iac.lab.topology import lab_password

DeviceTarget = ConnectionTarget
"""Where and how to reach one lab device (the product's :class:`ConnectionTarget`)."""


def _target(row: dict[str, Any]) -> DeviceTarget:
    return DeviceTarget(
        hostname=str(row["hostname"]),
        platform=str(row.get("platform", "")),
        host=str(row.get("host", "")),
        api_port=row.get("api_port"),
        ssh_port=row.get("ssh_port"),
        http_port=row.get("http_port"),
        username=str(row.get("username", "")),
        password=str(row.get("password", "")),
        state=str(row.get("state", "")),
        village=str(row.get("village", "")),
        https_port=row.get("https_port"),
        key_file=str(row.get("key_file") or "") or None,
    )


def gateway_rows(lab_dir: Path) -> list[dict[str, Any]]:
    """Gateways running in network namespaces (root only), as status rows."""
    try:
        from kopnet_iac.lab import gateway_netns
    except ImportError:
        return []
    rows = []
    for info in gateway_netns.status(lab_dir):
        row: dict[str, Any] = {"api_port": None, "http_port": None, "https_port": None}
        row.update(info)
        rows.append(row)
    return rows


def lab_status(lab_dir: Path | None = None) -> list[dict[str, Any]]:
    """One row per lab device (emulated devices, then gateways); LabError when no lab runs."""
    directory = control.resolve_lab_dir(lab_dir)
    answer = control.request(directory, "status")
    rows = list(answer.get("devices", []))
    return rows + gateway_rows(directory)


def lab_targets(lab_dir: Path | None = None) -> dict[str, DeviceTarget]:
    """hostname -> :class:`DeviceTarget` of the running lab; raises :class:`LabError` if none."""
    rows = lab_status(lab_dir)
    if not rows:
        raise LabError("the lab is running but has no devices (kopnet lab up VILLAGE)")
    return {str(row["hostname"]): _target(row) for row in rows}


class LabTargets:
    """The running lab in ``lab_dir`` (default ``$KOPNET_LAB_DIR`` or ``.kopnet/lab``) as a
    target source: emulated devices from the daemon, gateways from the namespace records."""

    def __init__(self, lab_dir: Path | str | None = None) -> None:
        self.lab_dir = control.resolve_lab_dir(lab_dir)

    @property
    def location(self) -> str:
        return str(self.lab_dir)

    def targets(self) -> Mapping[str, ConnectionTarget]:
        return lab_targets(self.lab_dir)

    def gateways(self) -> list[ConnectionTarget]:
        return [_target(row) for row in gateway_rows(self.lab_dir)]

    def missing(self, village: str, hostname: str) -> str:
        return f"no lab gateway recorded in {self.lab_dir} (run `kopnet lab up {village}` as root)"

    def account_password(self, hostname: str) -> str | None:
        return lab_password(hostname)

    def __repr__(self) -> str:
        return f"LabTargets({self.location!r})"
