"""``kopnet verify VILLAGE [--lab] [--json]``: exit codes and output, against real lab gateways
(root) and the inventory's own connection data (no root needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kopnet_iac.cli.main import cli
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.lab import gateway_netns
from tests.lab.gateway.conftest import INVENTORY_DIR

INV = ["--inventory", str(INVENTORY_DIR)]


def _verify(*args: str, env: dict[str, str | None] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*INV, "verify", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.root
def test_verify_lab_gateway_passes_and_reports_other_devices_as_not_covered(
    sukadana: dict[str, Any], shared_lab_dir: Path
) -> None:
    from kopnet_iac.platforms.linux.checks import gateway_check_context
    from tests.lab.gateway.helpers import wait_checks

    inv_ctx = gateway_check_context(_inventory(), "sukadana")
    wait_checks(sukadana, inv_ctx, lambda rs: all(r.ok for r in rs))
    proc = subprocess.run(
        [sys.executable, "-m", "kopnet_iac.cli.main", *INV, "verify", "sukadana", "--lab",
         "--json"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "KOPNET_LAB_DIR": str(shared_lab_dir)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True and report["lab"] is True
    assert (report["checks"], report["failed"]) == (7, 0)
    devices = {d["hostname"]: d for d in report["devices"]}
    gateway = devices["gw-sukadana"]
    assert gateway["covered"] and gateway["host"] == sukadana["host"]
    assert [c["name"] for c in gateway["checks"]] == [
        "bgp-established", "default-route", "nat-rules", "dns", "forwarding",
        "nat-logging", "dns-policy",
    ]  # fmt: skip
    assert {h: d["covered"] for h, d in devices.items() if h != "gw-sukadana"} == {
        "core-sukadana": False, "sec-sukadana-1": False, "sec-sukadana-2": False,
    }  # fmt: skip
    assert all(d["checks"] == [] for h, d in devices.items() if h != "gw-sukadana")

    code, out, _ = _verify("sukadana", "--lab", "--lab-dir", str(shared_lab_dir))
    assert code == 0
    assert "PASS  bgp-established" in out
    # no emulated devices run in this lab: said so per device
    assert "core-sukadana (routeros): not running in the lab" in out
    assert "sec-sukadana-2 (airos): not running in the lab" in out
    assert out.rstrip().endswith("7 check(s), 0 failed")


@pytest.mark.root
def test_verify_fresh_gateway_fails_with_exit_1(inv: Inventory, lab_dir: Path) -> None:
    gateway_netns.up("lebung-itam", inv, lab_dir)
    code, out, _ = _verify("lebung-itam", "--lab", "--lab-dir", str(lab_dir))
    assert code == 1
    assert "FAIL  bgp-established  BIRD not answering" in out
    assert "FAIL  nat-rules" in out and "FAIL  forwarding" in out
    assert out.rstrip().endswith("7 check(s), 7 failed")


def test_verify_without_a_lab_says_how_to_start_one(tmp_path: Path) -> None:
    code, _, err = _verify("sukadana", "--lab", "--lab-dir", str(tmp_path / "none"))
    assert code == 3
    assert "no lab running" in err and "kopnet lab up sukadana" in err


def test_verify_unknown_village() -> None:
    code, _, err = _verify("desa-tidak-ada")
    assert code == 3 and "unknown village 'desa-tidak-ada'" in err and "sukadana" in err


def test_verify_production_needs_the_gateway_secret() -> None:
    unset: dict[str, str | None] = {
        "KOPNET_SECRET_GW_ADMIN": None,
        "KOPNET_VAULT_PASSWORD": None,
        "KOPNET_VAULT_PASSWORD_FILE": None,
    }
    code, _, err = _verify("sukadana", env=unset)
    assert code == 3 and "gw-admin" in err and "KOPNET_SECRET_GW_ADMIN" in err


def _inventory() -> Inventory:
    from kopnet_iac.inventory.loader import load_inventory

    return load_inventory(INVENTORY_DIR)
