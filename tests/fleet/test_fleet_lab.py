"""Fleet operations end to end against the lab's three example villages (every emulated
RouterOS and airOS device, no gateway): backups before anything is deployed, a rollout whose
canary fails its verification and stops, its resume, a rollout that goes on past a failure,
a device changed by hand showing up in drift (with the exact plan that restores it) and in
the backup history, unreachable devices and damaged repositories.

The tests share one lab and run in file order.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import librouteros
import pytest

from kopnet_iac.lab.topology import ENV_PREFIX
from kopnet_iac.state import ReleaseStore
from tests.addresses import claim_lab_prefix
from tests.deploy.conftest import DeployLab, leaked

pytestmark = [pytest.mark.lab]

VILLAGES = ["lebung-itam", "pematang-panggang", "sukadana"]
#: one sector SSID per village, changed to make every village deploy (and verify) again
SECTOR_SSIDS = {
    "lebung-itam": "KopNet-Lebung-1",
    "pematang-panggang": "KopNet-Pematang-1",
    "sukadana": "KopNet-Sukadana-1",
}
# this area's own lab addresses (test runs of other areas use others)
PREFIX = os.environ.get("KOPNET_TEST_FLEET_PREFIX") or claim_lab_prefix()


class FleetLab(DeployLab):
    def env(self, **extra: str) -> dict[str, str | None]:
        env = super().env(**extra)
        env[ENV_PREFIX] = PREFIX
        return env

    def run(self, *args: str) -> tuple[int, Any, str]:
        result = self.kopnet(*args)
        output = result.stdout + result.stderr
        assert not leaked(output), "a secret value was printed"
        try:
            return result.exit_code, json.loads(result.stdout), result.stderr
        except ValueError:
            return result.exit_code, None, output

    def fault(self, host: str, *words: str) -> None:
        done = self.lab_cli("fault", host, *words)
        assert done.returncode == 0, done.stdout + done.stderr

    def device(self, hostname: str) -> dict[str, Any]:
        rows = self.lab_cli("status", "--json")
        return next(r for r in json.loads(rows.stdout) if r["hostname"] == hostname)

    @property
    def backups(self) -> Path:
        return self.state / "backups"

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.backups), *args], capture_output=True, text=True, check=True
        ).stdout


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, canary_env: None) -> Iterator[FleetLab]:
    import shutil

    from tests.conftest import EXAMPLE_FLEET

    root = tmp_path_factory.mktemp("fleet")
    shutil.copytree(EXAMPLE_FLEET, root / "inventory")
    running = FleetLab(root, "all")
    up = running.lab_cli("up", "--all", "--no-gateways")
    if up.returncode != 0:
        running.stop()
        raise AssertionError(up.stdout + up.stderr)
    try:
        yield running
    finally:
        running.stop()


def devices(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["hostname"]: d for d in report["devices"]}


def test_before_any_deploy_every_device_is_never_deployed_and_backed_up(lab: FleetLab) -> None:
    lab.stats(reset=True)
    code, report, _ = lab.run("drift", "--all", "--lab", "--json", "--exit-code")
    assert code == 0, report
    assert {d["status"] for d in report["devices"]} == {"never-deployed"}
    # nothing to compare with: no device was contacted
    assert {int(row["connections"]) for row in lab.stats().values()} == {0}
    code, backup, stderr = lab.run("backup", "--all", "--lab", "--json")
    assert code == 0, backup
    assert stderr == ""  # not a terminal: no progress, only the JSON document
    rows = devices(backup)
    assert rows["gw-sukadana"]["status"] == "skipped"
    read = [r for r in rows.values() if r["platform"] != "linux"]
    assert len(read) == 14 and {r["status"] for r in read} == {"new"}
    assert (lab.backups / "lebung-itam" / "bh-lebung-itam-a.cfg").is_file()
    assert lab.git("log", "--format=%s").startswith("backup ")
    assert "14 new" in backup["message"]


def test_a_fleet_dry_run_groups_the_devices_by_distinct_change(lab: FleetLab) -> None:
    lab.stats(reset=True)
    code, report, output = lab.run("deploy", "--all", "--lab", "--dry-run", "--json")
    assert code == 1, output  # changes planned, nothing applied
    planned = [
        (v["village"], d["hostname"]) for v in report["villages"] for d in v["devices"]
        if d["changed"]
    ]  # fmt: skip
    assert len(planned) == 14
    groups = report["groups"]
    members = sorted(tuple(m.split("/")) for g in groups for m in g["devices"])
    assert members == sorted(planned)  # every changed device in exactly one group
    assert len(groups) < len(planned)  # devices of the same kind share their change
    assert all(g["count"] == len(g["devices"]) and g["plan"] for g in groups)
    assert {int(row["config_commands"]) for row in lab.stats().values()} == {0}
    assert not ReleaseStore.open(lab.state).releases()


def rollout(lab: FleetLab, *args: str) -> tuple[int, dict[str, Any]]:
    code, report, output = lab.run(
        "deploy", *args, "--lab", "--yes", "--json", "--revert-in", "120", "--settle", "10"
    )
    assert report is not None, output
    return code, report


def outcomes(report: dict[str, Any]) -> dict[str, str]:
    return {v["village"]: v["status"] for v in report["villages"]}


def test_a_failing_canary_is_reverted_and_stops_the_rollout(lab: FleetLab) -> None:
    lab.fault("bh-lebung-itam-a", "--link-down", "ath0")
    try:
        code, report = rollout(lab, "--all", "--canary", "1", "--max-fail", "0")
    finally:
        lab.fault("bh-lebung-itam-a", "--link-up", "ath0")
    assert code == 1, report
    assert report["outcome"] == "stopped" and report["stopped"] is True
    assert report["waves"] == [["lebung-itam"], ["pematang-panggang", "sukadana"]]
    assert outcomes(report) == {
        "lebung-itam": "reverted",
        "pematang-panggang": "not-started",
        "sukadana": "not-started",
    }
    canary = report["villages"][0]
    assert "bh-lebung-itam-a/radio-link" in canary["failed_checks"]
    store = ReleaseStore.open(lab.state)
    recorded = store.get_rollout(report["rollout"])
    assert recorded.releases() == [canary["release"]]
    assert store.get_release(canary["release"]).outcome == "reverted"
    assert not store.releases("sukadana")  # never started: nothing recorded, nothing touched
    pytest.rollout_id = report["rollout"]  # type: ignore[attr-defined]


def test_the_stopped_rollout_resumes_where_it_stopped(lab: FleetLab) -> None:
    rid = pytest.rollout_id  # type: ignore[attr-defined]
    code, report, output = lab.run("deploy", "--resume", rid, "--yes", "--json")
    assert code == 0, output
    assert report["rollout"] == rid and report["outcome"] == "complete"
    assert outcomes(report) == dict.fromkeys(VILLAGES, "confirmed")
    store = ReleaseStore.open(lab.state)
    recorded = store.get_rollout(rid)
    assert len(recorded.releases()) == 4  # the reverted canary, then one per village
    for village in VILLAGES:
        assert store.last_successful(village) is not None


def test_a_failure_within_max_fail_lets_the_rollout_continue(lab: FleetLab) -> None:
    # a change for every village, so each one deploys and verifies again
    for village, ssid in SECTOR_SSIDS.items():
        lab.edit(f"villages/{village}.yaml", f"ssid: {ssid},", f"ssid: {ssid}-x,")
    lab.fault("bh-lebung-itam-a", "--link-down", "ath0")
    try:
        code, report = rollout(
            lab, "sukadana", "lebung-itam", "pematang-panggang", "--canary", "1",
            "--max-fail", "1", "--max-parallel", "2",
        )  # fmt: skip
    finally:
        lab.fault("bh-lebung-itam-a", "--link-up", "ath0")
        for village, ssid in SECTOR_SSIDS.items():
            lab.edit(f"villages/{village}.yaml", f"ssid: {ssid}-x,", f"ssid: {ssid},")
    assert code == 1, report
    assert report["outcome"] == "partial" and report["stopped"] is False
    assert report["waves"] == [["sukadana"], ["lebung-itam", "pematang-panggang"]]
    assert outcomes(report) == {
        "sukadana": "confirmed",
        "lebung-itam": "reverted",
        "pematang-panggang": "confirmed",
    }
    assert report["counts"] == {"confirmed": 2, "reverted": 1}


def set_identity(lab: FleetLab, hostname: str, name: str) -> None:
    row = lab.device(hostname)
    api = librouteros.connect(
        host=row["host"], username="noc", password=row["password"], port=row["api_port"]
    )
    try:
        tuple(api("/system/identity/set", name=name))
    finally:
        api.close()


def test_a_device_changed_by_hand_shows_in_drift_and_in_the_backup(lab: FleetLab) -> None:
    # every device runs its village's last confirmed release (lebung-itam's change was
    # reverted, the others' confirmed): compliant, though the inventory moved back since
    code, report, output = lab.run("drift", "--all", "--lab", "--json", "--exit-code")
    assert code == 0, output
    assert {d["status"] for d in report["devices"]} == {"compliant", "not-checked"}
    # converge on the inventory again, and back up that state
    code, again = rollout(lab, "--all", "--canary", "0", "--max-parallel", "3")
    assert code == 0, again
    assert outcomes(again)["lebung-itam"] == "no-change"
    assert lab.run("backup", "--all", "--lab")[0] == 0

    set_identity(lab, "core-pematang", "tampered-core")
    html = lab.root / "compliance.html"
    code, report, output = lab.run(
        "drift", "--all", "--lab", "--json", "--exit-code", "--html", str(html)
    )
    assert code == 1, output
    rows = devices(report)
    drifted = [h for h, d in rows.items() if d["status"] == "drifted"]
    assert drifted == ["core-pematang"]
    plan = rows["core-pematang"]["plan"]
    assert "/system identity" in plan and "name: tampered-core -> core-pematang" in plan
    assert rows["core-pematang"]["operations"] == 1
    assert report["villages"][0]["village"] == "pematang-panggang"  # worst first
    assert report["counts"]["drifted"] == 1
    page = html.read_text()
    assert "core-pematang" in page and "tampered-core" in page and not leaked(page)
    # the plan is exactly what a deploy of the last release would do
    code, dry, output = lab.run("deploy", "pematang-panggang", "--lab", "--dry-run", "--json")
    assert code == 1, output
    assert devices(dry)["core-pematang"]["diff"] == plan
    assert all(d["diff"] == "" for h, d in devices(dry).items() if h != "core-pematang")

    code, backup, _ = lab.run("backup", "pematang-panggang", "--lab", "--json")
    assert code == 0 and backup["commit"], backup
    assert devices(backup)["core-pematang"]["status"] == "changed"
    assert {d["status"] for h, d in devices(backup).items() if h not in ("core-pematang",)} <= {
        "unchanged",
        "skipped",
    }
    shown = lab.git("log", "-p", "-1", "--", "pematang-panggang/core-pematang.rsc")
    assert "+/system identity set name=tampered-core" in shown
    assert "-/system identity set name=core-pematang" in shown
    assert "changed: pematang-panggang/core-pematang" in shown
    history = lab.git("log", "-p")
    assert not leaked(history) and "secret=***" in history
    set_identity(lab, "core-pematang", "core-pematang")


def test_an_unreachable_device_is_reported_and_the_rest_goes_on(lab: FleetLab) -> None:
    before = (lab.backups / "sukadana" / "sec-sukadana-1.rsc").read_bytes()
    set_identity(lab, "core-sukadana", "core-sukadana-b")
    lab.fault("sec-sukadana-1", "--refuse-login")
    try:
        code, backup, _ = lab.run("backup", "--all", "--lab", "--json")
        drift_code, drift, _ = lab.run("drift", "--all", "--lab", "--json", "--exit-code")
    finally:
        lab.fault("sec-sukadana-1", "--allow-login")
        set_identity(lab, "core-sukadana", "core-sukadana")
    assert code == 3, backup
    rows = devices(backup)
    assert rows["sec-sukadana-1"]["status"] == "unreachable" and rows["sec-sukadana-1"]["error"]
    assert rows["core-sukadana"]["status"] == "changed"  # the others were backed up
    assert (lab.backups / "sukadana" / "sec-sukadana-1.rsc").read_bytes() == before
    assert "unreachable: sukadana/sec-sukadana-1" in backup["message"]
    assert drift_code == 3, drift  # an error wins over "drift found"
    rows = devices(drift)
    assert rows["sec-sukadana-1"]["status"] == "unreachable"
    assert rows["core-sukadana"]["status"] == "drifted"
    assert rows["sec-sukadana-2"]["status"] == "compliant"
    assert drift["villages"][0]["village"] == "sukadana"


def test_damaged_backup_repository_and_state_are_refused_untouched(lab: FleetLab) -> None:
    head = lab.backups / ".git" / "HEAD"
    saved = head.read_bytes()
    head.write_text("not a ref\n")
    files = {p: p.read_bytes() for p in lab.backups.rglob("*") if p.is_file()}
    try:
        code, _, output = lab.run("backup", "--all", "--lab")
        assert code == 4, output
        assert "damaged" in output and str(lab.backups) in output
        assert {p: p.read_bytes() for p in lab.backups.rglob("*") if p.is_file()} == files
    finally:
        head.write_bytes(saved)
    broken = lab.root / "broken-state"
    broken.mkdir()
    (broken / "state.db").write_bytes(b"garbage, not a database")
    result = lab.kopnet("drift", "--all", "--lab", "--state", str(broken), env=lab.env())
    assert result.exit_code == 4, result.stdout + result.stderr
    assert "not an SQLite database" in result.stderr
    assert (broken / "state.db").read_bytes() == b"garbage, not a database"
