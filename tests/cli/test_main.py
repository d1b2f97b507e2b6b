from __future__ import annotations

from click.testing import CliRunner

from kopnet_iac.cli.main import cli


def test_help_lists_global_inventory_option() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "--inventory" in result.output


def test_unknown_command_fails() -> None:
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == 2
