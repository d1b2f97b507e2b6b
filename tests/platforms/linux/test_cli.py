"""``kopnet gateway apply`` and the password lookup, without a lab (clear errors, no traceback)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from kopnet_iac.cli.main import cli
from kopnet_iac.platforms.linux.ansible import PLAYBOOKS_DIR, runner_env
from tests.platforms.linux.conftest import INVENTORY_DIR

BIN = Path(sys.executable).parent


def test_apply_unknown_village_is_an_error() -> None:
    result = CliRunner().invoke(
        cli, ["--inventory", str(INVENTORY_DIR), "gateway", "apply", "desa-nowhere", "--check"]
    )
    assert result.exit_code == 3
    assert "unknown village 'desa-nowhere'" in result.output
    assert "sukadana" in result.output


def test_apply_lab_without_a_running_lab_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            *("--inventory", str(INVENTORY_DIR), "gateway", "apply", "sukadana", "--lab"),
            *("--lab-dir", str(tmp_path / "no-lab"), "--check"),
        ],
    )
    assert result.exit_code == 3
    assert "sukadana/gw-sukadana: no lab gateway recorded" in result.output
    assert "Traceback" not in result.output


def _debug_command(variables: dict[str, str]) -> list[str]:
    msg = "msg={{ lookup('kopnet_password') | length }}"
    return [str(BIN / "ansible"), "localhost", "-c", "local", "-m", "debug", "-a", msg,
            "-e", json.dumps(variables)]  # fmt: skip


def test_password_lookup_resolves_the_credentials_secret() -> None:
    """Through real Ansible: ``lookup('kopnet_password')`` with the inventory's host variables
    resolves the device's ``credentials`` secret from the environment."""
    fake = "fake-gw-password-for-tests"
    env = {**os.environ, **runner_env(), "KOPNET_SECRET_GW_ADMIN": fake}
    variables = {
        "kopnet_village": "sukadana",
        "kopnet_inventory_dir": str(INVENTORY_DIR),
        "kopnet_credentials": "gw-admin",
    }
    proc = subprocess.run(
        _debug_command(variables),
        cwd=PLAYBOOKS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(rf'"msg": "?{len(fake)}"?', proc.stdout), proc.stdout
    missing = subprocess.run(
        _debug_command(variables),
        cwd=PLAYBOOKS_DIR,
        env={k: v for k, v in env.items() if k != "KOPNET_SECRET_GW_ADMIN"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode != 0
    assert "secret 'gw-admin' not found" in missing.stdout + missing.stderr


def test_file_lookup_reads_a_source_dir_and_substitutes_secrets(tmp_path: Path) -> None:
    """``lookup('kopnet_gateway_file', ...)`` with ``kopnet_gateway_source_dir``: placeholders
    are replaced at push time; a file missing there is the ABSENT marker (left alone)."""
    (tmp_path / "localhost.bird.conf").write_text("secret @@secret:gw-admin@@\n")
    env = {**os.environ, **runner_env(), "KOPNET_SECRET_GW_ADMIN": "fake-value-for-tests"}
    variables = {
        "kopnet_village": "sukadana",
        "kopnet_inventory_dir": str(INVENTORY_DIR),
        "kopnet_gateway_source_dir": str(tmp_path),
    }
    lookups = "{{ lookup('kopnet_gateway_file', 'bird.conf') | trim }}|"
    lookups += "{{ lookup('kopnet_gateway_file', 'chrony.conf') }}"
    proc = subprocess.run(
        [
            str(BIN / "ansible"),
            "localhost",
            "-c",
            "local",
            "-m",
            "debug",
            "-a",
            f"msg={lookups}",
            "-e",
            json.dumps(variables),
        ],
        cwd=PLAYBOOKS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '"msg": "secret fake-value-for-tests|__KOPNET_ABSENT__"' in proc.stdout
