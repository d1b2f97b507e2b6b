"""airOS system.cfg planning: parse, merge, replace, passwords, masking. Pure, no device."""

from __future__ import annotations

import pytest

from kopnet_iac.errors import ParseError
from kopnet_iac.platforms.airos import syscfg
from kopnet_iac.platforms.airos.crypt import check_password, is_crypt_hash, md5_crypt

RUNNING = {
    "radio.1.freq": "5765",
    "wireless.1.ssid": "old",
    "users.1.name": "admin",
    "users.1.password": md5_crypt("fake-old-pw", "abcdefgh"),
    "snmp.community": "fake-community",
    "system.cfg.version": "65545",
}


def fixed_hash(password: str) -> str:
    return md5_crypt(password, "saltsalt")


def test_parse_and_render_round_trip() -> None:
    text = "b.key=2\n\na.key=1\r\nc.key=with = sign\n"
    values = syscfg.parse_system_cfg(text)
    assert values == {"b.key": "2", "a.key": "1", "c.key": "with = sign"}
    assert syscfg.parse_system_cfg(syscfg.render_system_cfg(values)) == values
    assert syscfg.render_system_cfg(values).startswith("a.key=1\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a=1\nno-equals\n", "cfg:2:1: expected key=value"),
        ("a=1\n bad key=2\n", "cfg:2:1: invalid key (at ' bad key')"),
        ("a=1\na=2\n", "cfg:2:1: duplicate key (at 'a')"),
        ("a=x\x07y\n", "cfg:1:1: control character in the value (at 'a')"),
    ],
)
def test_parse_errors_name_line_and_key_never_value(text: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        syscfg.parse_system_cfg(text, filename="cfg")
    assert str(info.value) == message


def test_merge_changes_only_named_keys() -> None:
    plan = syscfg.plan_merge(RUNNING, {"wireless.1.ssid": "new", "snmp.location": "Hut"})
    assert plan.target == {**RUNNING, "wireless.1.ssid": "new", "snmp.location": "Hut"}
    assert syscfg.render_diff(plan.changes) == (
        "+snmp.location=Hut\n-wireless.1.ssid=old\n+wireless.1.ssid=new\n"
    )
    assert syscfg.plan_merge(RUNNING, {"radio.1.freq": "5765"}).empty


def test_replace_drops_other_keys_but_keeps_firmware_keys() -> None:
    candidate = {
        k: v for k, v in RUNNING.items() if k not in ("system.cfg.version", "radio.1.freq")
    }
    plan = syscfg.plan_replace(RUNNING, candidate, hasher=fixed_hash)
    assert plan.target["system.cfg.version"] == "65545"
    assert [c.key for c in plan.changes] == ["radio.1.freq"]
    assert syscfg.render_diff(plan.changes) == "-radio.1.freq=5765\n"
    assert syscfg.plan_replace(RUNNING, dict(RUNNING)).empty


def test_unchanged_clear_password_is_no_change_a_new_one_is_hashed() -> None:
    same = syscfg.plan_merge(RUNNING, {"users.1.password": "fake-old-pw"})
    assert same.empty and same.target["users.1.password"] == RUNNING["users.1.password"]
    new = syscfg.plan_merge(RUNNING, {"users.1.password": "fake-new-pw"}, hasher=fixed_hash)
    stored = new.target["users.1.password"]
    assert is_crypt_hash(stored) and check_password("fake-new-pw", stored)
    assert syscfg.render_diff(new.changes) == (
        "-users.1.password=********\n+users.1.password=********\n"
    )
    # a hash in the candidate is taken as it is
    given = md5_crypt("x", "12345678")
    assert (
        syscfg.plan_merge(RUNNING, {"users.1.password": given}).target["users.1.password"] == given
    )
    # a fresh salt each time: hashes differ, both verify
    one = syscfg.resolve_passwords({}, {"users.2.password": "p"})["users.2.password"]
    two = syscfg.resolve_passwords({}, {"users.2.password": "p"})["users.2.password"]
    assert one != two and check_password("p", one) and check_password("p", two)


def test_secrets_masked_by_key_rule_and_by_placeholder_origin() -> None:
    plan = syscfg.plan_merge(
        RUNNING,
        {"snmp.community": "fake-new", "snmp.location": "from-a-secret", "aaa.1.wpa.psk": "k"},
        extra_secret={"snmp.location"},
    )
    diff = syscfg.render_diff(plan.changes)
    assert "fake" not in diff and "from-a-secret" not in diff and "=k\n" not in diff
    assert diff.count("********") == 4
    text = syscfg.render_system_cfg(plan.target)
    masked = syscfg.mask_text(text)
    assert "fake-new" not in masked and "$1$" not in masked and "radio.1.freq=5765" in masked
    assert syscfg.mask_values({"users.1.password": "", "a": "b"}) == {
        "users.1.password": "",
        "a": "b",
    }


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("users.1.password", True),
        ("users.12.password", True),
        ("aaa.1.wpa.psk", True),
        ("wpasupplicant.profile.1.network.1.psk", True),
        ("snmp.community", True),
        ("radius.auth.1.secret", True),
        ("wireless.1.security.key", True),
        ("users.1.name", False),
        ("wireless.1.ssid", False),
        ("sshd.auth.key.1.value", False),
    ],
)
def test_secret_key_rules(key: str, secret: bool) -> None:
    assert syscfg.key_rules().is_secret(key) is secret


def test_crypt_helpers() -> None:
    assert md5_crypt("ubnt", "tL963iDU") == "$1$tL963iDU$SXu0h02ZZYfnoZcPkIlK21"
    assert check_password("ubnt", "$1$tL963iDU$SXu0h02ZZYfnoZcPkIlK21")
    assert not check_password("UBNT", "$1$tL963iDU$SXu0h02ZZYfnoZcPkIlK21")
    assert check_password("x", "abDES0hash") is None
    assert not is_crypt_hash("plain") and not is_crypt_hash("$1$$") and is_crypt_hash("$1$a$b")
