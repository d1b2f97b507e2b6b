"""Release store: every deploy, rollback and replace of a village, recorded in SQLite, and the
village locks that keep them one at a time (see :mod:`kopnet_iac.state.schema`)."""

from __future__ import annotations

from kopnet_iac.state.database import (
    DB_FILE,
    SecretLeakError,
    StateCorruptError,
    StateMissingError,
    UnknownReleaseError,
    default_state_dir,
)
from kopnet_iac.state.gitinfo import GitState, git_state
from kopnet_iac.state.locks import VillageLockedError
from kopnet_iac.state.models import KINDS, OUTCOMES, LockInfo, Release, ReleaseSummary
from kopnet_iac.state.redact import SecretGuard, cleartext_secrets, mask_secrets
from kopnet_iac.state.store import ReleaseStore

__all__ = [
    "DB_FILE",
    "KINDS",
    "OUTCOMES",
    "GitState",
    "LockInfo",
    "Release",
    "ReleaseStore",
    "ReleaseSummary",
    "SecretGuard",
    "SecretLeakError",
    "StateCorruptError",
    "StateMissingError",
    "UnknownReleaseError",
    "VillageLockedError",
    "cleartext_secrets",
    "default_state_dir",
    "git_state",
    "mask_secrets",
]
