"""Every real export in the shared corpus parses (or is recognised as a script), emits back to
the same model, and plans to nothing against itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kopnet_iac.errors import NotAnExportError
from kopnet_iac.platforms.routeros.emitter import emit
from kopnet_iac.platforms.routeros.normalize import equivalent
from kopnet_iac.platforms.routeros.parser import parse_export, parse_script
from kopnet_iac.platforms.routeros.planner import plan
from tests.platforms.routeros.conftest import CORPUS, corpus_files, needs_corpus, read

SCRIPT = "script"
# file -> (paths, entries) for exports, SCRIPT for files that are scripts. Counts were checked
# against `grep -cE '^(add|set)|^/.* (add|set) '` on each file; a change here is a regression.
EXPECTED: dict[str, tuple[int, int] | str] = {
    "001.rsc": (38, 126), "002.rsc": (35, 56), "003.rsc": (31, 52), "004.rsc": (36, 45),
    "005.rsc": (105, 177), "006.rsc": (97, 157), "007.rsc": (20, 37), "008.rsc": (14, 34),
    "009.rsc": (17, 34), "010.rsc": (21, 43), "011.rsc": (27, 58), "012.rsc": (17, 44),
    "013.rsc": (31, 54), "019.rsc": (32, 76), "020.rsc": (12, 44), "021.rsc": (1, 3),
    "022.rsc": (25, 91), "023.rsc": (13, 16), "024.rsc": (13, 20), "025.rsc": (71, 549),
    "028.rsc": (11, 27), "031.rsc": (15, 19), "032.rsc": (23, 83), "033.rsc": (16, 19),
    "034.rsc": (18, 26), "035.rsc": (21, 43), "036.rsc": (17, 24), "037.rsc": SCRIPT,
    "038.rsc": (24, 90), "039.rsc": (15, 49), "040.rsc": (14, 21), "041.rsc": (17, 36),
    "042.rsc": (13, 18), "043.rsc": (23, 54), "044.rsc": (12, 17), "045.rsc": (9, 16),
    "048.rsc": (13, 14), "049.rsc": (5, 6),
}  # fmt: skip


def _outcome(path: Path) -> tuple[int, int] | str:
    try:
        cfg = parse_export(read(path), path.name)
    except NotAnExportError:
        return SCRIPT
    return (len(cfg.sections), cfg.line_count())


@needs_corpus
def test_corpus_counts_match_the_expected_table() -> None:
    files = corpus_files()
    got = {p.name: _outcome(p) for p in files}
    exports = [n for n, v in got.items() if v != SCRIPT]
    print(
        f"\nRouterOS corpus: {len(files)} files, {len(exports)} exports parsed, "
        f"{len(files) - len(exports)} scripts, "
        f"{sum(v[1] for v in got.values() if isinstance(v, tuple))} entries"
    )
    assert got == EXPECTED


@needs_corpus
@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_corpus_file_round_trips(path: Path) -> None:
    text = read(path)
    # Every file, script or not, tokenizes for interpreters.
    assert parse_script(text, path.name)
    if EXPECTED.get(path.name) == SCRIPT:
        with pytest.raises(NotAnExportError):
            parse_export(text, path.name)
        return
    cfg = parse_export(text, path.name)
    for terse in (False, True):
        again = parse_export(emit(cfg, terse=terse), path.name)
        assert again == cfg
    assert not plan(cfg, cfg), "plan(x, x) must be empty"
    assert equivalent(cfg, parse_export(emit(cfg, terse=True)))


# An oracle independent of the parser: an entry is a physical line starting with add/set, or a
# terse "/path ... add|set" line (continuation lines never start with either).
_ENTRY_LINE = re.compile(r"^(add|set)|^/.* (add|set) ")


@needs_corpus
@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_parsed_entries_match_an_independent_line_count(path: Path) -> None:
    text = read(path)
    counted = sum(1 for line in text.replace("\r", "").split("\n") if _ENTRY_LINE.search(line))
    assert counted > 0, f"{path.name} has no add/set line at all"
    try:
        cfg = parse_export(text, path.name)
    except NotAnExportError:
        assert re.search(r"^\s*:(foreach|global|local|if|do|delay)\b", text, re.M), (
            f"{path.name} rejected as a script but has no script command"
        )
        return
    assert cfg.line_count() == counted
    assert len(cfg.sections) <= counted


def test_corpus_location_holds_files_when_present() -> None:
    if CORPUS.is_dir():
        assert corpus_files(), f"{CORPUS} exists but holds no .rsc file"
        assert set(EXPECTED) == {p.name for p in corpus_files()}
