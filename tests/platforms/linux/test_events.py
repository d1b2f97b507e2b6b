"""Reading ansible-runner's event stream: recorded events of real gateway runs (fixtures), and
a real playbook run against a closed port on loopback (unreachable)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from kopnet_iac.platforms.linux.ansible import format_diff, run_playbook, task_result

EVENTS = Path(__file__).parent / "fixtures" / "events"


def _event(name: str) -> dict[str, Any]:
    data = json.loads((EVENTS / f"{name}.json").read_text())
    assert isinstance(data, dict)
    return data


def test_changed_files_task_carries_files_and_diff() -> None:
    result = task_result(_event("plan-changed-files"))
    assert result is not None
    assert (result.host, result.task, result.status) == (
        "gw-sukadana",
        "Write configuration files",
        "changed",
    )
    assert result.changed and not result.failed and not result.handler
    assert result.message == "files: bird.conf"
    assert "--- /etc/bird/bird.conf (active)" in result.diff
    assert "+++ /etc/bird/bird.conf (rendered bird.conf)" in result.diff
    edits = [
        line
        for line in result.diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert edits == ["-define ISP_ASN = 64500;", "+define ISP_ASN = 64999;"]


def test_handlers_are_recognised_by_their_file() -> None:
    skipped = task_result(_event("plan-handler-skipped"))
    changed = task_result(_event("apply-handler-changed"))
    assert skipped is not None and changed is not None
    assert skipped.handler and skipped.status == "skipped"
    assert changed.handler and changed.status == "changed"
    assert changed.task == "Reload BIRD (lab)"


def test_validation_failure_names_the_file_and_the_parser_error() -> None:
    result = task_result(_event("apply-validation-failed"))
    assert result is not None and result.failed
    assert result.task == "Write configuration files"
    assert "bird.conf does not validate (bird -p -c /etc/bird/bird.conf)" in result.message
    assert "nothing was changed" in result.message
    assert "syntax error" in result.message


def test_ignored_failure_counts_as_ok() -> None:
    event = _event("apply-validation-failed")
    event["event_data"]["ignore_errors"] = True
    result = task_result(event)
    assert result is not None and result.status == "ok" and result.message == ""


def test_plain_ok_loop_and_non_result_events() -> None:
    ok = task_result(_event("apply-ok"))
    loop = task_result(_event("snapshot-loop-ok"))
    assert ok is not None and ok.status == "ok" and not ok.message and not ok.diff
    # fetch reports a change when it writes the controller-side copy
    assert loop is not None and loop.status == "changed" and loop.action.endswith("fetch")
    assert task_result(_event("task-start")) is None


@pytest.mark.parametrize(
    ("diff", "expected"),
    [
        ({"before": "a\n", "after": "b\n", "before_header": "x", "after_header": "y"},
         "--- x\n+++ y\n@@ -1 +1 @@\n-a\n+b\n"),
        ([{"before": "same\n", "after": "same\n"}], ""),
        ({"prepared": "custom diff text\n"}, "custom diff text\n"),
        ({"before": "no newline", "after": "changed"}, "--- before\n+++ after\n@@ -1 +1 @@\n-no newline\n+changed\n"),
        ("not a diff", ""),
    ],
)  # fmt: skip
def test_format_diff(diff: Any, expected: str) -> None:
    assert format_diff(diff) == expected


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_host_is_reported_from_the_event_stream(tmp_path: Path) -> None:
    port = _closed_port()
    inventory = {
        "all": {
            "hosts": {
                "gw-test": {
                    "ansible_host": "127.0.0.1",
                    "ansible_port": port,
                    "ansible_user": "kopnet",
                    "ansible_ssh_common_args": "-o StrictHostKeyChecking=no "
                    "-o UserKnownHostsFile=/dev/null",
                }
            },
            "children": {"gateways": {"hosts": {"gw-test": None}}},
        }
    }
    run = run_playbook(
        "gateway-snapshot.yml",
        inventory,
        extravars={"kopnet_snapshot_dir": str(tmp_path / "snap")},
        workdir=tmp_path / "runner",
        timeout=120,
    )
    assert not run.ok
    assert [(t.host, t.task, t.status) for t in run.failures] == [
        ("gw-test", "Log in to the gateway", "unreachable")
    ]
    assert "Connection refused" in run.failures[0].message
    assert not (tmp_path / "snap").exists()
    # the event stream was read in memory; runner's artifacts (diffs of files) are gone
    assert (tmp_path / "runner").is_dir()
    assert not (tmp_path / "runner" / "artifacts").exists()
