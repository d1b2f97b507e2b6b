"""Page building blocks: escaping, code colouring, the page shell, atomic writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from kopnet_iac.errors import ReportError
from kopnet_iac.report.html import badge, code_block, esc, page, table, write_atomic


def test_escaping_and_badges() -> None:
    assert esc('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"
    assert esc(None) == ""
    assert ">reverted<" in badge("reverted") and ">unknown<" in badge(None)
    assert ">FAILED<" in badge("failed", "FAILED")


def test_code_block_colours_diff_lines() -> None:
    html = code_block("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same\n")
    assert '<span class="del">-old</span>' in html and '<span class="add">+new</span>' in html
    assert '<span class="hunk">@@ -1 +1 @@</span>' in html
    assert "--- a/x\n+++ b/x" in html  # file headers stay plain


def test_table_and_page_shell() -> None:
    html = table(("a", "n"), [("x", "1")], numeric=(1,))
    assert '<td class="n">1</td>' in html and "<th>a</th>" in html
    doc = page("T <1>", "<p>body</p>", generated="made", css=".x{}")
    assert doc.startswith("<!DOCTYPE html>") and "<title>T &lt;1&gt;</title>" in doc
    assert ".x{}" in doc and "<footer>made</footer>" in doc
    assert "<script" not in doc and "http" not in doc


def test_write_atomic_replaces_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "page.html"
    write_atomic(target, "one")
    write_atomic(target, "two")
    assert target.read_text() == "two"
    folder = tmp_path / "a-folder"
    folder.mkdir()
    (folder / "keep").write_text("x")
    with pytest.raises(ReportError, match="cannot write the report"):
        write_atomic(folder, "three")  # a folder cannot be replaced by a file
    assert (folder / "keep").read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-folder", "deep"]
