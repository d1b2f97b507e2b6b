"""Which git revision a release was made from, and whether the work tree differed from it.

A release records ``git_revision`` and ``git_dirty`` so that ``kopnet show`` can say whether its
intent can be rebuilt from history. Outside a git repository, or without git, the revision is
unknown and the release counts as dirty: nothing in history reproduces it.
"""

from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GitState:
    revision: str | None
    dirty: bool


def _git(where: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", "-C", str(where), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.info("git %s in %s: %s", args[0], where, exc)
        return None
    return proc.stdout if proc.returncode == 0 else None


def git_state(path: Path) -> GitState:
    """The commit checked out in the repository holding ``path`` (e.g. the inventory folder) and
    whether any tracked or untracked, not ignored, file of its work tree differs from it."""
    where = path if path.is_dir() else path.parent
    revision = _git(where, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    if revision is None:
        return GitState(revision=None, dirty=True)
    status = _git(where, "status", "--porcelain", "--untracked-files=normal")
    return GitState(revision=revision.strip(), dirty=status is None or status.strip() != "")
