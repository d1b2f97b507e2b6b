"""``kopnet deploy|rollback|recover`` refusals that need no device: usage, unknown names, no lab,
nothing recorded. Exit codes: 2 usage, 3 errors, nothing changed anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kopnet_iac.cli.main import cli
from kopnet_iac.state import ReleaseStore
from tests.conftest import EXAMPLE_FLEET


def kopnet(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = {"KOPNET_STATE": str(tmp_path / "state"), "KOPNET_LAB_DIR": str(tmp_path / "lab")}
    result = CliRunner().invoke(cli, ["--inventory", str(EXAMPLE_FLEET), *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_not_a_terminal_needs_yes(tmp_path: Path) -> None:
    code, _, err = kopnet(tmp_path, "deploy", "sukadana", "--lab")
    assert code == 2 and "--yes" in err


def test_an_unknown_village_is_an_error_naming_the_known_ones(tmp_path: Path) -> None:
    code, _, err = kopnet(tmp_path, "deploy", "atlantis", "--lab", "--yes")
    assert code == 3 and "atlantis" in err and "sukadana" in err


def test_no_lab_running_says_how_to_start_one_and_records_nothing(tmp_path: Path) -> None:
    code, _, err = kopnet(tmp_path, "deploy", "sukadana", "--lab", "--yes")
    assert code == 3 and "no lab running" in err and "kopnet lab up" in err
    store = ReleaseStore.open(tmp_path / "state")
    assert store.releases("sukadana") == [] and store.list_locks() == []  # lock given back


def test_revert_in_below_30_seconds_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = kopnet(tmp_path, "deploy", "sukadana", "--lab", "--yes", "--revert-in", "5")
    assert code == 2 and "revert-in" in err


def test_rollback_without_an_earlier_release(tmp_path: Path) -> None:
    ReleaseStore.open(tmp_path / "state").close()
    code, _, err = kopnet(tmp_path, "rollback", "sukadana", "--lab", "--yes")
    assert code == 2 and "no successful release to roll back to" in err


def test_rollback_without_a_state_database(tmp_path: Path) -> None:
    code, _, err = kopnet(tmp_path, "rollback", "sukadana", "--lab", "--yes")
    assert code == 3 and "no state database" in err


def test_recover_with_nothing_in_doubt(tmp_path: Path) -> None:
    code, out, _ = kopnet(tmp_path, "recover", "sukadana", "--lab")
    assert code == 0 and "sukadana: no release in doubt" in out


def test_a_lock_held_elsewhere_refuses_recover_too(tmp_path: Path) -> None:
    store = ReleaseStore.open(tmp_path / "state")
    with store.lock("sukadana", "budi", "deploy"):
        code, _, err = kopnet(tmp_path, "recover", "sukadana", "--lab")
    assert code == 3 and "budi" in err


@pytest.mark.parametrize("command", ["deploy", "rollback", "recover"])
def test_help_names_the_exit_codes(tmp_path: Path, command: str) -> None:
    code, out, _ = kopnet(tmp_path, command, "--help")
    assert code == 0 and "Exit" in out
