"""A village with its real Linux gateway (network namespaces, the eBGP TCP-MD5 password as a
canary secret) in ``kopnet backup`` and ``kopnet drift``: deployed, backed up and compliant;
a managed file changed by hand shows in drift with the exact diff and in the backup history;
the canary appears in no output, no page and nowhere in the backup repository. Needs root;
the tests share one lab and run in file order."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.lab.topology import ENV_PREFIX
from kopnet_iac.platforms.linux.apply import ssh_target
from kopnet_iac.platforms.linux.gateway import lab_connection
from kopnet_iac.platforms.linux.sshrun import connect
from tests.addresses import claim_lab_prefix
from tests.conftest import EXAMPLE_FLEET
from tests.deploy.conftest import CANARIES, DeployLab, leaked

pytestmark = [pytest.mark.root, pytest.mark.lab]

VILLAGE = "sukadana"
GATEWAY = "gw-sukadana"
BGP_CANARY = "canary-isp-bgp-7Qx"
BIRD = "/etc/bird/bird.conf"
CHRONY = "/etc/chrony/chrony.conf"
PREFIX = os.environ.get("KOPNET_TEST_GWFLEET_PREFIX") or claim_lab_prefix()


class GatewayFleetLab(DeployLab):
    def env(self, **extra: str) -> dict[str, str | None]:
        env = super().env(**extra)
        env["KOPNET_SECRET_ISP_BGP"] = BGP_CANARY
        env[ENV_PREFIX] = PREFIX
        return env

    def run(self, *args: str) -> tuple[int, Any, str]:
        result = self.kopnet(*args)
        output = result.stdout + result.stderr
        assert not secrets_in(output), "a secret value was printed"
        try:
            return result.exit_code, json.loads(result.stdout), output
        except ValueError:
            return result.exit_code, None, output

    def gateway_sh(self, script: str) -> str:
        inv = load_inventory(self.inventory)
        target = ssh_target(inv, lab_connection(inv, VILLAGE, self.lab_dir))
        with connect(target) as session:
            result = session.run("sh -s" if target.username == "root" else "sudo -n sh -s", script)
        assert result.exit_status == 0, result.stderr
        return result.stdout

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.state / "backups"), *args],
            capture_output=True,
            text=True,
            check=True,
        ).stdout


def secrets_in(text: str) -> list[str]:
    return [*leaked(text), *([BGP_CANARY] if BGP_CANARY in text else [])]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayFleetLab]:
    root = tmp_path_factory.mktemp("gwfleet")
    shutil.copytree(EXAMPLE_FLEET, root / "inventory")
    running = GatewayFleetLab(root, VILLAGE)
    running.edit(
        "fleet.yaml", "  pop_asn: 65010\n", "  pop_asn: 65010\n  bgp_password_secret: isp-bgp\n"
    )
    running.edit("fleet.yaml", "secrets:\n", "secrets:\n  isp-bgp: {description: eBGP TCP-MD5}\n")
    up = running.lab_cli("up", VILLAGE, "--gateways")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield running
    finally:
        running.stop()


def rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["hostname"]: d for d in report["devices"]}


def test_a_deployed_gateway_is_backed_up_and_compliant(lab: GatewayFleetLab) -> None:
    code, report, output = lab.run(
        "deploy", VILLAGE, "--lab", "--yes", "--json", "--revert-in", "240"
    )
    assert code == 0 and report["outcome"] == "confirmed", output
    assert BGP_CANARY in lab.gateway_sh(f"cat {BIRD}")  # the device holds the password

    code, backup, output = lab.run("backup", VILLAGE, "--lab", "--json")
    assert code == 0, output
    gw = rows(backup)[GATEWAY]
    assert (gw["status"], gw["path"]) == ("new", f"{VILLAGE}/{GATEWAY}/")
    stored = lab.state / "backups" / VILLAGE / GATEWAY / BIRD.lstrip("/")
    assert 'password "@@secret:isp-bgp@@";' in stored.read_text()
    assert (lab.state / "backups" / VILLAGE / GATEWAY / CHRONY.lstrip("/")).is_file()

    code, drift, output = lab.run("drift", VILLAGE, "--lab", "--json", "--exit-code")
    assert code == 0, output
    assert rows(drift)[GATEWAY]["status"] == "compliant", rows(drift)[GATEWAY]
    assert {d["status"] for d in drift["devices"]} == {"compliant"}


def test_a_file_changed_by_hand_shows_in_drift_and_in_the_backup(lab: GatewayFleetLab) -> None:
    lab.gateway_sh(
        f"sed -i 's/^server /#server /' {CHRONY} && "
        f"printf '# admin: %s\\n' '{CANARIES['gw-admin']}' >> {CHRONY}"
    )
    html = lab.root / "compliance.html"
    code, drift, output = lab.run(
        "drift", VILLAGE, "--lab", "--json", "--exit-code", "--html", str(html)
    )
    assert code == 1, output
    gw = rows(drift)[GATEWAY]
    assert gw["status"] == "drifted" and gw["operations"] == 1, gw
    plan = gw["plan"]
    assert plan.startswith(f"--- {CHRONY} (running)\n+++ {CHRONY} (release {gw['release']})\n")
    assert "\n-#server " in plan and "\n+server " in plan
    assert "\n-# admin: @@secret:gw-admin@@\n" in plan
    assert [d for d in drift["devices"] if d["status"] == "drifted"] == [gw]
    code, _, text = lab.run("drift", VILLAGE, "--lab", "--exit-code")
    assert code == 1, text
    assert f"  {GATEWAY:<24} drifted (release {gw['release']})" in text
    assert f"      --- {CHRONY} (running)" in text and "      -# admin: @@secret:gw-admin@@" in text
    page = html.read_text()
    assert GATEWAY in page and "#server " in page and not secrets_in(page)

    code, backup, output = lab.run("backup", VILLAGE, "--lab", "--json")
    assert code == 0 and backup["commit"], output
    assert rows(backup)[GATEWAY]["status"] == "changed"
    shown = lab.git("log", "-p", "-1", "--", f"{VILLAGE}/{GATEWAY}")
    assert "\n+# admin: @@secret:gw-admin@@\n" in shown and "\n+#server " in shown
    assert f"changed: {VILLAGE}/{GATEWAY}" in shown
    stored = "".join(
        p.read_text(errors="replace")
        for p in (lab.state / "backups").rglob("*")
        if p.is_file() and ".git" not in p.relative_to(lab.state / "backups").parts
    )
    assert not secrets_in(lab.git("log", "-p", "--all") + stored)
