"""One word per concept on the command line: ``compare`` is the revision comparison and
``routeros plan`` the engine's plan; the names users know (``diff``) stay as the same commands."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from kopnet_iac.cli.main import cli
from tests.conftest import REPO_ROOT

FIXTURE = Path(REPO_ROOT) / "tests" / "fixtures" / "routeros" / "firewall_reorder"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="kopnet", catch_exceptions=False)
    return result.exit_code, result.output


def test_compare_is_the_revision_comparison_and_diff_stays() -> None:
    code, compare_help = _run("compare", "--help")
    assert code == 0 and "Compare the rendered configs of two git revisions" in compare_help
    code, diff_help = _run("diff", "--help")
    assert code == 0
    assert diff_help.replace("kopnet diff", "kopnet compare") == compare_help


def test_routeros_plan_is_routeros_diff() -> None:
    running, intended = str(FIXTURE / "running.rsc"), str(FIXTURE / "intended.rsc")
    code, planned = _run("routeros", "plan", running, intended)
    assert code == 0 and planned.strip(), "the fixture has changes to plan"
    assert _run("routeros", "diff", running, intended) == (0, planned)
    code, same = _run("routeros", "plan", running, running)
    assert (code, same) == (0, "")
