"""Sensitive values never show in masked scripts, diff reports, error messages or lint findings.

One case per sensitive field of ``paths.yaml`` that a village POP really uses; each is checked
when the value changes, when the entry is added and when it is removed.
"""

from __future__ import annotations

import pytest

from kopnet_iac.errors import PlanError
from kopnet_iac.platforms.routeros.lint import lint
from kopnet_iac.platforms.routeros.parser import parse_export
from kopnet_iac.platforms.routeros.paths import load_schema
from kopnet_iac.platforms.routeros.planner import MASK, plan
from kopnet_iac.platforms.routeros.planreport import change_report, change_text

# (path, field, entry line with {secret} standing for the value); secrets are fake.
CASES = [
    ("snmp community", "name", "add addresses=10.10.99.0/24 name={secret}"),
    ("snmp community", "name", "set [ find default=yes ] addresses=10.10.99.0/24 name={secret}"),
    ("snmp", "trap-community", "set enabled=yes trap-community={secret} trap-version=2"),
    ("radius", "secret", "add address=10.10.99.5 secret={secret} service=ppp,hotspot"),
    ("ppp secret", "password", "add name=pel-001 password={secret} profile=paket-10M"),
    (
        "interface wireless security-profiles",
        "wpa2-pre-shared-key",
        "add authentication-types=wpa2-psk mode=dynamic-keys name=sektor "
        "wpa2-pre-shared-key={secret}",
    ),
    (
        "interface wireless security-profiles",
        "wpa-pre-shared-key",
        "add authentication-types=wpa-psk mode=dynamic-keys name=sektor "
        "wpa-pre-shared-key={secret}",
    ),
    (
        "interface wireless security-profiles",
        "management-protection-key",
        "add management-protection=allowed management-protection-key={secret} name=sektor",
    ),
    ("user", "password", "add group=full name=noc password={secret}"),
    ("ip hotspot user", "password", "add name=tamu-01 password={secret} profile=default"),
    (
        "routing ospf interface-template",
        "authentication-key",
        "add area=backbone auth=md5 authentication-key={secret} interfaces=vlan99",
    ),
    ("routing ospf interface-template", "auth-key", "add area=backbone auth=md5 auth-key={secret}"),
    (
        "routing bgp connection",
        "tcp-md5-key",
        "add as=64512 name=isp remote.address=10.0.0.1 tcp-md5-key={secret}",
    ),
    ("interface wireguard", "private-key", "add listen-port=13231 name=wg0 private-key={secret}"),
    ("interface pppoe-client", "password", "add interface=ether1 name=isp password={secret}"),
]
OLD, NEW = "fake-old-s3cret", "fake-new-s3cret"


def _config(path: str, line: str | None) -> str:
    if line is None:
        return f"# kopnet: manage /{path}\n"
    return f"/{path}\n{line}\n"


def _outputs(running: str, intended: str) -> tuple[str, str]:
    """(unmasked scripts, everything meant for people or logs)."""
    result = plan(parse_export(running), parse_export(intended))
    report = change_report(result, host="core")
    raw = result.script() + result.revert_script()
    shown = (
        result.script(mask_sensitive=True)
        + result.revert_script(mask_sensitive=True)
        + repr(report)
        + change_text(report)
    )
    return raw, shown


@pytest.mark.parametrize(("path", "field", "line"), CASES, ids=[f"{p}:{f}" for p, f, _ in CASES])
def test_schema_marks_the_field_sensitive(path: str, field: str, line: str) -> None:
    assert load_schema().is_sensitive(tuple(path.split()), field)
    assert load_schema().is_sensitive(tuple(path.split()), "!" + field)


@pytest.mark.parametrize("scenario", ["change", "add", "remove"])
@pytest.mark.parametrize(("path", "field", "line"), CASES, ids=[f"{p}:{f}" for p, f, _ in CASES])
def test_value_is_masked_everywhere_people_look(
    path: str, field: str, line: str, scenario: str
) -> None:
    if line.startswith("set") and scenario != "change":
        pytest.skip("a built-in item or a settings menu is changed, never added or removed")
    old = line.format(secret=OLD)
    new = line.format(secret=NEW)
    running = _config(path, None if scenario == "add" else old)
    intended = _config(path, None if scenario == "remove" else new)
    raw, shown = _outputs(running, intended)
    expected = {"change": {OLD, NEW}, "add": {NEW}, "remove": {OLD}}[scenario]
    # The runnable scripts do carry the values (else the masking check proves nothing) ...
    assert all(s in raw for s in expected)
    # ... and nothing shown to people does.
    assert "s3cret" not in shown
    assert MASK in shown


def test_unset_trap_community_is_masked_both_ways() -> None:
    running = "/snmp\nset enabled=yes trap-community=fake-trap-s3cret\n"
    intended = "/snmp\nset enabled=yes\n"
    raw, shown = _outputs(running, intended)
    assert "/snmp set !trap-community" in raw and "fake-trap-s3cret" in raw
    assert "s3cret" not in shown
    result = plan(parse_export(running), parse_export(intended))
    props = change_report(result)["paths"][0]["changes"][0]["properties"]
    assert props["trap-community"] == {"before": MASK, "after": None}


def test_plan_error_for_an_entry_without_identity_masks_its_secrets() -> None:
    running = parse_export("/user\nadd group=full name=noc password=fake-a-s3cret\n")
    intended = parse_export('/user\nadd group=full name="" password=fake-b-s3cret\n')
    with pytest.raises(PlanError, match="no identity") as info:
        plan(running, intended)
    assert "s3cret" not in str(info.value)
    assert "group=full" in str(info.value) and MASK in str(info.value)


def test_lint_findings_do_not_show_community_names() -> None:
    config = parse_export(
        "/snmp community\n"
        "add addresses=0.0.0.0/0 name=fake-comm-s3cret\n"
        "set [ find name=fake-other-s3cret ] addresses=0.0.0.0/0\n"
    )
    findings = [f for f in lint(config, noc_networks=["10.10.99.0/24"]) if "SNMP" in f.rule]
    assert len(findings) == 2
    assert all("s3cret" not in str(f) and MASK in f.entry for f in findings)
