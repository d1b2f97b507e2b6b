"""The git revision and dirty flag a release records."""

from __future__ import annotations

from pathlib import Path

import pytest

from kopnet_iac.state.gitinfo import GitState, git_state
from tests.render.conftest import git


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "fleet"
    (repo / "inventory").mkdir(parents=True)
    (repo / "inventory" / "fleet.yaml").write_text("isp: {}\n")
    (repo / ".gitignore").write_text(".kopnet/\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "fleet")
    return repo


def test_clean_tree_gives_the_commit(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    head = git(repo, "rev-parse", "HEAD").strip()
    assert git_state(repo / "inventory") == GitState(revision=head, dirty=False)
    assert git_state(repo / "inventory" / "fleet.yaml") == GitState(revision=head, dirty=False)


def test_changes_and_new_files_make_it_dirty_ignored_ones_do_not(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / ".kopnet" / "state").mkdir(parents=True)
    (repo / ".kopnet" / "state" / "state.db").write_bytes(b"x")  # ignored: still clean
    assert not git_state(repo / "inventory").dirty
    (repo / "inventory" / "villages").mkdir()
    (repo / "inventory" / "villages" / "new.yaml").write_text("id: new\n")
    assert git_state(repo / "inventory").dirty
    (repo / "inventory" / "villages" / "new.yaml").unlink()
    assert not git_state(repo / "inventory").dirty
    (repo / "inventory" / "fleet.yaml").write_text("isp: {asn: 1}\n")
    state = git_state(repo / "inventory")
    assert state.dirty and state.revision == git(repo, "rev-parse", "HEAD").strip()


def test_outside_git_the_revision_is_unknown_and_dirty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    (tmp_path / "inventory").mkdir()
    assert git_state(tmp_path / "inventory") == GitState(revision=None, dirty=True)


def test_a_repository_without_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    assert git_state(tmp_path) == GitState(revision=None, dirty=True)
