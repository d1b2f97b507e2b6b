"""Unit tests of the driver's pure helpers and the emulator's RouterOS printing rules."""

from __future__ import annotations

import pytest

from kopnet_iac.drivers.routeros.candidate import UserSpec, parse_candidate
from kopnet_iac.drivers.routeros.errors import (
    CandidateError,
    DeviceCommitError,
    DeviceConnectError,
    NoRevertPathError,
    WrongModelError,
)
from kopnet_iac.drivers.routeros.session import Reply, _words
from kopnet_iac.drivers.routeros.state import device_state, read_sentences
from kopnet_iac.drivers.routeros.transaction import arm_job, export_script, guarded_revert_lines
from kopnet_iac.drivers.routeros.users import key_owner, plan_users
from kopnet_iac.errors import ApplyError, ConnectError, KopnetError, PlanError
from kopnet_iac.lab.routeros.printing import duration_seconds, print_value, same_value
from kopnet_iac.lab.routeros.script import split_statements
from kopnet_iac.platforms.routeros import parse_export, plan, values

ROW = {"name": "admin", "group": "full", "address": "10.0.0.0/8,10.1.0.0/16", "disabled": "false"}


def users(specs: list[UserSpec], **kwargs: object) -> object:
    args: dict[str, object] = {
        "password_of": lambda written: "pw-" + written,
        "login_user": "admin",
        "login_password": "pw-x",
    }
    args.update(kwargs)
    return plan_users([ROW], [], specs, [], **args)  # type: ignore[arg-type]


def test_user_address_order_and_booleans_do_not_count() -> None:
    same = UserSpec("admin", {"address": "10.1.0.0/16,10.0.0.0/8", "disabled": "no"}, None, False)
    assert not users([same])


def test_user_change_and_its_revert() -> None:
    spec = UserSpec("admin", {"group": "read"}, None, False)
    plan_ = users([spec])
    assert plan_.script == ["/user set [ find where name=admin ] group=read"]  # type: ignore[attr-defined]
    assert plan_.revert == ["/user set [ find where name=admin ] group=full"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("policy", "written", "expected"),
    [
        ("on_create", "x", 0),  # login user, same password: nothing
        ("on_create", "y", 1),  # login user, the secret changed: rotate
        ("always", "x", 1),
        ("never", "y", 0),
    ],
)
def test_password_policies(policy: str, written: str, expected: int) -> None:
    spec = UserSpec("admin", {}, written, False)
    plan_ = users([spec], password_update=policy)
    sets = [s for s in plan_.api_after if s[0] == "/user/set"]  # type: ignore[attr-defined]
    assert len(sets) == expected
    assert all("password" not in line for line in plan_.revert)  # type: ignore[attr-defined]


def test_keys_need_a_comment_and_installed_keys_are_skipped() -> None:
    assert key_owner("ssh-ed25519 AAAA noc@x") == "noc@x"
    with pytest.raises(PlanError, match="no comment"):
        plan_users([ROW], [], [], [("admin", "ssh-ed25519 AAAA")], password_of=str,
                   login_user="admin", login_password="")  # fmt: skip
    done = plan_users(
        [ROW],
        [{"user": "admin", "key-owner": "noc@x"}],
        [],
        [("admin", "ssh-ed25519 AAAA noc@x")],
        password_of=str,
        login_user="admin",
        login_password="",
    )
    assert not done


def test_new_user_without_password_is_refused() -> None:
    with pytest.raises(PlanError, match="needs a password"):
        users([UserSpec("new", {"group": "read"}, None, True)])


def test_user_line_without_name_is_refused() -> None:
    with pytest.raises(KopnetError, match="without a user name"):
        parse_candidate("/user\nset [ find group=full ] address=10.0.0.0/8\n")


def test_error_classes_are_both_kinds() -> None:
    assert issubclass(WrongModelError, ConnectError) and issubclass(DeviceConnectError, KopnetError)
    assert issubclass(NoRevertPathError, ApplyError) and issubclass(DeviceCommitError, ApplyError)
    assert issubclass(CandidateError, PlanError)
    error = NoRevertPathError("reason", host="core-x", step="arm")
    assert str(error) == "core-x/arm: reason"


def test_state_from_replies() -> None:
    export = Reply(
        done={"ret": "# 2026-01-01 by RouterOS 7.15.3\r\n/system identity set name=x\r\n"}
    )
    replies = [
        export,
        Reply(rows=[{"board-name": "RB5009UG+S+", "free-hdd-space": "1234"}]),
        Reply(trap="no such command prefix"),  # RouterOS before device-mode existed
        Reply(rows=[{"name": "kopnet-revert"}]),
        Reply(),
    ]
    paths = {("system", "identity")}
    state = device_state(replies, paths, users=False, keys=False, host="h")
    assert (state.board, state.free_disk, state.scheduler_allowed) == ("RB5009UG+S+", 1234, True)
    assert state.pending_job and not state.revert_file
    assert state.running.sections[("system", "identity")][0].props == {"name": "x"}
    with pytest.raises(DeviceConnectError, match="cannot export"):
        device_state([Reply(trap="no such command"), *replies[1:]], paths, users=False,
                     keys=False, host="h")  # fmt: skip
    sentences = read_sentences(paths, users=True, keys=True)
    assert [s[0] for s in sentences][-2:] == ["/user/print", "/user/ssh-keys/print"]


def test_sentence_words_and_job() -> None:
    assert _words({"numbers": "a", "?name": "b", ".proplist": "c"}) == [
        "=numbers=a",
        "?name=b",
        ".proplist=c",
    ]
    command, attrs = arm_job(0)
    assert command == "/system/scheduler/add" and attrs["interval"] == "1s"
    assert export_script([]) == "/export terse show-sensitive"
    assert export_script(["/ip pool"], sensitive=False) == "/ip pool export terse"


def test_guarded_revert_removes_before_each_add() -> None:
    running = parse_export("/ip firewall filter\nadd action=drop chain=input comment=x\n")
    intended = parse_export("/ip firewall filter\nadd action=accept chain=input\n")
    lines = guarded_revert_lines(plan(running, intended))
    adds = [i for i, line in enumerate(lines) if " add " in line]
    assert adds and all(" remove [ find where " in lines[i - 1] for i in adds)
    assert "comment=x" in lines[adds[0] - 1]


def test_values_helpers() -> None:
    assert values.duration("1w") == "604800" and values.duration("1m30s") == "90"
    assert values.duration("1d 02:00:00") == "93600" and values.duration("none") == "none"
    assert values.host("::1/128") == "::1" and values.host("a/32,b/32") == "a/32,b/32"
    assert values.mac("not-a-mac") == "not-a-mac"


def test_emulator_printing_rules() -> None:
    assert duration_seconds("auto") is None and duration_seconds("1h30m") == 5400.0
    assert print_value("lease-time", "3600s") == "1h"
    assert print_value("keepalive-timeout", "30") == "30"  # a plain number stays
    assert print_value("interval", "0.2s") == "0.2s"  # sub-second values as typed
    assert print_value("disabled", "true") == "yes"
    assert print_value("mac-address", "4a:00:00:00:00:01") == "4A:00:00:00:00:01"
    assert same_value("address", "10.0.0.1/32", "10.0.0.1")
    assert not same_value("address", "10.0.0.1/24", "10.0.0.1")
    assert same_value("lease-time", "60m", "1h")
    assert split_statements("/a;/b") == "/a\n/b"
