"""``kopnet deploy --all --dry-run``: every village planned (nothing changed, nothing
recorded), and the devices' plans grouped by distinct change
(:func:`kopnet_iac.render.grouping.group_changes`): devices whose plans are the same up to
their own values (names, addresses, VLAN ids) form one group.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from kopnet_iac.deploy.planning import DeployOptions
from kopnet_iac.deploy.report import DeployReport
from kopnet_iac.errors import KopnetError
from kopnet_iac.render.grouping import ChangeGroup, ChangeItem, fleet_values, group_changes


@dataclass
class FleetPreview:
    """Every village's dry-run report (or the error that stopped its plan) and the groups."""

    reports: list[DeployReport] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    groups: list[ChangeGroup] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(d.changed for r in self.reports for d in r.devices)

    def diff_of(self, village: str, host: str) -> str:
        for report in self.reports:
            if report.village == village:
                for device in report.devices:
                    if device.hostname == host:
                        return device.diff
        return ""

    def to_json(self) -> dict[str, Any]:
        return {
            "villages": [r.to_json() for r in self.reports],
            "errors": self.errors,
            "groups": [
                {
                    "count": g.count,
                    "representative": "/".join(g.representative),
                    "devices": ["/".join(m) for m in g.members],
                    "plan": self.diff_of(*g.representative),
                }
                for g in self.groups
            ],
        }


def preview_fleet(
    villages: Sequence[str],
    template: DeployOptions,
    *,
    max_parallel: int = 4,
    progress: Callable[[str, bool], None] | None = None,
    plan: Callable[[DeployOptions], DeployReport] | None = None,
) -> FleetPreview:
    """Dry-run every village (``max_parallel`` at a time) and group the planned changes."""
    from kopnet_iac.deploy.transaction import deploy_village
    from kopnet_iac.inventory.loader import load_inventory

    run = plan or deploy_village
    preview = FleetPreview()

    def one(village: str) -> DeployReport | str:
        try:
            options = replace(template, village=village, dry_run=True, approve=None)
            report = run(replace(options, progress=None))
        except KopnetError as exc:
            if progress is not None:
                progress(village, False)
            return str(exc)
        if progress is not None:
            progress(village, True)
        return report

    with ThreadPoolExecutor(max_workers=max(1, max_parallel)) as pool:
        results = list(pool.map(one, villages))
    for village, result in zip(villages, results, strict=True):
        if isinstance(result, str):
            preview.errors[village] = result
        else:
            preview.reports.append(result)
    items = [
        ChangeItem(r.village, d.hostname, "plan", d.diff)
        for r in preview.reports
        for d in r.devices
        if d.changed
    ]
    inv = load_inventory(template.inventory_dir)
    preview.groups = group_changes(items, fleet_values([inv], {r.village for r in preview.reports}))
    return preview


__all__ = ["FleetPreview", "preview_fleet"]
