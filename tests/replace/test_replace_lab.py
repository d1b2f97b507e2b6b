"""``kopnet replace`` against the lab's factory-default emulators.

The lab runs from its own copy of the example fleet in which the replaced core router carries
a new serial (the new hardware's label); ``kopnet replace`` works on another copy, the
"repository" inventory, which still names the failed device's serial.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from librouteros import connect

from kopnet_iac.cli.main import cli
from kopnet_iac.inventory.secrets import env_var_name
from kopnet_iac.lab import control
from kopnet_iac.lab.targets import lab_targets
from kopnet_iac.lab.topology import ENV_PREFIX, lab_password
from kopnet_iac.replace.bundle import filled, verify_bundle
from kopnet_iac.state import ReleaseStore
from tests.addresses import claim_lab_prefix
from tests.conftest import EXAMPLE_FLEET, REPO_ROOT

pytestmark = pytest.mark.lab

PREFIX = claim_lab_prefix()
OLD_SERIAL, NEW_SERIAL = "HE10A8F2K91", "HE10NEW0042"
CANARIES = {
    name: f"canary-{name}-Rq4"
    for name in (
        "gw-admin",
        "core-admin",
        "radio-admin",
        "radius-secret",
        "snmp-community",
        "wifi-sukadana",
        "wifi-lebung-itam",
        "wifi-pematang",
        "backhaul-key",
    )
}


@dataclass
class Lab:
    root: Path

    @property
    def lab_dir(self) -> Path:
        return self.root / "lab"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory"

    @property
    def state(self) -> Path:
        return self.root / "state"

    def env(self) -> dict[str, str]:
        return {
            "KOPNET_LAB_DIR": str(self.lab_dir),
            ENV_PREFIX: PREFIX,
            "KOPNET_STATE": str(self.state),
            **{env_var_name(k): v for k, v in CANARIES.items()},
        }

    def kopnet(self, *args: str, inventory: Path | None = None) -> Result:
        return CliRunner().invoke(
            cli,
            ["--inventory", str(inventory or self.inventory), *args],
            env=self.env(),
            catch_exceptions=False,
        )

    def lab_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "kopnet_iac.cli.main",
                "--inventory",
                str(self.root / "labinv"),
                "lab",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **self.env()},
            cwd=REPO_ROOT,
        )

    def replace(self, village: str, host: str, *extra: str) -> Result:
        return self.kopnet(
            "replace", village, host, "--lab", "--yes", "--json", "--settle", "30", *extra
        )

    def target(self, host: str) -> Any:
        return lab_targets(self.lab_dir)[host]


def _leaked(text: str) -> list[str]:
    return [v for v in CANARIES.values() if v in text]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("replace")
    shutil.copytree(EXAMPLE_FLEET, root / "inventory")
    shutil.copytree(EXAMPLE_FLEET, root / "labinv")
    village_file = root / "labinv" / "villages" / "sukadana.yaml"
    village_file.write_text(village_file.read_text().replace(OLD_SERIAL, NEW_SERIAL))
    running = Lab(root)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in running.env().items():
            patch.setenv(key, value)
        up = running.lab_cli("up", "sukadana", "lebung-itam", "--factory-default", "--no-gateways")
        try:
            assert up.returncode == 0, up.stdout + up.stderr
            yield running
        finally:
            running.lab_cli("down")
            pid = control.read_pid(running.lab_dir)
            if pid is not None and control.pid_alive(pid) and control.is_lab_daemon(pid):
                os.kill(pid, signal.SIGKILL)


def _document(result: Result) -> dict[str, Any]:
    assert not _leaked(result.output), "a secret value was printed"
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _checks(report: dict[str, Any]) -> dict[str, bool]:
    return {c["check"]: c["ok"] for c in report["checks"]}


def test_core_router_replaced_converged_verified_recorded(lab: Lab) -> None:
    village_file = lab.inventory / "villages" / "sukadana.yaml"
    before = village_file.read_bytes()
    result = lab.replace("sukadana", "core-sukadana")
    assert result.exit_code == 0, result.output
    report = _document(result)
    assert report["probe"]["state"] == "fresh" and report["bootstrapped"]
    assert report["outcome"] == "confirmed" and report["ok"]
    checks = _checks(report)
    assert checks["converged"] and checks["management"] and all(checks.values())
    # the new serial, and only it, in the village file
    mac = report["probe"]["mac"]
    recorded = f'{NEW_SERIAL}, mac: "{mac}"'.encode()
    assert village_file.read_bytes() == before.replace(OLD_SERIAL.encode(), recorded)
    assert "+  - {hostname: core-sukadana" in report["inventory_diff"]
    store = ReleaseStore.open(lab.state)
    release = store.get_release(report["release"])
    assert release.kind == "replace" and release.outcome == "confirmed"
    steps = [(j["step"], j.get("host")) for j in release.journal]
    assert ("record hardware", "core-sukadana") in steps
    assert release.rendered  # a village never deployed: the working tree's intent recorded
    assert not _leaked(json.dumps(release.rendered) + json.dumps(release.journal, default=str))
    # a second run finds it bootstrapped, changes nothing, verifies again
    again = _document(lab.replace("sukadana", "core-sukadana"))
    assert again["probe"]["state"] == "bootstrapped" and not again["bootstrapped"]
    assert again["outcome"] == "no-change" and again["ok"]
    assert _checks(again)["converged"]
    # the NOC account, not the factory admin, logs in from now on
    api = connect(
        host=lab.target("core-sukadana").host,
        username="noc",
        password=lab_password("core-sukadana"),
    )
    try:
        identity = next(iter(api.path("system", "identity")))["name"]
        users = {u["name"]: u for u in api.path("user")}
    finally:
        api.close()
    assert identity == "core-sukadana"
    assert users["admin"]["disabled"] is True


def test_airos_radio_replaced_and_re_registered_with_its_peer(lab: Lab) -> None:
    result = lab.replace("lebung-itam", "bh-lebung-itam-a")
    assert result.exit_code == 0, result.output
    report = _document(result)
    assert report["probe"]["state"] == "fresh" and report["bootstrapped"]
    checks = _checks(report)
    assert checks["converged"] and checks["radio-link"] and all(checks.values())
    serial = report["serial"]
    assert serial and serial.replace(":", "") == report["probe"]["mac"].replace(":", "")
    text = (lab.inventory / "villages" / "lebung-itam.yaml").read_text()
    assert f"serial: {serial}," in text and "F09FC2A0B101" not in text
    # the factory account is gone; the lab now reports the NOC account
    assert lab.target("bh-lebung-itam-a").username == "noc"
    # the peer is registered because the replacement is set up for the link: its factory-fresh
    # partner (same link, still SSID "ubnt") registers nobody
    peer = lab.target("bh-lebung-itam-b")
    with _http(peer.host, peer.http_port, "/api/auth", b"username=ubnt&password=ubnt", {}) as r:
        headers = {"Cookie": r.headers["Set-Cookie"].split(";", 1)[0]}
        headers["X-CSRF-ID"] = r.headers["X-CSRF-ID"]
    change = json.dumps({"currentPassword": "ubnt", "newPassword": "Peer-pass-9"}).encode()
    json_headers = {**headers, "Content-Type": "application/json"}
    _http(peer.host, peer.http_port, "/api/auth/change-password", change, json_headers).close()
    status = urllib.request.Request(
        f"http://{peer.host}:{peer.http_port}/status.cgi", headers=headers
    )
    with urllib.request.urlopen(status, timeout=30) as answer:
        assert json.loads(answer.read())["wireless"]["count"] == 0


def test_interrupted_bootstrap_is_resumed_by_running_again(lab: Lab) -> None:
    fault = lab.lab_cli("fault", "core-lebung-itam", "--drop-at", "/system/reset-configuration*")
    assert fault.returncode == 0, fault.stderr
    first = lab.replace("lebung-itam", "core-lebung-itam")
    assert first.exit_code == 3
    assert "lebung-itam/core-lebung-itam/reset:" in first.output
    assert "run the same command again" in first.output
    again = lab.replace("lebung-itam", "core-lebung-itam")
    assert again.exit_code == 0, again.output
    report = _document(again)
    assert report["outcome"] == "confirmed" and _checks(report)["converged"]


def test_wrong_model_is_refused_and_nothing_applied(lab: Lab, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    shutil.copytree(lab.inventory, inventory)
    village_file = inventory / "villages" / "lebung-itam.yaml"
    text = village_file.read_text()
    line = next(x for x in text.splitlines() if "hostname: sec-lebung-itam-2" in x)
    village_file.write_text(
        text.replace(line, line.replace("LiteBeam-5AC-Gen2", "Rocket-5AC-Prism"))
    )
    result = lab.kopnet(
        "replace", "lebung-itam", "sec-lebung-itam-2", "--lab", "--yes", inventory=inventory
    )
    assert result.exit_code == 3
    assert "LiteBeam-5AC-Gen2" in result.output and "expects a Rocket-5AC-Prism" in result.output
    assert "sec-lebung-itam-2/model" in result.output
    # still factory-fresh: ubnt/ubnt logs in and must change the password first
    target = lab.target("sec-lebung-itam-2")
    assert (target.username, target.password) == ("ubnt", "ubnt")
    request = urllib.request.Request(
        f"http://{target.host}:{target.http_port}/api/auth",
        data=b"username=ubnt&password=ubnt",
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert json.loads(answer.read())["password_change_required"] is True


def test_configured_device_is_refused_then_wiped(lab: Lab) -> None:
    # core-sukadana was replaced above; someone renames it on the device
    api = connect(
        host=lab.target("core-sukadana").host,
        username="noc",
        password=lab_password("core-sukadana"),
    )
    try:
        api.path("system", "identity").update(name="someone-elses")
    finally:
        api.close()
    refused = lab.replace("sukadana", "core-sukadana")
    assert refused.exit_code == 3
    assert "not factory-fresh" in refused.output and "someone-elses" in refused.output
    wiped = lab.replace("sukadana", "core-sukadana", "--wipe")
    assert wiped.exit_code == 0, wiped.output
    report = _document(wiped)
    assert report["bootstrapped"] and _checks(report)["converged"]


def test_unknown_host_and_wrong_credentials(lab: Lab) -> None:
    unknown = lab.kopnet("replace", "sukadana", "core-nowhere", "--lab", "--yes")
    assert unknown.exit_code == 2 and "no device 'core-nowhere'" in unknown.output
    gone = lab.replace("sukadana", "sec-sukadana-1", "--address", "127.92.250.250")
    assert gone.exit_code == 3
    assert "sukadana/sec-sukadana-1/probe: no answer from 127.92.250.250" in gone.output
    bad = lab.replace("lebung-itam", "sec-lebung-itam-2", "--password", "not-ubnt")
    assert bad.exit_code == 3
    assert "refuses 'ubnt'" in bad.output and "sec-lebung-itam-2/probe" in bad.output


def _wait_noc(host: str, hostname: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            connect(host=host, username="noc", password=lab_password(hostname)).close()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_offline_bundle_gives_the_online_configuration(lab: Lab, tmp_path: Path) -> None:
    host = "sec-lebung-itam-1"  # a factory-fresh RouterOS radio
    out = tmp_path / "bundle"
    made = lab.kopnet("bundle", "lebung-itam", host, "--out", str(out))
    assert made.exit_code == 0, made.output
    files = verify_bundle(out)
    values = {**CANARIES, "radio-admin": lab_password(host)}  # the lab's NOC password
    name = f"{host}.run-after-reset.rsc"
    script = filled(name, files[name], values)
    target = lab.target(host)
    api = connect(host=target.host, username="admin", password=target.password)
    try:
        tuple(api("/file/add", name=name, contents=script))
        tuple(
            api(
                "/system/reset-configuration",
                **{"no-defaults": "yes", "skip-backup": "yes", "run-after-reset": name},
            )
        )
    except Exception:
        pass  # the device reboots at once and may drop the session
    finally:
        api.close()
    _wait_noc(target.host, host)
    verify = lab.kopnet("replace", "lebung-itam", host, "--lab", "--verify-only", "--json")
    assert verify.exit_code == 0, verify.output
    report = _document(verify)
    checks = _checks(report)
    assert checks["converged"] and all(checks.values())
    release = ReleaseStore.open(lab.state).get_release(report["release"])
    assert release.kind == "replace" and release.outcome == "confirmed"


def test_airos_day0_left_in_test_mode_is_confirmed_by_the_rerun(lab: Lab) -> None:
    host = "sec-sukadana-2"
    fault = lab.lab_cli("fault", host, "--drop-at", "*echo KOPNET-DISARMED*")
    assert fault.returncode == 0, fault.stderr
    first = lab.replace("sukadana", host)
    assert first.exit_code == 3
    assert f"sukadana/{host}/" in first.output and "run the same command again" in first.output
    again = lab.replace("sukadana", host)
    assert again.exit_code == 0, again.output
    report = _document(again)
    assert report["probe"]["state"] == "bootstrapped" and report["probe"]["pending"]
    assert report["outcome"] == "confirmed" and all(_checks(report).values())


def _http(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> Any:
    request = urllib.request.Request(
        f"http://{host}:{port}{path}", data=body, method="POST", headers=headers
    )
    return urllib.request.urlopen(request, timeout=30)


def test_offline_system_cfg_upload_gives_the_online_configuration(lab: Lab, tmp_path: Path) -> None:
    host = "sec-lebung-itam-2"  # a factory-fresh airOS radio
    out = tmp_path / "bundle"
    assert lab.kopnet("bundle", "lebung-itam", host, "--out", str(out)).exit_code == 0
    files = verify_bundle(out)
    name = f"{host}.system.cfg"
    config = filled(name, files[name], {**CANARIES, "radio-admin": lab_password(host)})
    target = lab.target(host)
    # the technician's web UI session: log in, the forced password change, upload
    with _http(target.host, target.http_port, "/api/auth", b"username=ubnt&password=ubnt", {}) as r:
        cookie = r.headers["Set-Cookie"].split(";", 1)[0]
        headers = {"Cookie": cookie, "X-CSRF-ID": r.headers["X-CSRF-ID"]}
    change = json.dumps({"currentPassword": "ubnt", "newPassword": lab_password(host)}).encode()
    with _http(
        target.host,
        target.http_port,
        "/api/auth/change-password",
        change,
        {**headers, "Content-Type": "application/json"},
    ) as r:
        assert r.status == 200
    with _http(
        target.host,
        target.http_port,
        "/writecfg.cgi",
        config.encode(),
        {**headers, "Content-Type": "text/plain"},
    ) as r:
        assert json.loads(r.read())["ok"] is True
    verify = lab.kopnet("replace", "lebung-itam", host, "--lab", "--verify-only", "--json")
    assert verify.exit_code == 0, verify.output
    checks = _checks(_document(verify))
    assert checks["converged"] and all(checks.values())


def test_no_secret_value_in_the_release_store_or_host_keys(lab: Lab) -> None:
    leaked = []
    for path in lab.state.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            leaked += [f"{path.name}: {v}" for v in CANARIES.values() if v.encode() in data]
    assert not leaked


def test_routeros_radio_behind_a_geo_link(lab: Lab) -> None:
    host = "sec-sukadana-1"  # a RouterOS sector radio, still factory-fresh
    assert lab.lab_cli("fault", host, "--rtt", "600").returncode == 0
    try:
        result = lab.replace("sukadana", host)
    finally:
        lab.lab_cli("fault", host, "--clear")
    assert result.exit_code == 0, result.output
    report = _document(result)
    assert report["bootstrapped"] and report["outcome"] == "confirmed"
    assert _checks(report)["converged"]
    # the same again, as an operator reads it
    again = lab.kopnet("replace", "sukadana", host, "--lab", "--yes", "--settle", "30")
    assert again.exit_code == 0, again.output
    assert f"found {host}: bootstrapped" in again.stdout
    assert f"replace sukadana/{host}: no-change" in again.stdout
    assert "inventory: serial already recorded" in again.stdout
    assert not _leaked(again.output)


def test_configured_airos_radio_is_refused_then_wiped(lab: Lab) -> None:
    host = "bh-lebung-itam-a"  # replaced above; someone renames it in its web UI
    target = lab.target(host)
    login = f"username=noc&password={lab_password(host)}".encode()
    with _http(target.host, target.http_port, "/api/auth", login, {}) as r:
        headers = {"Cookie": r.headers["Set-Cookie"].split(";", 1)[0]}
        headers["X-CSRF-ID"] = r.headers["X-CSRF-ID"]
    request = urllib.request.Request(
        f"http://{target.host}:{target.http_port}/getcfg.cgi", headers=headers
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        config = answer.read().decode()
    renamed = config.replace(f"resolv.host.1.name={host}", "resolv.host.1.name=menara-lama")
    assert renamed != config
    plain = {**headers, "Content-Type": "text/plain"}
    _http(target.host, target.http_port, "/writecfg.cgi", renamed.encode(), plain).close()
    refused = lab.replace("lebung-itam", host)
    assert refused.exit_code == 3
    assert "not factory-fresh" in refused.output and "menara-lama" in refused.output
    wiped = lab.replace("lebung-itam", host, "--wipe")
    assert wiped.exit_code == 0, wiped.output
    report = _document(wiped)
    assert report["bootstrapped"] and all(_checks(report).values())
