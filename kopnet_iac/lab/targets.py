"""Connection details of the running lab, for commands run with ``--lab``.

>>> # lab_targets()["core-sukadana"].api_port  -> 8728 on its own 127.77.x.y address
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kopnet_iac.errors import LabError
from kopnet_iac.lab import control


@dataclass(frozen=True)
class DeviceTarget:
    """Where and how to reach one lab device (lab-only credentials)."""

    hostname: str
    platform: str
    host: str
    api_port: int | None
    ssh_port: int | None
    http_port: int | None
    username: str
    password: str = field(repr=False)  # lab-only, still never in a repr
    state: str
    village: str = ""
    https_port: int | None = None


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
