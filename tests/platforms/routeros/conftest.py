"""Helpers shared by the RouterOS engine tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, SHARED_DIR

FIXTURES = Path(REPO_ROOT) / "tests" / "fixtures" / "routeros"
CORPUS = Path(SHARED_DIR) / "corpus" / "routeros"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="surrogateescape")


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(CORPUS.glob("*.rsc"))


needs_corpus = pytest.mark.skipif(
    not os.path.isdir(CORPUS), reason="shared corpus folder ../shared/corpus/routeros is absent"
)
