"""Playbooks parse, and the role's file module replaces files as one validated change
(run for real through Ansible on localhost, in a temporary folder)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kopnet_iac.platforms.linux.ansible import PLAYBOOKS_DIR, ROLES_DIR, runner_env

BIN = Path(sys.executable).parent


def _env() -> dict[str, str]:
    return {**os.environ, **runner_env(), "ANSIBLE_LIBRARY": str(ROLES_DIR / "gateway" / "library")}


@pytest.mark.parametrize("playbook", ["gateway.yml", "site.yml", "gateway-snapshot.yml"])
def test_playbook_syntax(playbook: str) -> None:
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", playbook],
        cwd=PLAYBOOKS_DIR,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _module(files: list[dict[str, str]], *, check: bool = False) -> dict[str, object]:
    args = json.dumps({"files": files})
    cmd = [str(BIN / "ansible"), "localhost", "-c", "local", "-m", "kopnet_config_files"]
    cmd += ["-a", args, "--diff", "-e", f"ansible_python_interpreter={sys.executable}"]
    if check:
        cmd.append("--check")
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=120)
    # ad-hoc output: the --diff text, then "localhost | STATUS => {json}"
    match = re.search(r"^localhost \| (\S+?)!? => ", proc.stdout, re.M)
    assert match is not None, proc.stdout + proc.stderr
    result = json.loads(proc.stdout[match.end() :])
    assert isinstance(result, dict)
    result["_diff_text"] = proc.stdout[: match.start()]
    result["_status"] = match.group(1)
    return result


def test_files_are_replaced_only_when_every_file_validates(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.conf", tmp_path / "bad.conf"
    good.write_text("old good\n")
    bad.write_text("old bad\n")
    files = [
        {"name": "good.conf", "dest": str(good), "content": "new good\n", "mode": "0644"},
        {
            "name": "bad.conf",
            "dest": str(bad),
            "content": "new bad\n",
            "mode": "0644",
            "validate": "grep -q never-there %s",
        },
    ]
    result = _module(files)
    assert result["_status"] == "FAILED"
    assert result["failed_file"] == "bad.conf"
    assert "bad.conf does not validate" in str(result["msg"])
    assert "nothing was changed" in str(result["msg"])
    assert good.read_text() == "old good\n"
    assert bad.read_text() == "old bad\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.conf", "good.conf"]


def test_check_mode_diffs_and_second_run_is_unchanged(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.conf"
    absent = tmp_path / "kept.conf"
    absent.write_text("untouched\n")
    files = [
        {"name": "a.conf", "dest": str(target), "content": "line 1\nline 2\n", "mode": "0640"},
        {"name": "kept.conf", "dest": str(absent), "content": "__KOPNET_ABSENT__"},
    ]
    planned = _module(files, check=True)
    assert planned["changed"] is True
    assert planned["changed_files"] == ["a.conf"]
    assert not target.exists()
    diff = str(planned["_diff_text"])
    assert "+line 2" in diff and "(absent)" in diff

    applied = _module(files)
    assert applied["changed"] is True
    assert target.read_text() == "line 1\nline 2\n"
    assert oct(target.stat().st_mode & 0o777) == "0o640"
    assert absent.read_text() == "untouched\n"

    again = _module(files)
    assert again["changed"] is False
    assert again["changed_files"] == []
