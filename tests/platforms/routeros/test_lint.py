"""Policy lint: each rule fires on a violation and stays quiet on a compliant config."""

from __future__ import annotations

import pytest

from kopnet_iac.platforms.routeros.lint import Finding, describe_rules, lint, load_rules
from kopnet_iac.platforms.routeros.parser import parse_export
from tests.platforms.routeros.conftest import corpus_files, needs_corpus, read
from tests.platforms.routeros.test_corpus import EXPECTED, SCRIPT

CLEAN = """\
/interface wireless security-profiles
add authentication-types=wpa2-psk mode=dynamic-keys name=kopnet wpa2-pre-shared-key=fake-wpa-key
/interface wireless
set [ find default-name=wlan1 ] band=5ghz-a/n country=indonesia frequency=5745 \\
    frequency-mode=regulatory-domain scan-list=5725-5825 ssid=sektor-krajan \\
    security-profile=kopnet wireless-protocol=802.11
/ip service
set telnet disabled=yes
set ftp disabled=yes
set www disabled=yes
set ssh address=10.10.99.0/24
set api address=10.10.99.0/24
set api-ssl disabled=yes
set winbox address=10.10.99.0/24,10.10.98.0/24
/snmp community
set [ find default=yes ] addresses=10.200.0.0/24 name=fake-kopnet-ro
/snmp
set enabled=yes
/system clock
set time-zone-name=Asia/Jakarta
/system ntp client
set enabled=yes
/system ntp client servers
add address=10.10.99.1
/user
add group=full name=noc password=fake-password-1
"""

MGMT = ("10.10.96.0/22",)
NOC = ("10.200.0.0/16",)


def _rules(text: str, **kw: tuple[str, ...]) -> list[str]:
    return sorted(f.rule for f in lint(parse_export(text), **kw))


def test_clean_config_has_no_findings() -> None:
    assert lint(parse_export(CLEAN), mgmt_networks=MGMT, noc_networks=NOC) == []


def test_rules_are_data_with_ids_and_messages() -> None:
    rules = load_rules()
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)) >= 10
    assert all(r["message"] for r in rules)


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ("country=indonesia", "country=no_country_set", "ROS-RF-001"),
        ("frequency-mode=regulatory-domain", "frequency-mode=superchannel", "ROS-RF-002"),
        ("frequency=5745", "frequency=5920", "ROS-RF-003"),
        ("scan-list=5725-5825", "scan-list=5180-5825", "ROS-RF-003"),
        ("set www disabled=yes\n", "", "ROS-SVC-001"),
        ("set telnet disabled=yes", "set telnet disabled=no", "ROS-SVC-001"),
        ("set ssh address=10.10.99.0/24", "set ssh port=22", "ROS-SVC-002"),
        ("set api address=10.10.99.0/24", "set api address=0.0.0.0/0", "ROS-SVC-002"),
        (
            "set winbox address=10.10.99.0/24,10.10.98.0/24",
            "set winbox address=10.10.99.0/24,192.168.1.0/24",
            "ROS-SVC-002",
        ),
        ("password=fake-password-1", 'password=""', "ROS-USR-001"),
        ("name=fake-kopnet-ro", "name=public", "ROS-SNMP-001"),
        (" name=fake-kopnet-ro", "", "ROS-SNMP-001"),
        ("addresses=10.200.0.0/24", "addresses=0.0.0.0/0", "ROS-SNMP-002"),
        ("addresses=10.200.0.0/24", "addresses=10.10.99.0/24", "ROS-SNMP-002"),
        (
            "/system ntp client\nset enabled=yes",
            "/system ntp client\nset enabled=no",
            "ROS-NTP-001",
        ),
        ("/system ntp client servers\nadd address=10.10.99.1\n", "", "ROS-NTP-001"),
        ("set time-zone-name=Asia/Jakarta", "set time-zone-autodetect=yes", "ROS-CLK-001"),
        # open radios: no profile (the built-in one has mode=none), a profile without WPA2,
        # Nv2 (which ignores the profile) without its own security, the default protocol "any"
        (" security-profile=kopnet", "", "ROS-RF-004"),
        ("authentication-types=wpa2-psk mode=dynamic-keys", "mode=none", "ROS-RF-004"),
        ("wireless-protocol=802.11", "wireless-protocol=nv2", "ROS-RF-004"),
        (
            "wireless-protocol=802.11",
            'wireless-protocol=nv2 nv2-security=enabled nv2-preshared-key=""',
            "ROS-RF-004",
        ),
        (" wireless-protocol=802.11", "", "ROS-RF-004"),
    ],
)
def test_each_rule_fires(old: str, new: str, rule: str) -> None:
    assert old in CLEAN
    assert _rules(CLEAN.replace(old, new), mgmt_networks=MGMT, noc_networks=NOC) == [rule]


def test_2ghz_channels_are_not_judged_by_the_5ghz_band_rule() -> None:
    text = CLEAN.replace("frequency=5745", "frequency=2412").replace(
        "scan-list=5725-5825", "scan-list=2412,2437"
    )
    assert _rules(text, mgmt_networks=MGMT, noc_networks=NOC) == []


def test_without_networks_only_presence_is_checked() -> None:
    text = CLEAN.replace("addresses=10.200.0.0/24", "addresses=10.10.99.0/24")
    assert _rules(text) == []


def test_nv2_with_its_own_security_is_not_open() -> None:
    text = CLEAN.replace(
        "wireless-protocol=802.11",
        "nv2-preshared-key=fake-nv2-key nv2-security=enabled wireless-protocol=nv2",
    ).replace(" security-profile=kopnet", "")
    assert _rules(text, mgmt_networks=MGMT, noc_networks=NOC) == []


def test_disabled_radio_is_not_open() -> None:
    text = CLEAN.replace(" security-profile=kopnet", " disabled=yes")
    assert _rules(text, mgmt_networks=MGMT, noc_networks=NOC) == []


def test_findings_carry_the_line_of_their_entry() -> None:
    text = CLEAN.replace("set telnet disabled=yes", "set telnet disabled=no").replace(
        " security-profile=kopnet", ""
    )
    lines = text.splitlines()
    found = {f.rule: f.line for f in lint(parse_export(text), text=text)}
    assert lines[found["ROS-SVC-001"] - 1] == "set telnet disabled=no"
    assert lines[found["ROS-RF-004"] - 1].startswith("set [ find default-name=wlan1 ]")
    # a missing item points at its section; without the text the line is unknown (0)
    missing = CLEAN.replace("set www disabled=yes\n", "")
    (finding,) = lint(parse_export(missing), text=missing)
    assert missing.splitlines()[finding.line - 1] == "/ip service"
    assert lint(parse_export(missing))[0].line == 0


def test_every_rule_is_described() -> None:
    described = dict(describe_rules())
    assert set(described) == {r["id"] for r in load_rules()}
    assert "open radio" in described["ROS-RF-004"]


def test_finding_text_and_dict() -> None:
    finding = lint(parse_export(CLEAN.replace("set www disabled=yes\n", "")))[0]
    assert finding == Finding("ROS-SVC-001", finding.message, "/ip service", "www")
    assert str(finding).startswith("ROS-SVC-001: /ip service www: ")
    assert finding.as_dict()["rule"] == "ROS-SVC-001"


def test_lint_never_reports_secret_values() -> None:
    text = CLEAN.replace("name=fake-kopnet-ro", "name=public").replace(
        "password=fake-password-1", 'password=""'
    )
    out = " ".join(str(f) for f in lint(parse_export(text)))
    assert "fake-password-1" not in out


@needs_corpus
def test_lint_over_real_exports() -> None:
    findings: dict[str, set[str]] = {}
    for path in corpus_files():
        if EXPECTED.get(path.name) == SCRIPT:
            continue
        cfg = parse_export(read(path), path.name)
        findings[path.name] = {f.rule for f in lint(cfg, mgmt_networks=MGMT)}
    # 002 is a radio on a made-up channel with no country set: every RF rule fires.
    assert {"ROS-RF-001", "ROS-RF-002", "ROS-RF-003"} <= findings["002.rsc"]
    # 011 is well hardened (services off, ssh/winbox restricted, NTP, time zone) but allows
    # ssh from networks that are not our management network.
    assert findings["011.rsc"] == {"ROS-SVC-002"}
    assert all(rules for rules in findings.values())
