"""The fleet summaries as data (pure): drift counts and worst-first order, the compliance page
built from a drift report, the rollout summary, render progress."""

from __future__ import annotations

from pathlib import Path

import pytest

from kopnet_iac.fleet.drift import DeviceDrift, DriftReport
from kopnet_iac.fleet.rollout import RolloutReport, VillageOutcome
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.render.parallel import render_villages_parallel
from kopnet_iac.render.renderer import Renderer, default_templates_dir
from tests.conftest import EXAMPLE_FLEET


def drift_report() -> DriftReport:
    report = DriftReport()
    report.devices = [
        DeviceDrift("calm", "core-calm", "routeros", "compliant", release="calm-1"),
        DeviceDrift("calm", "gw-calm", "linux", "not-checked", release="calm-1"),
        DeviceDrift("busy", "core-busy", "routeros", "drifted", release="busy-1",
                    plan="core-busy: 1 operation(s)\n  name: x -> core-busy\n  secret=hunter22",
                    operations=1),
        DeviceDrift("busy", "sec-busy", "airos", "compliant", release="busy-1"),
        DeviceDrift("dark", "core-dark", "routeros", "unreachable", release="dark-1",
                    error="connection refused"),
        DeviceDrift("dark", "sec-dark", "airos", "drifted", release="dark-1", plan="-a=1\n+a=2"),
        DeviceDrift("new", "core-new", "routeros", "never-deployed"),
    ]  # fmt: skip
    return report


def test_counts_cover_every_status_and_the_gateways_apart() -> None:
    assert drift_report().counts() == {
        "unreachable": 1,
        "drifted": 2,
        "never-deployed": 1,
        "compliant": 2,
        "not-checked": 1,
    }
    assert DriftReport().counts() == dict.fromkeys(
        ("unreachable", "drifted", "never-deployed", "compliant"), 0
    )


def test_villages_are_listed_worst_first() -> None:
    order = [village for village, _ in drift_report().villages()]
    assert order == ["dark", "busy", "new", "calm"]
    assert dict(drift_report().villages())["calm"] == {"compliant": 1, "not-checked": 1}


def test_the_compliance_page_shows_the_drift_without_secrets(tmp_path: Path) -> None:
    from kopnet_iac.report.compliance import render_compliance_page

    report = drift_report()
    rows = report.page_rows()
    assert {r["hostname"] for r in rows} == {d.hostname for d in report.devices} - {"gw-calm"}
    page = render_compliance_page(rows, tmp_path / "c.html").read_text()
    assert page.index("dark") < page.index("calm")
    assert "name: x -&gt; core-busy" in page or "name: x -> core-busy" in page
    assert "hunter22" not in page
    data = report.to_json()
    assert data["villages"][0] == {
        "village": "dark",
        "counts": {"unreachable": 1, "drifted": 1},
    }


def test_the_rollout_summary_counts_every_village() -> None:
    report = RolloutReport("rollout-1", [["a"], ["b", "c"]], max_fail=0, stopped=True)
    report.villages = [
        VillageOutcome("a", 0, "reverted", release="a-1", failed_checks=["r/radio-link"]),
        VillageOutcome("b", 1, "not-started"),
        VillageOutcome("c", 1, "not-started"),
    ]
    assert report.counts() == {"reverted": 1, "not-started": 2}
    data = report.to_json()
    assert data["villages"][0]["failed_checks"] == ["r/radio-link"]
    assert not report.villages[0].ok and VillageOutcome("x", 0, "no-change").ok


@pytest.mark.parametrize("jobs", [1, 2])
def test_render_reports_progress_for_every_village(jobs: int) -> None:
    inv = load_inventory(EXAMPLE_FLEET)
    renderer = Renderer(default_templates_dir(EXAMPLE_FLEET))
    ids = sorted(inv.villages)
    steps: list[int] = []
    artifacts = render_villages_parallel(renderer, inv, ids, jobs, progress=steps.append)
    assert sum(steps) == len(ids)
    assert {a.village for a in artifacts} == set(ids)
    assert artifacts == render_villages_parallel(renderer, inv, ids, jobs)


def test_a_fleet_preview_names_each_group_with_its_representative_plan() -> None:
    from kopnet_iac.deploy.report import DeployReport, DeviceReport
    from kopnet_iac.fleet.preview import FleetPreview
    from kopnet_iac.render.grouping import ChangeItem, group_changes

    reports = []
    for village in ("v1", "v2", "v3"):
        device = DeviceReport(f"core-{village}", "routeros", "core-router")
        device.changed = village != "v3"
        device.diff = f"/system identity set name=core-{village}-b" if device.changed else ""
        reports.append(DeployReport(village, outcome="planned", devices=[device]))
    preview = FleetPreview(reports=reports, errors={"v4": "v4: lock held by ana"})
    items = [
        ChangeItem(r.village, d.hostname, "plan", d.diff) for r in reports for d in r.devices
        if d.changed
    ]  # fmt: skip
    preview.groups = group_changes(items, {})
    assert preview.changed
    data = preview.to_json()
    assert data["groups"] == [
        {
            "count": 2,
            "representative": "v1/core-v1",
            "devices": ["v1/core-v1", "v2/core-v2"],
            "plan": "/system identity set name=core-v1-b",
        }
    ]
    assert data["errors"] == {"v4": "v4: lock held by ana"}
    assert FleetPreview().to_json()["groups"] == [] and not FleetPreview().changed


def test_rollout_options_recorded_for_a_resume() -> None:
    from kopnet_iac.deploy.planning import DeployOptions
    from kopnet_iac.fleet.rollout import RolloutOptions

    template = DeployOptions(
        village="", inventory_dir=EXAMPLE_FLEET, lab_dir=Path("/l"), revert_in=120, settle_s=5
    )
    recorded = RolloutOptions(2, 1.5, 3, 1, template).to_json()
    assert recorded == {
        "canary": 2, "growth": 1.5, "max_parallel": 3, "max_fail": 1, "lab_dir": "/l",
        "revert_in": 120, "settle_s": 5,
    }  # fmt: skip
    assert RolloutOptions().to_json()["lab_dir"] is None
