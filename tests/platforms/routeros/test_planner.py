"""Planner behaviour beyond the fixture folders: scope, identity, errors, masking."""

from __future__ import annotations

import pytest

from kopnet_iac.errors import ApplyError, PlanError
from kopnet_iac.platforms.routeros.apply import apply_script
from kopnet_iac.platforms.routeros.model import RouterOSConfig
from kopnet_iac.platforms.routeros.normalize import equivalent
from kopnet_iac.platforms.routeros.parser import parse_export
from kopnet_iac.platforms.routeros.planner import plan, target_state
from kopnet_iac.platforms.routeros.planreport import change_report, change_text


def _roundtrip(running: RouterOSConfig, intended: RouterOSConfig) -> str:
    result = plan(running, intended)
    after = apply_script(running, result.script())
    assert equivalent(after, target_state(running, intended))
    assert equivalent(apply_script(after, result.revert_script()), running)
    return result.script()


def test_paths_absent_from_intended_are_left_alone() -> None:
    running = parse_export(
        "/ip pool\nadd name=a ranges=10.0.0.2-10.0.0.9\n/system identity\nset name=x\n"
    )
    intended = parse_export("/system identity\nset name=y\n")
    assert _roundtrip(running, intended) == "/system identity set name=y\n"


def test_manage_comment_converges_a_path_to_empty() -> None:
    running = parse_export("/ip pool\nadd name=a ranges=10.0.0.2-10.0.0.9\n")
    intended = parse_export("# kopnet: manage /ip pool\n")
    assert _roundtrip(running, intended) == "/ip pool remove [ find where name=a ]\n"


def test_unknown_path_is_compared_as_ordered_content() -> None:
    running = parse_export(
        "/ip ipsec policy\nadd dst-address=10.1.0.0/16 src-address=10.2.0.0/16\n"
    )
    intended = parse_export(
        "/ip ipsec policy\nadd dst-address=10.3.0.0/16 src-address=10.2.0.0/16\n"
        "add dst-address=10.1.0.0/16 src-address=10.2.0.0/16\n"
    )
    script = _roundtrip(running, intended)
    assert script == (
        "/ip ipsec policy add dst-address=10.3.0.0/16 src-address=10.2.0.0/16 "
        "place-before=[ find where dst-address=10.1.0.0/16 src-address=10.2.0.0/16 ]\n"
    )


def test_keyed_ordered_queue_reorder_and_change() -> None:
    running = parse_export(
        "/queue simple\nadd max-limit=10M/10M name=a target=10.0.0.1/32\n"
        "add max-limit=10M/10M name=b target=10.0.0.2/32\n"
    )
    intended = parse_export(
        "/queue simple\nadd max-limit=20M/20M name=b target=10.0.0.2/32\n"
        "add max-limit=10M/10M name=a target=10.0.0.1/32\n"
    )
    assert _roundtrip(running, intended) == (
        "/queue simple remove [ find where name=a ]\n"
        "/queue simple set [ find where name=b ] max-limit=20M/20M\n"
        "/queue simple add max-limit=10M/10M name=a target=10.0.0.1/32\n"
    )
    swapped = parse_export(
        "/queue simple\nadd max-limit=10M/10M name=c target=10.0.0.3/32\n"
        "add max-limit=20M/20M name=b target=10.0.0.2/32\n"
        "add max-limit=10M/10M name=a target=10.0.0.1/32\n"
    )
    assert "place-before=[ find where name=b ]" in _roundtrip(running, swapped)


def test_duplicate_identity_on_owned_path_is_a_plan_error() -> None:
    running = parse_export("/ip pool\nadd name=a ranges=10.0.0.2-10.0.0.9\n")
    intended = parse_export(
        "/ip pool\nadd name=b ranges=10.0.1.2-10.0.1.9\nadd name=b ranges=10.0.2.2-10.0.2.9\n"
    )
    with pytest.raises(PlanError, match=r"/ip pool: duplicate entry in intended: name=b"):
        plan(running, intended, host="desa-x-core")


def test_entry_without_identity_is_a_plan_error_naming_it() -> None:
    running = parse_export("/ppp profile\nadd name=p1\n")
    intended = parse_export("/ppp profile\nadd name=p1\nadd local-address=10.0.0.1\n")
    with pytest.raises(PlanError) as info:
        plan(running, intended, host="desa-x-core")
    text = str(info.value)
    assert "/ppp profile" in text and "local-address" in text and "desa-x-core" in text


def test_identical_duplicate_rules_need_no_plan_when_unchanged() -> None:
    text = "/ip firewall filter\nadd action=drop chain=input\nadd action=drop chain=input\n"
    cfg = parse_export(text)
    assert not plan(cfg, cfg)
    other = parse_export(text + "add action=accept chain=input\n")
    with pytest.raises(PlanError, match="duplicate"):
        plan(cfg, other)


def test_builtin_item_change_and_revert_to_default() -> None:
    running = parse_export("/ip service\nset telnet disabled=yes\n")
    intended = parse_export("/ip service\nset telnet disabled=yes\nset api disabled=yes\n")
    result = plan(running, intended)
    assert result.script() == "/ip service set [ find where name=api ] disabled=yes\n"
    assert result.revert_script() == "/ip service set [ find where name=api ] disabled=no\n"


def test_unset_without_known_default_uses_negation() -> None:
    running = parse_export("/ip dns\nset servers=1.1.1.1 cache-size=4096KiB\n")
    intended = parse_export("/ip dns\nset servers=1.1.1.1\n")
    assert _roundtrip(running, intended) == "/ip dns set !cache-size\n"


def test_sensitive_values_are_masked_on_request_and_in_diffs() -> None:
    running = parse_export("/ppp secret\nadd name=u1 password=fake-old-1 profile=p\n")
    intended = parse_export("/ppp secret\nadd name=u1 password=fake-new-1 profile=p\n")
    result = plan(running, intended)
    assert "fake-new-1" in result.script()
    masked = result.script(mask_sensitive=True) + result.revert_script(mask_sensitive=True)
    assert "fake-new-1" not in masked and "fake-old-1" not in masked and "********" in masked
    report = change_report(result, host="core")
    text = change_text(report)
    assert "fake" not in text and "fake" not in str(report)
    assert report["paths"][0]["changes"][0]["properties"]["password"] == {
        "before": "********",
        "after": "********",
    }


def test_diff_report_groups_by_path() -> None:
    running = parse_export(
        "/ip pool\nadd name=a ranges=10.0.0.2-10.0.0.9\n/system identity\nset name=x\n"
    )
    intended = parse_export(
        "/ip pool\nadd name=b ranges=10.0.1.2-10.0.1.9\n/system identity\nset name=y\n"
    )
    report = change_report(plan(running, intended), host="core")
    assert [g["path"] for g in report["paths"]] == ["/system identity", "/ip pool"]
    assert report["summary"] == {"add": 1, "remove": 1, "set": 1, "move": 0}
    text = change_text(report)
    assert "name: x -> y" in text and "+ name=b" in text and "- name=a" in text
    assert change_text(change_report(plan(running, running), host="core")) == "core: no changes\n"


def test_values_needing_quotes_survive_the_plan() -> None:
    running = RouterOSConfig()
    intended = parse_export(
        '/system script\nadd name=s source=":log info \\"hi \\$x\\"\\r\\n:delay 1s"\n'
        '/system note\nset note="Kantor desa \\C3\\A9 \\?"\n'
    )
    script = _roundtrip(running, intended)
    assert '\\"hi \\$x\\"' in script


def test_apply_is_strict_about_missing_targets() -> None:
    cfg = parse_export("/ip pool\nadd name=a ranges=10.0.0.2-10.0.0.9\n")
    with pytest.raises(ApplyError, match="remove matches nothing"):
        apply_script(cfg, "/ip pool remove [ find where name=zzz ]\n")
    with pytest.raises(ApplyError, match="place-before"):
        apply_script(cfg, "/ip pool add name=b place-before=[ find where name=zzz ]\n")
    with pytest.raises(ApplyError, match="not a plan command"):
        apply_script(cfg, ":delay 1s\n")


def test_running_without_secrets_can_be_planned_blind_to_them() -> None:
    # RouterOS 7 exports omit secrets unless show-sensitive.
    running = parse_export(
        "/ppp secret\nadd name=u1 profile=p\n/snmp community\nadd name=fake-c1\n"
    )
    intended = parse_export(
        "/ppp secret\nadd name=u1 password=fake-1 profile=p\nadd name=u2 password=fake-2 profile=p\n"
        "/snmp community\nadd name=fake-c1\n"
    )
    assert "password=fake-1" in plan(running, intended).script()
    blind = plan(running, intended, compare_sensitive=False)
    assert blind.script() == "/ppp secret add name=u2 password=fake-2 profile=p\n"
    assert blind.revert_script() == "/ppp secret remove [ find where name=u2 ]\n"
    assert not plan(intended, running, compare_sensitive=False).script().count("set")
