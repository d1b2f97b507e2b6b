"""How deploy progress is shown: a live table on a terminal, plain lines in CI logs."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from kopnet_iac.cli.deploy_cmds import EXIT_CODES, ProgressPrinter
from kopnet_iac.deploy.report import ProgressEvent


def test_a_terminal_gets_a_live_table_per_device() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120, color_system=None)
    printer = ProgressPrinter(rich=True, console=console)
    printer(ProgressEvent("render", "ok", None, "5 device(s)"))
    printer(ProgressEvent("apply", "start", "sec-1"))
    printer(ProgressEvent("apply", "ok", "sec-1"))
    printer(ProgressEvent("apply", "failed", "core-1", "core-1/apply: /import failed"))
    printer.pause()
    out = buffer.getvalue()
    assert "render" in out and "5 device(s)" in out
    assert "sec-1" in out and "core-1" in out and "/import failed" in out
    assert printer.rows == {
        "sec-1": ("apply", "ok", ""),
        "core-1": ("apply", "failed", "core-1/apply: /import failed"),
    }
    printer.pause()  # twice is harmless


def test_plain_lines_otherwise(capsys: pytest.CaptureFixture[str]) -> None:
    printer = ProgressPrinter(rich=False)
    printer(ProgressEvent("verify", "failed", "bh-a", "radio-link: not registered"))
    printer(ProgressEvent("finish", "reverted", None, ""))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[1:4] == ["verify", "bh-a", "failed"]
    assert lines[0].endswith("radio-link: not registered")
    assert lines[1].split()[1:4] == ["finish", "village", "reverted"]


def test_exit_codes_follow_the_outcome() -> None:
    assert EXIT_CODES == {
        "confirmed": 0,
        "no-change": 0,
        "reverted": 1,
        "planned": 1,
        "failed": 3,
    }
