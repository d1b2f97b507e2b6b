"""Control helpers: lab directory resolution and never signalling a foreign process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kopnet_iac.errors import LabError
from kopnet_iac.lab import control


def test_lab_dir_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(control.ENV_LAB_DIR, raising=False)
    assert control.resolve_lab_dir() == tmp_path / ".kopnet" / "lab"
    monkeypatch.setenv(control.ENV_LAB_DIR, str(tmp_path / "elsewhere"))
    assert control.resolve_lab_dir() == tmp_path / "elsewhere"
    assert control.resolve_lab_dir(Path("given")) == tmp_path / "given"


def test_no_lab_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="no lab running"):
        control.request(tmp_path, "status")
    assert not control.is_running(tmp_path)
    with pytest.raises(LabError, match="too long"):
        control.request(tmp_path / ("x" * 120), "status")


def test_stop_never_signals_a_process_that_is_not_the_lab_daemon(tmp_path: Path) -> None:
    (tmp_path / control.PID_NAME).write_text(f"{os.getpid()}\n")  # this test process
    assert not control.is_lab_daemon(os.getpid())
    assert control.stop_daemon(tmp_path, timeout=1) is None
    assert control.pid_alive(os.getpid())
    assert not (tmp_path / control.PID_NAME).exists()  # stale record removed
    (tmp_path / control.PID_NAME).write_text("garbage")
    assert control.read_pid(tmp_path) is None
    assert control.stop_daemon(tmp_path, timeout=1) is None
