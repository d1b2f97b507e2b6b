"""Ansible inventory from the KopNet inventory: JSON shape, plugin, CLI, lab records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from kopnet_iac.cli.main import cli
from kopnet_iac.inventory.addressing import village_addressing
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.platforms.linux.inventory import (
    PASSWORD_LOOKUP,
    ansible_inventory,
    gateway_hosts,
    runner_inventory,
)
from tests.conftest import REPO_ROOT, USER_INVENTORY
from tests.platforms.linux.conftest import INVENTORY_DIR

PLAYBOOKS = Path(REPO_ROOT) / "playbooks"
GATEWAYS = {"gw-sukadana", "gw-lebung-itam", "gw-pematang"}


def test_inventory_json_shape_for_the_example_fleet(inv: Inventory) -> None:
    data = ansible_inventory(inv)
    assert set(data["_meta"]["hostvars"]) == GATEWAYS
    assert set(data["gateways"]["hosts"]) == GATEWAYS
    assert data["village_sukadana"] == {"hosts": ["gw-sukadana"]}
    assert data["uplink_vsat"] == {"hosts": ["gw-pematang"]}
    assert set(data["all"]["children"]) == {
        "ungrouped",
        "gateways",
        "village_sukadana",
        "village_lebung_itam",
        "village_pematang_panggang",
        "uplink_fiber",
        "uplink_ptp_radio",
        "uplink_vsat",
    }
    for group in data["all"]["children"]:
        assert group in data
    sukadana = data["_meta"]["hostvars"]["gw-sukadana"]
    loopback = village_addressing(inv, "sukadana").loopbacks["gw-sukadana"]
    assert sukadana["ansible_host"] == str(loopback)
    assert sukadana["kopnet_village"] == "sukadana"
    assert sukadana["kopnet_credentials"] == "gw-admin"
    assert sukadana["kopnet_service_manager"] == "systemd"
    assert sukadana["kopnet_uplink_routing"] == "bgp"
    assert data["_meta"]["hostvars"]["gw-pematang"]["kopnet_uplink_routing"] == "static"


def test_passwords_are_lookups_never_values(inv: Inventory) -> None:
    text = json.dumps(ansible_inventory(inv))
    for hostvars in ansible_inventory(inv)["_meta"]["hostvars"].values():
        assert hostvars["ansible_password"] == PASSWORD_LOOKUP
        assert hostvars["ansible_become_password"] == PASSWORD_LOOKUP
    assert "lab-gw" not in text


def test_runner_inventory_is_the_same_data(inv: Inventory) -> None:
    hosts = gateway_hosts(inv)
    yaml_shape = runner_inventory(hosts)
    listed = ansible_inventory(inv)
    assert yaml_shape["all"]["hosts"] == listed["_meta"]["hostvars"]
    assert set(yaml_shape["all"]["children"]["gateways"]["hosts"]) == GATEWAYS


def test_cli_prints_ansible_json() -> None:
    result = CliRunner().invoke(cli, ["--inventory", str(INVENTORY_DIR), "ansible-inventory"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data["_meta"]["hostvars"]) == GATEWAYS
    host = CliRunner().invoke(
        cli, ["--inventory", str(INVENTORY_DIR), "ansible-inventory", "--host", "gw-pematang"]
    )
    assert json.loads(host.output)["kopnet_village"] == "pematang-panggang"


def _plugin_config(tmp_path: Path) -> Path:
    """``playbooks/inventory/kopnet.yml`` as shipped, pointed at the suite's example fleet (the
    shipped file reads the user's ``inventory/``, which the tests must not depend on)."""
    shipped = PLAYBOOKS / "inventory" / "kopnet.yml"
    text = shipped.read_text()
    assert "inventory_dir: ../../inventory\n" in text
    config = tmp_path / "kopnet.yml"
    config.write_text(text.replace("../../inventory", str(INVENTORY_DIR)))
    return config


def test_shipped_plugin_config_reads_the_repository_inventory() -> None:
    base = PLAYBOOKS / "inventory"
    text = (base / "kopnet.yml").read_text()
    line = next(x for x in text.splitlines() if x.startswith("inventory_dir:"))
    assert (base / line.split(":", 1)[1].strip()).resolve() == USER_INVENTORY.resolve()


def test_inventory_plugin_with_real_ansible(tmp_path: Path) -> None:
    """``ansible-inventory -i playbooks/inventory/kopnet.yml`` through the plugin."""
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        [str(bindir / "ansible-inventory"), "-i", str(_plugin_config(tmp_path)), "--list"],
        cwd=Path(REPO_ROOT) / "playbooks",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data["gateways"]["hosts"]) == GATEWAYS
    assert data["_meta"]["hostvars"]["gw-lebung-itam"]["kopnet_uplink_type"] == "ptp-radio"


def test_static_form_is_a_yaml_inventory_ansible_reads(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--inventory", str(INVENTORY_DIR), "ansible-inventory", "--static"]
    )
    assert result.exit_code == 0, result.output
    path = tmp_path / "gateways.json"
    path.write_text(result.output)
    data = _ansible_inventory_list(["-i", str(path)])
    assert set(data["gateways"]["hosts"]) == GATEWAYS
    assert data["_meta"]["hostvars"]["gw-sukadana"]["kopnet_village"] == "sukadana"


def test_dynamic_inventory_script() -> None:
    """``-i playbooks/inventory/kopnet-inventory.sh``: Ansible runs ``kopnet ansible-inventory``."""
    data = _ansible_inventory_list(
        ["-i", "inventory/kopnet-inventory.sh"], {"KOPNET_INVENTORY": str(INVENTORY_DIR)}
    )
    assert set(data["gateways"]["hosts"]) == GATEWAYS
    assert data["_meta"]["hostvars"]["gw-pematang"]["kopnet_uplink_routing"] == "static"


def _ansible_inventory_list(
    args: list[str], extra_env: dict[str, str] | None = None
) -> dict[str, Any]:
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.update(extra_env or {})
    proc = subprocess.run(
        [str(bindir / "ansible-inventory"), *args, "--list"],
        cwd=Path(REPO_ROOT) / "playbooks",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert isinstance(data, dict)
    return data


def test_plugin_password_resolves_the_secret_at_use(tmp_path: Path) -> None:
    """Plugin host variables are trusted templates: ``ansible_password`` (a lookup) resolves the
    gateway's ``credentials`` secret when used (debug runs on the controller, no connection)."""
    bindir = Path(sys.executable).parent
    fake = "fake-gw-admin-for-tests"
    env = {
        **os.environ,
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "KOPNET_SECRET_GW_ADMIN": fake,
    }
    proc = subprocess.run(
        [
            str(bindir / "ansible"),
            "-i",
            str(_plugin_config(tmp_path)),
            "gw-sukadana",
            "-m",
            "debug",
            "-a",
            "msg={{ ansible_password | length }}",
        ],
        cwd=Path(REPO_ROOT) / "playbooks",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f'"msg": {len(fake)}' in proc.stdout or f'"msg": "{len(fake)}"' in proc.stdout
    assert fake not in proc.stdout
