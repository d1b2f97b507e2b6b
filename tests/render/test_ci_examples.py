"""The CI config-diff workflow's steps (examples/ci/kopnet-ci-diff.sh, which the GitHub Actions
and GitLab CI examples run) on a temporary git repository: a target branch and a change."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.render.conftest import GIT_ENV, git

MakeRepo = Callable[..., Path]
EXAMPLES = Path(REPO_ROOT) / "examples" / "ci"
SCRIPT = EXAMPLES / "kopnet-ci-diff.sh"
MARKER = "<!-- kopnet-config-diff -->"


def run_ci(repo: Path, base: str, *extra: str) -> tuple[int, str, str]:
    """The script as CI runs it: in the checkout, kopnet on PATH."""
    comment = repo.parent / "comment.md"
    comment.unlink(missing_ok=True)
    env = {
        **os.environ,
        **GIT_ENV,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "KOPNET_INVENTORY": str(repo / "inventory"),
    }
    proc = subprocess.run(
        ["sh", str(SCRIPT), base, str(comment), *extra],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    text = comment.read_text() if comment.exists() else ""
    return proc.returncode, text, proc.stderr


def _branch_with(repo: Path, message: str, edit: Callable[[Path], None]) -> None:
    git(repo, "checkout", "-q", "-B", "feature")
    edit(repo)
    git(repo, "commit", "-q", "-am", message)


def _rename_ssid(repo: Path) -> None:
    village = repo / "inventory" / "villages" / "sukadana.yaml"
    village.write_text(village.read_text().replace("KopNet-Sukadana-2", "KopNet-Sukadana-Dua"))


def test_changed_configs_exit_1_with_the_comment(git_repo: MakeRepo, tmp_path: Path) -> None:
    repo = git_repo()
    _branch_with(repo, "rename a sector", _rename_ssid)
    full = tmp_path / "full.txt"
    code, comment, _ = run_ci(repo, "main", str(full))
    assert code == 1
    assert comment.startswith(MARKER + "\n")
    assert "sec-sukadana-2" in comment and "+aaa.1.ssid=KopNet-Sukadana-Dua" in comment
    assert "core-sukadana" not in comment
    assert "+++ b/sukadana/sec-sukadana-2.cfg" in full.read_text()


def test_a_fleet_change_comment_is_grouped(git_repo: MakeRepo) -> None:
    repo = git_repo()

    def vlan(r: Path) -> None:
        fleet = r / "inventory" / "fleet.yaml"
        fleet.write_text(fleet.read_text().replace("management_vlan: 99", "management_vlan: 98"))

    _branch_with(repo, "move management to VLAN 98", vlan)
    code, comment, _ = run_ci(repo, "main")
    assert code == 1
    assert "distinct change(s)" in comment and "| # | Devices |" in comment


def test_no_change_exit_0(git_repo: MakeRepo) -> None:
    repo = git_repo()
    _branch_with(repo, "docs only", lambda r: (r / "inventory" / "README.md").write_text("x\n"))
    code, comment, _ = run_ci(repo, "main")
    assert code == 0
    assert comment.startswith(MARKER) and "No device configuration changes." in comment


def test_invalid_inventory_is_an_error_not_a_change(git_repo: MakeRepo) -> None:
    repo = git_repo()

    def broken(r: Path) -> None:
        village = r / "inventory" / "villages" / "sukadana.yaml"
        village.write_text(village.read_text().replace("bandwidth_mbps: 200", "bandwidth_mbps: x"))

    _branch_with(repo, "typo", broken)
    code, comment, stderr = run_ci(repo, "main")
    assert code >= 3
    assert comment.startswith(MARKER) and "does not validate" in comment
    assert "bandwidth_mbps" in comment and "bandwidth_mbps" in stderr


def test_unknown_base_is_an_error(git_repo: MakeRepo) -> None:
    repo = git_repo()
    code, comment, _ = run_ci(repo, "origin/no-such-branch")
    assert code >= 3
    assert "diff failed" in comment and "unknown revision 'origin/no-such-branch'" in comment


def test_usage_error(git_repo: MakeRepo) -> None:
    repo = git_repo()
    proc = subprocess.run(["sh", str(SCRIPT)], cwd=repo, capture_output=True, check=False)
    assert proc.returncode == 2


@pytest.mark.parametrize("name", ["github-actions.yml", "gitlab-ci.yml"])
def test_workflow_examples_run_the_script_and_tell_changed_from_broken(name: str) -> None:
    text = (EXAMPLES / name).read_text()
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict) and doc
    assert "examples/ci/kopnet-ci-diff.sh" in text and MARKER in text
    if name.startswith("github"):
        steps = doc["jobs"]["diff"]["steps"]
        assert any("gh api -X PATCH" in s.get("run", "") for s in steps)  # update, not add
        fail = steps[-1]
        assert "exit != '0'" in fail["if"] and "exit != '1'" in fail["if"]
        assert doc["permissions"]["pull-requests"] == "write"
    else:
        job = doc["kopnet-diff"]
        assert all(isinstance(line, str) for line in job["script"]), job["script"]
        script = "\n".join(job["script"])
        assert "-X PUT" in script and "-X POST" in script
        assert 'if [ "$rc" -ge 2 ]' in script
