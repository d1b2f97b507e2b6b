"""Connection details of the running lab, for commands run with ``--lab``.

>>> # lab_targets()["core-sukadana"].api_port  -> 8728 on its own 127.77.x.y address
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kopnet_iac.errors import LabError
from kopnet_iac.lab import control

GATEWAYS_FILE = "gateways.json"


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
    password: str
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
    """Gateways brought up in network namespaces (recorded by ``kopnet lab up``)."""
    path = lab_dir / GATEWAYS_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    rows = []
    for village, info in data.items() if isinstance(data, dict) else ():
        if not isinstance(info, dict):
            continue
        row = {
            "village": village,
            "hostname": info.get("hostname", f"gw-{village}"),
            "platform": "linux",
            "model": info.get("model", ""),
            "host": info.get("host", ""),
            "api_port": None,
            "ssh_port": info.get("ssh_port", 22),
            "http_port": None,
            "username": info.get("username", ""),
            "password": info.get("password", ""),
            "state": info.get("state", "running"),
        }
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
