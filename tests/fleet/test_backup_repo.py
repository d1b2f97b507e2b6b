"""The backup history's repository (real git) and the normalisation of what is kept."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kopnet_iac.fleet.backup import (
    BackupError,
    BackupRepo,
    BackupReport,
    DeviceBackup,
    commit_message,
)
from kopnet_iac.fleet.normalise import normalise

EXPORT = """\
# 2026-11-30 10:00:01 by RouterOS 7.15.3
# software id = ABCD-1234
#
# model = RB4011iGS+
/system identity
set name=core-x
/radius
add address=10.0.0.1 secret="canary-radius-7Qx" service=ppp
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def test_a_routeros_export_keeps_its_configuration_without_date_or_secret() -> None:
    text = normalise("routeros", EXPORT)
    assert "/system identity set name=core-x" in text
    assert "canary" not in text and "secret=" in text
    assert "2026-11-30" not in text and "software id" not in text
    # the same configuration read at another time is the same text
    later = EXPORT.replace("10:00:01", "23:59:59")
    assert normalise("routeros", later) == text


def test_airos_lines_are_sorted_masked_and_volatile_keys_dropped() -> None:
    one = (
        "wireless.1.ssid=bh\nusers.1.password=$1$ab$cd\nsystem.date=2026-11-30\naaa.1.wpa.psk=k7\n"
    )
    other = (
        "aaa.1.wpa.psk=k7\nsystem.date=2027-01-01\nwireless.1.ssid=bh\nusers.1.password=$1$ab$cd\n"
    )
    assert normalise("airos", one) == normalise("airos", other)
    assert normalise("airos", one).splitlines() == [
        "aaa.1.wpa.psk=***",
        "users.1.password=***",
        "wireless.1.ssid=bh",
    ]


def test_a_new_folder_becomes_a_repository_and_commits_only_changes(tmp_path: Path) -> None:
    repo = BackupRepo(tmp_path / "backups")
    repo.open()
    (repo.path / "v").mkdir()
    (repo.path / "v" / "core.rsc").write_text("a\n")
    first = repo.commit(["v/core.rsc"], "backup: 1 new\n")
    assert first and git(repo.path, "log", "--format=%s") == "backup: 1 new\n"
    assert repo.commit(["v/core.rsc"], "nothing\n") is None  # unchanged: no commit
    (repo.path / "v" / "core.rsc").write_text("b\n")
    second = repo.commit(["v/core.rsc"], "backup: 1 changed\n")
    assert second and second != first
    assert "-a\n+b" in git(repo.path, "log", "-p", "-1", "--", "v/core.rsc")
    BackupRepo(repo.path).open()  # a healthy repository opens again


def test_the_backup_repository_is_not_the_checkout_around_it(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    outer.mkdir()
    git(outer, "init", "-q")
    repo = BackupRepo(outer / "state" / "backups")
    repo.open()
    assert (repo.path / ".git").is_dir()
    assert git(outer, "status", "--porcelain").strip() == "?? state/"


@pytest.mark.parametrize("damage", ["head", "objects", "plain-folder", "file"])
def test_a_damaged_repository_is_refused_and_left_as_it_is(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "backups"
    if damage == "file":
        path.write_text("not a folder")
    elif damage == "plain-folder":
        path.mkdir()
        (path / "notes.txt").write_text("mine")
    else:
        repo = BackupRepo(path)
        repo.open()
        (path / "core.rsc").write_text("a\n")
        repo.commit(["core.rsc"], "first\n")
        if damage == "head":
            (path / ".git" / "HEAD").write_text("garbage\n")
        else:
            for obj in (path / ".git" / "objects").rglob("*"):
                if obj.is_file() and obj.parent.name not in ("info", "pack"):
                    obj.write_bytes(b"broken")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(BackupError, match="left as it is") as caught:
        BackupRepo(path).open()
    assert str(path) in str(caught.value)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_the_commit_message_names_what_changed_and_what_was_not_read() -> None:
    report = BackupReport("r")
    report.devices = [
        DeviceBackup("v", "core-v", "routeros", "changed"),
        DeviceBackup("v", "sec-v", "airos", "unchanged"),
        DeviceBackup("w", "bh-w", "airos", "unreachable", error="connection refused"),
    ]
    message = commit_message(report, "ana")
    head, *body = message.splitlines()
    assert head.endswith(": 1 changed, 1 unchanged, 1 unreachable")
    assert "changed: v/core-v" in body and "unreachable: w/bh-w: connection refused" in body
    assert "villages: v, w" in body and "by: ana" in body


def test_a_multi_line_export_becomes_one_line_per_entry() -> None:
    export = (
        "# 2026-11-30 10:00:01 by RouterOS 7.15.3\n"
        "/ip address\n"
        'add address=10.1.0.1/24 comment="mgmt \\\n'
        '    vlan" interface=ether2\n'
    )
    assert normalise("routeros", export).splitlines() == [
        '/ip address add address=10.1.0.1/24 comment="mgmt vlan" interface=ether2'
    ]


def test_text_the_engine_cannot_read_is_kept_and_still_masked() -> None:
    text = normalise("routeros", "not an export at all password=hunter22\n")
    assert "hunter22" not in text and "not an export" in text
    assert normalise("airos", "") == ""


def test_committing_nothing_makes_no_commit(tmp_path: Path) -> None:
    repo = BackupRepo(tmp_path / "b")
    repo.open()
    assert repo.commit([], "nothing\n") is None
    assert repo.git("rev-parse", "--verify", "-q", "HEAD", check=False).returncode != 0
    repo.open()  # an empty repository (no commit yet) is healthy
