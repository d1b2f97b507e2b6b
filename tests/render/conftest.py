"""Fixtures for render tests: copies of the example inventory and templates to break safely."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_FLEET, REPO_ROOT

REPO = Path(REPO_ROOT)
EXAMPLE_INVENTORY = EXAMPLE_FLEET
TEMPLATES = REPO / "templates"


@pytest.fixture
def inventory_copy(tmp_path: Path) -> Path:
    """A private copy of the example inventory (with its address lock)."""
    dest = tmp_path / "inventory"
    shutil.copytree(EXAMPLE_INVENTORY, dest)
    return dest


@pytest.fixture
def templates_copy(tmp_path: Path) -> Path:
    """A private copy of the project templates, to break on purpose."""
    dest = tmp_path / "templates"
    shutil.copytree(TEMPLATES, dest)
    return dest


GIT_ENV = {
    "GIT_AUTHOR_NAME": "KopNet Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "KopNet Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_SYSTEM": os.devnull,
}


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ, **GIT_ENV)
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    )
    return proc.stdout


@pytest.fixture
def git_repo(tmp_path: Path) -> Callable[..., Path]:
    """A temporary git repo holding inventory/ + templates/, one commit on main."""

    def make(inventory: Path = EXAMPLE_INVENTORY) -> Path:
        repo = tmp_path / "repo"
        shutil.copytree(inventory, repo / "inventory")
        shutil.copytree(TEMPLATES, repo / "templates")
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "initial fleet")
        return repo

    return make
