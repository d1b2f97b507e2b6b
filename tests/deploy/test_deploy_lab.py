"""``kopnet deploy`` end to end against the lab's emulated devices of Lebung Itam (RouterOS core
and sector, airOS PtP backhaul pair and sector), through our drivers and the real protocols.

The tests share one lab and run in file order: dry run on the fresh lab, a rollout that fails
verification and reverts, the rollout that converges, the free redeploy, then refusals.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import librouteros
import pytest
from librouteros.exceptions import TrapError

from kopnet_iac.deploy.intent import same_configuration
from kopnet_iac.deploy.runner import read_running
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.lab.targets import lab_targets
from kopnet_iac.state import ReleaseStore
from tests.conftest import REPO_ROOT
from tests.deploy.conftest import DeployLab, leaked, start_lab

pytestmark = [pytest.mark.lab]

VILLAGE = "lebung-itam"
DEVICES = {
    "core-lebung-itam": "routeros",
    "sec-lebung-itam-1": "routeros",
    "bh-lebung-itam-a": "airos",
    "bh-lebung-itam-b": "airos",
    "sec-lebung-itam-2": "airos",
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, canary_env: None) -> Iterator[DeployLab]:
    running = start_lab(tmp_path_factory.mktemp("deploy"), VILLAGE)
    try:
        yield running
    finally:
        running.stop()


def logins(lab: DeployLab) -> dict[str, set[str]]:
    """Which of the lab's own login and the NOC account (device password) each device takes:
    RouterOS over the API, airOS by the user in its running system.cfg."""
    noc = load_inventory(lab.inventory).fleet.noc.device_user
    out: dict[str, set[str]] = {}
    for host, target in lab_targets(lab.lab_dir).items():
        if host not in DEVICES:
            continue
        if DEVICES[host] == "airos":
            running = running_configs(lab)[host]
            out[host] = {line.split("=", 1)[1] for line in running.splitlines()
                         if line.startswith("users.1.name=")}  # fmt: skip
            continue
        out[host] = set()
        for user in (target.username, noc):
            try:
                api = librouteros.connect(
                    target.host, user, target.password, port=target.api_port, timeout=10
                )
            except TrapError:
                continue
            api.close()
            out[host].add(user)
    return out


def running_configs(lab: DeployLab) -> dict[str, str]:
    outcomes = read_running(lab.inventory, VILLAGE, lab_dir=lab.lab_dir)
    assert all(o.ok for o in outcomes.values()), {h: o.message() for h, o in outcomes.items()}
    assert set(outcomes) == set(DEVICES)
    return {host: str(o.payload["running"]) for host, o in outcomes.items()}


def deploy(lab: DeployLab, *args: str, env: dict[str, str | None] | None = None) -> tuple[int, Any]:
    result = lab.kopnet("deploy", VILLAGE, "--lab", "--yes", "--json", *args, env=env)
    assert not leaked(result.stdout + result.stderr), "a secret value was printed"
    try:
        return result.exit_code, json.loads(result.stdout)
    except ValueError:
        return result.exit_code, {"stdout": result.stdout, "stderr": result.stderr}


def config_commands(stats: dict[str, dict[str, Any]]) -> dict[str, int]:
    return {host: int(row["config_commands"]) for host, row in stats.items()}


def test_dry_run_shows_the_plan_and_changes_nothing(lab: DeployLab) -> None:
    before = running_configs(lab)
    lab.stats(reset=True)
    code, report = deploy(lab, "--dry-run")
    assert code == 1, report  # differences planned, nothing applied
    assert report["outcome"] == "planned" and report["release"] is None
    planned = {d["hostname"]: d for d in report["devices"]}
    assert planned["gw-lebung-itam"]["outcome"] == "skipped"  # no gateway namespace here
    for host in DEVICES:
        assert planned[host]["changed"] and planned[host]["planned_operations"] > 0, host
        assert planned[host]["operations"] == 0
    assert set(config_commands(lab.stats()).values()) == {0}
    assert running_configs(lab) == before
    assert not ReleaseStore.open(lab.state).releases(VILLAGE)


def test_a_failing_check_reverts_every_device_to_its_exact_config(lab: DeployLab) -> None:
    before = running_configs(lab)
    assert lab.lab_cli("fault", "bh-lebung-itam-a", "--link-down", "ath0").returncode == 0
    try:
        code, report = deploy(lab, "--revert-in", "120", "--settle", "10")
    finally:
        assert lab.lab_cli("fault", "bh-lebung-itam-a", "--link-up", "ath0").returncode == 0
    assert code == 1, report
    assert report["outcome"] == "reverted", report
    assert "bh-lebung-itam-a/radio-link" in report["failed_checks"]
    assert "bh-lebung-itam-b/radio-link" in report["failed_checks"]  # both ends checked
    devices = {d["hostname"]: d for d in report["devices"]}
    for host in DEVICES:
        assert devices[host]["outcome"] == "reverted", devices[host]
        assert devices[host]["operations"] > 0 and devices[host]["restored"] is True
    after = running_configs(lab)
    for host, platform in DEVICES.items():
        if platform == "airos":
            assert after[host] == before[host], host  # system.cfg byte for byte
        else:
            assert same_configuration(platform, before[host], after[host]), host
    # the NOC account the deploy created is gone again, the lab's own login works again
    assert logins(lab) == {
        "core-lebung-itam": {"admin"},
        "sec-lebung-itam-1": {"admin"},
        "bh-lebung-itam-a": {"kopnet"},
        "bh-lebung-itam-b": {"kopnet"},
        "sec-lebung-itam-2": {"kopnet"},
    }
    store = ReleaseStore.open(lab.state)
    release = store.get_release(report["release"])
    assert release.outcome == "reverted" and "radio-link" in (release.error or "")
    failing = [v for v in release.verification if not v["ok"]]
    assert any(v["check"] == "radio-link" and v["host"] == "bh-lebung-itam-a" for v in failing)
    steps = [(j["step"], j.get("host")) for j in release.journal]
    applied = [h for s, h in steps if s == "apply"]
    # farthest from the NOC first; the uplink radio nearest the ISP last
    assert applied.index("sec-lebung-itam-1") < applied.index("core-lebung-itam")
    assert applied[-1] == "bh-lebung-itam-a"
    assert {h for s, h in steps if s == "revert"} == set(DEVICES)
    assert not leaked(json.dumps([release.devices, release.verification, release.journal]))
    # the deploy wrote its report: the failing check is on it
    page = (lab.state / "reports" / f"{release.id}.html").read_text()
    assert "bh-lebung-itam-a</td><td>radio-link</td>" in page and "FAILED" in page
    assert 'data-host="bh-lebung-itam-a" data-state="reverted"' in page
    assert not leaked(page)


def test_fresh_rollout_converges_and_verifies(lab: DeployLab) -> None:
    code, report = deploy(lab, "--revert-in", "120")
    assert code == 0, report
    assert report["outcome"] == "confirmed"
    devices = {d["hostname"]: d for d in report["devices"]}
    assert all(devices[h]["outcome"] == "confirmed" for h in DEVICES), devices
    checks = {(c["host"], c["check"]): c for c in report["checks"]}
    assert all(c["ok"] for c in checks.values())
    for host in DEVICES:
        assert checks[(host, "converged")]["detail"] == "no difference left against the intent"
    assert checks[("bh-lebung-itam-b", "radio-link")]["skipped"] is False
    # nothing left to do on any device, and nothing pending
    code, again = deploy(lab, "--dry-run")
    assert code == 0 and again["outcome"] == "no-change", again
    release = ReleaseStore.open(lab.state).get_release(report["release"])
    assert release.outcome == "confirmed" and release.rendered
    assert not leaked(json.dumps(release.rendered))


def test_an_immediate_second_deploy_sends_no_configuration_command(lab: DeployLab) -> None:
    lab.stats(reset=True)
    code, report = deploy(lab)
    assert code == 0 and report["outcome"] == "no-change", report
    assert all(d["operations"] == 0 for d in report["devices"])
    stats = lab.stats()
    assert config_commands(stats) == dict.fromkeys(DEVICES, 0)
    assert all(stats[h]["round_trips"] > 0 for h in DEVICES)  # it did read every device


def test_after_the_rollout_every_device_runs_on_the_noc_account(lab: DeployLab) -> None:
    noc = load_inventory(lab.inventory).fleet.noc.device_user
    # admin (RouterOS) and the radios' earlier user are replaced: only the NOC account logs in
    assert logins(lab) == {host: {noc} for host in DEVICES}
    # the next run logged in as the NOC account at once (no refused login first)
    for host in DEVICES:
        log = lab.lab_cli("log", host).stdout
        attempts = re.findall(r"/login =name=(\S+)|ssh login (\S+)", log)
        assert attempts and "".join(attempts[-1]) == noc, (host, attempts[-3:])
    target = lab_targets(lab.lab_dir)["core-lebung-itam"]
    api = librouteros.connect(target.host, noc, target.password, port=target.api_port, timeout=10)
    try:
        keys = [row["user"] for row in api.path("user", "ssh-keys")]
    finally:
        api.close()
    assert keys == [noc]  # the fleet's key, uploaded and imported for the NOC account


def test_verify_covers_the_routeros_and_airos_devices(lab: DeployLab) -> None:
    result = lab.kopnet("verify", VILLAGE, "--lab", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    devices = {d["hostname"]: d for d in report["devices"]}
    for host in DEVICES:
        assert devices[host]["covered"], host
        names = {c["name"] for c in devices[host]["checks"]}
        assert {"converged", "management", "upstream-ping", "interfaces-up"} <= names, host
    assert {c["name"] for c in devices["bh-lebung-itam-b"]["checks"]} >= {"radio-link"}
    assert (
        devices["gw-lebung-itam"]["reason"] == "not running in the lab"
        or not devices["gw-lebung-itam"]["covered"]
    )
    lab.stats(reset=True)
    assert lab.lab_cli("fault", "bh-lebung-itam-b", "--link-down", "ath0").returncode == 0
    try:
        failed = lab.kopnet("verify", VILLAGE, "--lab")
    finally:
        assert lab.lab_cli("fault", "bh-lebung-itam-b", "--link-up", "ath0").returncode == 0
    assert failed.exit_code == 1
    lines = failed.stdout.splitlines()
    assert any("FAIL  radio-link" in line for line in lines)
    assert sum("FAIL  radio-link" in line for line in lines) == 2  # both ends of the pair
    assert "SKIP" in failed.stdout  # what the lab cannot check is said, not passed silently
    assert set(config_commands(lab.stats()).values()) == {0}  # verify is read-only


def test_an_inventory_change_is_one_small_confirmed_release(lab: DeployLab) -> None:
    lab.edit("villages/lebung-itam.yaml", "ssid: KopNet-Lebung-2", "ssid: KopNet-Lebung-2b")
    lab.stats(reset=True)
    code, report = deploy(lab)
    assert code == 0 and report["outcome"] == "confirmed", report
    changed = {d["hostname"] for d in report["devices"] if d["changed"]}
    assert changed == {"sec-lebung-itam-2"}
    stats = config_commands(lab.stats())
    assert stats["sec-lebung-itam-2"] > 0
    assert {h: n for h, n in stats.items() if h != "sec-lebung-itam-2"} == dict.fromkeys(
        set(DEVICES) - {"sec-lebung-itam-2"}, 0
    )


def test_a_deploy_of_a_locked_village_is_refused_naming_the_holder(lab: DeployLab) -> None:
    store = ReleaseStore.open(lab.state)
    lab.edit("villages/lebung-itam.yaml", "ssid: KopNet-Lebung-2b", "ssid: KopNet-Lebung-2c")
    lab.stats(reset=True)
    with store.lock(VILLAGE, "siti", "deploy"):
        result = lab.kopnet("deploy", VILLAGE, "--lab", "--yes")
    assert result.exit_code == 3
    assert "siti" in result.stderr and "locked" in result.stderr
    assert set(config_commands(lab.stats()).values()) == {0}


def test_a_missing_secret_is_named_and_nothing_is_applied(lab: DeployLab) -> None:
    env: dict[str, str | None] = {**lab.env(), "KOPNET_SECRET_WIFI_LEBUNG_ITAM": None}
    lab.stats(reset=True)
    result = lab.kopnet("deploy", VILLAGE, "--lab", "--yes", env=env)
    assert result.exit_code == 3, result.stdout + result.stderr
    assert "wifi-lebung-itam" in result.stderr and "preflight" in result.stderr
    assert "nothing was applied" in result.stderr
    assert set(config_commands(lab.stats()).values()) == {0}
    assert not ReleaseStore.open(lab.state).unfinished(VILLAGE)


def test_plain_progress_and_summary_without_json(lab: DeployLab) -> None:
    result = lab.kopnet("deploy", VILLAGE, "--lab", "--yes")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "deploy lebung-itam: confirmed" in result.stdout
    assert "sec-lebung-itam-2" in result.stdout
    # progress goes to stderr, one plain line per event (not a terminal)
    assert any(
        " apply " in line and "sec-lebung-itam-2" in line for line in result.stderr.splitlines()
    )
    assert not leaked(result.stdout + result.stderr)


def ssid_of(lab: DeployLab, host: str) -> str:
    running = running_configs(lab)[host]
    if host == "sec-lebung-itam-2":
        return next(
            line.split("=", 1)[1]
            for line in running.splitlines()
            if line.startswith("wireless.1.ssid=")
        )
    match = re.search(r"ssid=(\S+)", running)
    assert match, running
    return match.group(1)


def test_rollback_to_the_previous_release_and_two_releases_back(lab: DeployLab) -> None:
    assert ssid_of(lab, "sec-lebung-itam-2") == "KopNet-Lebung-2c"
    store = ReleaseStore.open(lab.state)
    releases = [r for r in store.releases(VILLAGE) if r.outcome == "confirmed"]
    first_rollout = releases[-1]  # the fresh rollout: KopNet-Lebung-2
    code, report = deploy_cmd(lab, "rollback")
    assert code == 0 and report["outcome"] == "confirmed", report
    assert report["kind"] == "rollback"
    assert ssid_of(lab, "sec-lebung-itam-2") == "KopNet-Lebung-2b"  # the previous release
    changed = {d["hostname"] for d in report["devices"] if d["changed"]}
    assert changed == {"sec-lebung-itam-2"}
    rolled = store.get_release(report["release"])
    assert rolled.kind == "rollback" and rolled.source_release is not None
    code, report = deploy_cmd(lab, "rollback", "--to", first_rollout.id)
    assert code == 0 and report["outcome"] == "confirmed", report
    assert ssid_of(lab, "sec-lebung-itam-2") == "KopNet-Lebung-2"
    assert store.get_release(report["release"]).source_release == first_rollout.id
    code, report = deploy_cmd(lab, "rollback", "--to", "no-such-release")
    assert code == 2 and "no-such-release" in report["stderr"]


def deploy_cmd(lab: DeployLab, command: str, *args: str) -> tuple[int, Any]:
    result = lab.kopnet(command, VILLAGE, "--lab", "--yes", "--json", *args)
    assert not leaked(result.stdout + result.stderr)
    try:
        return result.exit_code, json.loads(result.stdout)
    except ValueError:
        return result.exit_code, {"stdout": result.stdout, "stderr": result.stderr}


def test_controller_killed_after_apply_devices_revert_by_themselves_and_recover_records_it(
    lab: DeployLab,
) -> None:
    before = {h: ssid_of(lab, h) for h in ("sec-lebung-itam-1", "sec-lebung-itam-2")}
    lab.edit("villages/lebung-itam.yaml", "ssid: KopNet-Lebung-1,", "ssid: KopNet-Lebung-1d,")
    village_file = lab.inventory / "villages" / "lebung-itam.yaml"
    text = village_file.read_text()
    village_file.write_text(re.sub(r"ssid: KopNet-Lebung-2[a-z]*,", "ssid: X-2d,", text))
    # a failing radio check keeps the controller verifying: it is killed there, after apply
    assert lab.lab_cli("fault", "bh-lebung-itam-a", "--link-down", "ath0").returncode == 0
    env = {**os.environ, **{k: v for k, v in lab.env().items() if v is not None}}
    cmd = [sys.executable, "-m", "kopnet_iac.cli.main", "--inventory", str(lab.inventory),
           "deploy", VILLAGE, "--lab", "--yes", "--revert-in", "30", "--settle", "120"]  # fmt: skip
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT)
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if " verify " in line:
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        assert lab.lab_cli("fault", "bh-lebung-itam-a", "--link-up", "ath0").returncode == 0
    assert any(" apply " in line and "sec-lebung-itam-1" in line for line in seen), seen
    # nobody confirms: both devices go back by themselves within revert_in (+ a margin)
    deadline = time.monotonic() + 30 + 40
    while time.monotonic() < deadline:
        now = {h: ssid_of(lab, h) for h in before}
        if now == before:
            break
        time.sleep(1.0)
    assert {h: ssid_of(lab, h) for h in before} == before
    store = ReleaseStore.open(lab.state)
    (doubt,) = store.unfinished(VILLAGE)
    # the dead controller's lock is reported as stale, never taken over silently
    refused = lab.kopnet("recover", VILLAGE, "--lab")
    assert refused.exit_code == 3 and "stale" in refused.stderr.lower()
    assert lab.kopnet("lock", "break", VILLAGE, "--yes").exit_code == 0
    result = lab.kopnet("recover", VILLAGE, "--lab", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    (resolved,) = json.loads(result.stdout)["releases"]
    assert resolved["release"] == doubt.id and resolved["outcome"] == "reverted"
    assert {d["hostname"]: d["state"] for d in resolved["devices"]} == {
        "sec-lebung-itam-1": "old",
        "sec-lebung-itam-2": "old",
    }
    assert all(d["action"] == "none" for d in resolved["devices"])  # their own timers did it
    release = store.get_release(doubt.id)
    assert release.outcome == "reverted" and "in doubt" in (release.error or "")
    assert not store.unfinished(VILLAGE)
    again = lab.kopnet("recover", VILLAGE, "--lab")
    assert again.exit_code == 0 and "no release in doubt" in again.stdout


def test_a_device_refusing_the_login_stops_the_deploy_before_any_change(lab: DeployLab) -> None:
    assert lab.lab_cli("fault", "core-lebung-itam", "--refuse-login").returncode == 0
    lab.stats(reset=True)
    try:
        result = lab.kopnet("deploy", VILLAGE, "--lab", "--yes")
    finally:
        assert lab.lab_cli("fault", "core-lebung-itam", "--allow-login").returncode == 0
    assert result.exit_code == 3, result.stdout + result.stderr
    error = next(line for line in result.stderr.splitlines() if line.startswith("error: "))
    assert "lebung-itam/core-lebung-itam/" in error and "nothing was applied" in error
    assert "Traceback" not in result.stdout + result.stderr
    assert set(config_commands(lab.stats()).values()) == {0}


def test_only_the_named_devices_are_planned_changed_and_checked(lab: DeployLab) -> None:
    village_file = lab.inventory / "villages" / "lebung-itam.yaml"
    text = village_file.read_text()
    text = re.sub(r"ssid: KopNet-Lebung-1[a-z]*,", "ssid: KopNet-Lebung-1f,", text)
    village_file.write_text(re.sub(r"ssid: (KopNet-Lebung-2[a-z]*|X-2d),", "ssid: Y-2f,", text))
    lab.stats(reset=True)
    code, report = deploy(lab, "--only", "sec-lebung-itam-2")
    assert code == 0 and report["outcome"] == "confirmed", report
    assert [d["hostname"] for d in report["devices"]] == ["sec-lebung-itam-2"]
    assert {c["host"] for c in report["checks"]} == {"sec-lebung-itam-2"}
    stats = config_commands(lab.stats())
    assert stats["sec-lebung-itam-2"] > 0 and stats["sec-lebung-itam-1"] == 0
    assert ssid_of(lab, "sec-lebung-itam-2") == "Y-2f"
    assert ssid_of(lab, "sec-lebung-itam-1") != "KopNet-Lebung-1f"  # not selected: untouched


def test_unknown_only_host_is_a_usage_error(lab: DeployLab) -> None:
    result = lab.kopnet("deploy", VILLAGE, "--lab", "--yes", "--only", "nope-1")
    assert result.exit_code == 2 and "nope-1" in result.stderr


def test_no_secret_value_anywhere_in_the_release_store(lab: DeployLab) -> None:
    store = ReleaseStore.open(lab.state)
    releases = store.releases(VILLAGE)
    assert len(releases) >= 4
    for release in releases:
        text = json.dumps(
            [release.rendered, release.devices, release.verification, release.journal],
            default=str,
        )
        assert not leaked(text), release.id
    store.close()
    files = [path for path in lab.state.rglob("*") if path.is_file()]
    assert any(path.suffix == ".html" for path in files)  # the release reports
    for path in files:  # the database, its WAL, the reports and anything else there
        assert not leaked(path.read_bytes().decode("latin-1")), path.name
