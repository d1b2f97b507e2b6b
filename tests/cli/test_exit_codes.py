"""One exit-code convention for every command: each command's bad-input path, checked by class.

0 success / nothing differs, 1 differences found or checks failed, 2 usage error, >= 3 errors.
No test here reaches a device: the lab folder and the state folder are empty temporary folders.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kopnet_iac.cli.main import cli
from tests.conftest import EXAMPLE_FLEET

USAGE = 2
ERROR = 3  # "3 or more"

# (arguments after --inventory, expected class); "{tmp}" is a scratch folder
CASES: list[tuple[tuple[str, ...], int]] = [
    (("no-such-command",), USAGE),
    (("validate", "--no-such-option"), USAGE),
    (("inventory", "show", "desa-x"), ERROR),
    (("addresses", "show", "desa-x"), ERROR),
    (("schema", "nope"), USAGE),
    (("render",), USAGE),
    (("render", "desa-x", "--out", "{tmp}/build"), ERROR),
    (("diff",), USAGE),
    (("diff", "--base", "HEAD", "--format", "nope"), USAGE),
    (("routeros", "check", "{tmp}/missing.rsc"), ERROR),
    (("routeros", "diff", "{tmp}/missing.rsc", "{tmp}/other.rsc"), ERROR),
    (("routeros", "lint", "{tmp}/missing.rsc"), ERROR),
    (("lab", "status", "--lab-dir", "{tmp}/lab"), ERROR),
    (("lab", "log", "nope", "--lab-dir", "{tmp}/lab"), ERROR),
    (("lab", "up", "desa-x", "--lab-dir", "{tmp}/lab"), ERROR),
    (("gateway", "apply", "desa-x", "--check"), ERROR),
    (("verify", "desa-x"), ERROR),
    (("history", "--limit", "0"), USAGE),
    (("show", "no-such-release", "--state", "{tmp}/state"), ERROR),
    (("deploy",), USAGE),
    (("deploy", "desa-x", "--dry-run", "--state", "{tmp}/state"), ERROR),
    (("recover", "desa-x", "--state", "{tmp}/state"), ERROR),
    (("hostkey", "forget", "no-such-host", "--state", "{tmp}/state"), ERROR),
    (("topology", "desa-x", "--svg", "{tmp}/x.svg"), ERROR),
    (("topology", "sukadana"), USAGE),
    (("show", "no-such-release", "--html", "{tmp}/x.html", "--state", "{tmp}/state"), ERROR),
]


@pytest.mark.parametrize(("args", "expected"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_input_exit_code_class(
    args: tuple[str, ...], expected: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOPNET_LAB_DIR", str(tmp_path / "lab"))
    monkeypatch.setenv("KOPNET_STATE", str(tmp_path / "state"))
    argv = ["--inventory", str(EXAMPLE_FLEET), *(a.replace("{tmp}", str(tmp_path)) for a in args)]
    result = CliRunner().invoke(cli, argv)
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), result.output
    if expected == USAGE:
        assert result.exit_code == USAGE, result.output
    else:
        assert result.exit_code >= ERROR, result.output


def test_broken_inventory_is_an_error_not_a_difference(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    shutil.copytree(EXAMPLE_FLEET, inventory)
    village = inventory / "villages" / "sukadana.yaml"
    village.write_text(village.read_text().replace("bandwidth_mbps: 200", "bandwidth_mbps: lots"))
    for args in (("validate",), ("validate", "--json"), ("render", "--all")):
        result = CliRunner().invoke(cli, ["--inventory", str(inventory), *args])
        assert result.exit_code == ERROR, (args, result.output)
        assert "bandwidth_mbps" in result.output


def test_success_is_zero(tmp_path: Path) -> None:
    for args in (("validate",), ("render", "--all", "--out", str(tmp_path / "build"))):
        result = CliRunner().invoke(cli, ["--inventory", str(EXAMPLE_FLEET), *args])
        assert result.exit_code == 0, (args, result.output)


def test_help_documents_the_convention() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for phrase in ("Exit codes", "0 success", "1 differences found", "2 usage error", "3+ errors"):
        assert phrase in text, phrase
