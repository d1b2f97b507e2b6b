"""Fixtures for the release store: a fresh state directory and a store open on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kopnet_iac.state import ReleaseStore

CANARY = "canary-Zq7wX9-not-a-real-secret"

RSC = (
    "/system identity\nset name=core-desa-x\n"
    '/radius\nadd address=10.0.0.5 secret="@@secret:radius-secret@@" service=ppp\n'
    '/user\nadd group=full name=noc password="@@secret:core-admin@@"\n'
)
CFG = "radio.1.freq=5745\nusers.1.name=noc\nusers.1.password=@@secret:radio-admin@@\n"


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def store(state_dir: Path) -> Iterator[ReleaseStore]:
    with ReleaseStore.open(state_dir) as opened:
        yield opened


def begin(store: ReleaseStore, village: str = "desa-x", **kwargs: object) -> str:
    """A release as deploy begins one (inside the village lock)."""
    args: dict[str, object] = {
        "kind": "deploy",
        "operator": "ana",
        "git_revision": "0123abcd",
        "git_dirty": False,
        "rendered": {"core-desa-x.rsc": RSC, "sec-desa-x-1.cfg": CFG},
    }
    args.update(kwargs)
    with store.lock(village, operator=str(args["operator"]), purpose=str(args["kind"])):
        return store.begin_release(village, **args)  # type: ignore[arg-type]
