"""Day-0 bootstrap texts computed from the rendered intent (pure)."""

from __future__ import annotations

import pytest

from kopnet_iac.errors import SecretError
from kopnet_iac.replace import day0
from tests.conftest import REPO_ROOT

RENDER = f"{REPO_ROOT}/tests/fixtures/render"


def _read(path: str) -> str:
    with open(f"{RENDER}/{path}", encoding="utf-8") as handle:
        return handle.read()


def test_routeros_day0_keeps_only_the_day0_menus_in_order() -> None:
    intended = _read("lebung-itam/core-lebung-itam.rsc")
    script = day0.routeros_day0(intended)
    headers = [line for line in script.splitlines() if line.startswith("/") and "=" not in line]
    kept = [h[1:] for h in headers]
    assert set(kept) <= set(day0.load_rules().routeros_paths)
    assert "system identity" in kept and "user" in kept and "ip service" in kept
    assert "ip firewall filter" not in kept and "radius" not in kept and "ppp profile" not in kept
    # the order of the intended file (interfaces before the addresses on them)
    order = [h for h in (line.strip() for line in intended.splitlines()) if h in headers]
    assert headers == order
    assert "set name=core-lebung-itam" in script
    assert 'password="@@secret:core-admin@@"' in script  # filled in only at push time
    assert script.splitlines()[-2].startswith("/user ssh-keys import public-key-file=")
    assert script.splitlines()[-1] == f"/file remove [ find where name={day0.DAY0_FILE} ]"


def test_routeros_key_files_match_the_import_lines() -> None:
    intended = _read("lebung-itam/core-lebung-itam.rsc")
    files = day0.routeros_key_files(intended)
    assert list(files) == ["kopnet-day0-key0.pub"]
    assert files["kopnet-day0-key0.pub"].startswith("ssh-ed25519 AAAA")
    assert "user=noc" in day0.routeros_day0(intended)
    assert day0.routeros_key_files("/system identity\nset name=x\n") == {}


def test_substitute_routeros_quotes_and_escapes() -> None:
    text = 'add name=noc password="@@secret:a@@"\nset community=@@secret:b@@\n'
    values = {"a": 'p"w$1', "b": "two words"}
    out = day0.substitute_routeros(text, values.__getitem__)
    assert 'password="p\\"w\\$1"' in out
    assert 'community="two words"' in out
    day0.check_no_placeholder(out, village="v", host="h")
    with pytest.raises(SecretError, match="a"):
        day0.check_no_placeholder(text, village="v", host="h")


def test_airos_day0_overlays_the_day0_keys_on_the_factory_file() -> None:
    from kopnet_iac.lab.airos.config import factory_config

    factory = factory_config("PowerBeam-5AC-Gen2")
    intended = _read("lebung-itam/bh-lebung-itam-a.cfg")
    values = day0.parse_cfg(day0.airos_day0(factory, intended))
    assert values["resolv.host.1.name"] == "bh-lebung-itam-a"
    assert values["users.1.name"] == "noc"
    assert values["users.1.password"] == "@@secret:radio-admin@@"
    assert values["netconf.4.ip"] == "10.90.0.2" and values["vlan.1.id"] == "99"
    assert values["radio.countrycode"] == "360"  # never the factory's 840 on air
    # password login as intended: on, the example fleet's controller logs in by password
    assert values["sshd.auth.passwd"] == day0.parse_cfg(intended)["sshd.auth.passwd"] == "enabled"
    # the radio itself stays factory until the full deploy
    assert values["wireless.1.ssid"] == "ubnt" and "aaa.1.wpa.psk" not in values
    # no factory key of a day-0 family survives (the 192.168.1.20 address)
    assert "192.168.1.20" not in values.values()


def test_parse_cfg_refuses_a_line_without_equals() -> None:
    with pytest.raises(Exception, match="without '='"):
        day0.parse_cfg("a=1\nbroken\n")
    assert day0.render_cfg(day0.parse_cfg("b=2\na=1\n")) == "a=1\nb=2\n"
