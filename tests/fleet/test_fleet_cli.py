"""Fleet commands' refusals without any device, and their progress: a bar on a terminal,
nothing in a pipe."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kopnet_iac.cli.main import cli
from tests.conftest import EXAMPLE_FLEET, REPO_ROOT


def kopnet(*args: str, state: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["--inventory", str(EXAMPLE_FLEET), *args], env={"KOPNET_STATE": str(state)}
    )
    return result.exit_code, result.stdout + result.stderr


@pytest.mark.parametrize("command", ["backup", "drift"])
def test_an_unknown_village_is_an_error_naming_the_known_ones(command: str, tmp_path: Path) -> None:
    code, output = kopnet(command, "sukadana", "nowhere", state=tmp_path)
    assert code == 3, output
    assert "unknown village(s): nowhere" in output and "lebung-itam" in output
    assert not (tmp_path / "backups").exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--all", "--max-fail", "4"], "more than the 3 village"),
        (["--all", "--max-fail", "-1"], "cannot be negative"),
        (["sukadana", "lebung-itam", "--max-fail", "150%"], "cannot pass 100%"),
        (["--all", "--canary", "5"], "more than the 3 village"),
        (["--all", "--batch-growth", "0.5"], "at least 1.0"),
        (["--all", "--max-parallel", "0"], "at least 1"),
        (["--all", "sukadana"], "not both"),
        (["--resume", "rollout-x", "sukadana"], "takes no VILLAGE"),
        (["--all", "--only", "core-sukadana"], "--only"),
        # a wave option makes one village a rollout too: its limits are checked
        (["sukadana", "--max-fail", "2"], "more than the 1 village"),
    ],
)
def test_rollout_options_that_cannot_be_met_are_usage_errors(
    args: list[str], words: str, tmp_path: Path
) -> None:
    code, output = kopnet("deploy", *args, "--yes", state=tmp_path)
    assert code == 2, output
    assert words in output
    assert not (tmp_path / "state.db").exists()  # nothing recorded


def test_an_unknown_village_in_a_rollout_is_an_error(tmp_path: Path) -> None:
    code, output = kopnet("deploy", "sukadana", "nowhere", "--yes", state=tmp_path)
    assert code == 3 and "unknown village(s): nowhere" in output


def test_resuming_an_unknown_rollout_is_an_error(tmp_path: Path) -> None:
    code, output = kopnet("deploy", "--resume", "rollout-x", "--yes", state=tmp_path)
    assert code == 3 and "no state database" in output
    kopnet("backup", "--all", state=tmp_path)  # creates nothing in the store
    from kopnet_iac.state import ReleaseStore

    ReleaseStore.open(tmp_path).close()
    code, output = kopnet("deploy", "--resume", "rollout-x", "--yes", state=tmp_path)
    assert code == 3 and "unknown rollout 'rollout-x'" in output


def run_on_terminal(args: list[str], cwd: Path) -> str:
    """Run the CLI with stdout/stderr on a pseudo-terminal; returns what it wrote."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    process = subprocess.Popen(
        [sys.executable, "-m", "kopnet_iac.cli.main", "--inventory", str(EXAMPLE_FLEET), *args],
        stdout=follower, stderr=follower, stdin=subprocess.DEVNULL, cwd=cwd, env=env,
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not data:
            break
        chunks.append(data)
    process.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode(errors="replace")


def test_render_all_shows_progress_on_a_terminal_and_nothing_in_a_pipe(tmp_path: Path) -> None:
    shown = run_on_terminal(["render", "--all", "--out", str(tmp_path / "a")], Path(REPO_ROOT))
    assert "render" in shown and "3/3" in shown and "villages" in shown, shown
    piped = subprocess.run(
        [sys.executable, "-m", "kopnet_iac.cli.main", "--inventory", str(EXAMPLE_FLEET),
         "render", "--all", "--out", str(tmp_path / "b")],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
    )  # fmt: skip
    assert piped.returncode == 0 and piped.stderr == ""
    assert "3/3" not in piped.stdout


def test_backup_of_a_lab_that_is_not_running_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["--inventory", str(EXAMPLE_FLEET), "backup", "sukadana", "--lab", "--json"],
        env={"KOPNET_STATE": str(tmp_path), "KOPNET_LAB_DIR": str(tmp_path / "no-lab")},
    )
    assert result.exit_code == 3, result.stdout + result.stderr
    assert "no lab running" in result.stderr and result.stdout == ""
