"""airOS policy lint: each rule fires on its violation, at the line of the key, and stays
quiet on the rendered example configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from kopnet_iac.platforms.airos.lint import RULES, lint_airos
from tests.conftest import REPO_ROOT

GOLDEN = Path(REPO_ROOT) / "tests" / "fixtures" / "render" / "lebung-itam"
AP = (GOLDEN / "bh-lebung-itam-a.cfg").read_text(encoding="utf-8")
STATION = (GOLDEN / "bh-lebung-itam-b.cfg").read_text(encoding="utf-8")


def _rules(text: str) -> list[str]:
    return sorted(f.rule for f in lint_airos(text))


def test_rendered_ends_are_clean() -> None:
    assert lint_airos(AP) == [] and lint_airos(STATION) == []


@pytest.mark.parametrize(
    ("text", "old", "new", "rule"),
    [
        (AP, "wireless.1.security.type=wpa2", "wireless.1.security.type=none", "AIR-RF-001"),
        (AP, "aaa.1.wpa=2", "aaa.1.wpa=0", "AIR-RF-001"),
        (AP, "aaa.1.wpa.psk=@@secret:backhaul-key@@", "aaa.1.wpa.psk=", "AIR-RF-001"),
        (STATION, "wpasupplicant.status=enabled", "wpasupplicant.status=disabled", "AIR-RF-001"),
        (
            STATION,
            "wpasupplicant.profile.1.network.1.key_mgmt.1.name=WPA-PSK",
            "wpasupplicant.profile.1.network.1.key_mgmt.1.name=NONE",
            "AIR-RF-001",
        ),
        (AP, "radio.1.countrycode=360", "radio.1.countrycode=511", "AIR-RF-002"),
        (AP, "radio.1.freq=5775", "radio.1.freq=5815", "AIR-RF-003"),
        (AP, "users.1.name=noc", "users.1.name=ubnt", "AIR-USR-001"),
        (AP, "users.1.password=@@secret:radio-admin@@", "users.1.password=ubnt", "AIR-USR-001"),
        (AP, "httpd.https.status=enabled", "httpd.https.status=disabled", "AIR-SVC-001"),
        (AP, "telnetd.status=disabled", "telnetd.status=enabled", "AIR-SVC-001"),
    ],
)
def test_each_rule_fires_at_its_line(text: str, old: str, new: str, rule: str) -> None:
    assert text.count(old + "\n") == 1
    bad = text.replace(old + "\n", new + "\n")
    (finding,) = lint_airos(bad)
    assert finding.rule == rule and finding.message == RULES[rule]
    assert bad.splitlines()[finding.line - 1] == new


def test_missing_keys_are_findings_without_a_line() -> None:
    found = {f.rule: f.line for f in lint_airos("radio.1.mode=master\n")}
    assert set(found) >= {"AIR-RF-001", "AIR-RF-002", "AIR-USR-001", "AIR-SVC-001"}
    assert found["AIR-RF-001"] == 0


def test_no_ssh_keys_means_passwords_may_stay() -> None:
    text = "\n".join(ln for ln in AP.splitlines() if not ln.startswith("sshd.auth.key."))
    assert "sshd.auth.passwd=enabled" in text.splitlines()
    assert _rules(text) == []


def test_password_login_may_stay_enabled_with_keys() -> None:
    """Keys installed, password login kept (the controller logs in by password): clean."""
    assert "sshd.auth.passwd=enabled" in AP.splitlines()
    assert "sshd.auth.key.1.status=enabled" in AP.splitlines()
    assert _rules(AP) == []


def test_password_login_disabled_with_an_enabled_key_is_clean() -> None:
    text = AP.replace("sshd.auth.passwd=enabled\n", "sshd.auth.passwd=disabled\n")
    assert text != AP and _rules(text) == []


@pytest.mark.parametrize("drop", ["sshd.auth.key.", "sshd.auth.key.1.status="])
def test_password_login_disabled_without_an_enabled_key_is_a_lockout(drop: str) -> None:
    lines = [ln for ln in AP.splitlines() if not ln.startswith(drop)]
    if drop.endswith("status="):
        lines.append("sshd.auth.key.1.status=disabled")
    text = "\n".join(lines).replace("sshd.auth.passwd=enabled", "sshd.auth.passwd=disabled")
    (finding,) = lint_airos(text + "\n")
    assert finding.rule == "AIR-SVC-002" and finding.message == RULES["AIR-SVC-002"]
    assert text.splitlines()[finding.line - 1] == "sshd.auth.passwd=disabled"
