"""A real lab for the deploy tests: emulated devices of a village (and, as root, its gateway),
an editable copy of the example fleet, fake canary secrets, the CLI run in this process."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kopnet_iac.cli.main import cli
from kopnet_iac.inventory.secrets import env_var_name
from kopnet_iac.lab import control
from kopnet_iac.lab.topology import ENV_PREFIX
from tests.addresses import claim_lab_prefix
from tests.conftest import EXAMPLE_FLEET, REPO_ROOT

#: fake secret values; tests search every output and the release store for them
CANARIES = {
    name: f"canary-{name}-7Qx"
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
# this area's own lab addresses, per test process: test runs side by side never share one
PREFIX = os.environ.get("KOPNET_TEST_DEPLOY_PREFIX") or claim_lab_prefix()


@dataclass
class DeployLab:
    """One running lab, its inventory copy and state folder."""

    root: Path
    village: str

    @property
    def lab_dir(self) -> Path:
        return self.root / "lab"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory"

    @property
    def state(self) -> Path:
        return self.root / "state"

    def env(self, **extra: str) -> dict[str, str | None]:
        env: dict[str, str | None] = {
            "KOPNET_LAB_DIR": str(self.lab_dir),
            ENV_PREFIX: PREFIX,
            "KOPNET_STATE": str(self.state),
            **{env_var_name(k): v for k, v in CANARIES.items()},
        }
        env.update(extra)
        return env

    def kopnet(self, *args: str, env: dict[str, str | None] | None = None) -> Any:
        """The CLI in this process; returns click's Result (exit_code, stdout, stderr)."""
        return CliRunner().invoke(
            cli,
            ["--inventory", str(self.inventory), *args],
            env=env if env is not None else self.env(),
            catch_exceptions=False,
        )

    def lab_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``kopnet lab ...`` as a subprocess (the lab daemon outlives the call)."""
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "kopnet_iac.cli.main",
                "--inventory",
                str(self.inventory),
                "lab",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, **{k: v for k, v in self.env().items() if v is not None}},
            cwd=REPO_ROOT,
        )

    def stats(self, reset: bool = False) -> dict[str, dict[str, Any]]:
        return control.lab_stats(self.lab_dir, reset=reset)

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.inventory / relative
        text = path.read_text()
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new))

    def stop(self) -> None:
        self.lab_cli("down")
        pid = control.read_pid(self.lab_dir)
        if pid is not None and control.pid_alive(pid) and control.is_lab_daemon(pid):
            os.kill(pid, signal.SIGKILL)
            control.wait_exit(pid, 10)


def start_lab(root: Path, village: str, *, gateways: bool = False) -> DeployLab:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(EXAMPLE_FLEET, root / "inventory")
    lab = DeployLab(root, village)
    up = lab.lab_cli("up", village, "--gateways" if gateways else "--no-gateways")
    if up.returncode != 0:
        lab.stop()
        raise AssertionError(up.stdout + up.stderr)
    return lab


@pytest.fixture(scope="module")
def canary_env() -> Iterator[None]:
    """The canary secrets in this process's environment (the library resolves them)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CANARIES.items():
            patch.setenv(env_var_name(name), value)
        yield


def leaked(text: str) -> list[str]:
    """Canary values found in ``text``."""
    return [value for value in CANARIES.values() if value in text]
