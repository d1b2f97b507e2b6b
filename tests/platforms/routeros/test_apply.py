"""The model-level plan interpreter: each command form of the plan subset."""

from __future__ import annotations

import pytest

from kopnet_iac.errors import ApplyError
from kopnet_iac.platforms.routeros.apply import apply_script
from kopnet_iac.platforms.routeros.model import Entry, RouterOSConfig
from kopnet_iac.platforms.routeros.parser import parse_export

BASE = parse_export(
    "/ip pool\n"
    "add name=a ranges=10.0.0.2-10.0.0.9\n"
    "add name=b ranges=10.0.1.2-10.0.1.9\n"
    "/ip firewall filter\n"
    "add action=accept chain=input protocol=icmp\n"
    "add action=drop chain=input\n"
    "/ip service\n"
    "set telnet disabled=yes\n"
    "/system identity\n"
    "set name=r1\n"
)


def test_input_is_not_modified() -> None:
    before = parse_export("/ip pool\nadd name=a ranges=10.0.0.2-10.0.0.9\n")
    snapshot = parse_export("/ip pool\nadd name=a ranges=10.0.0.2-10.0.0.9\n")
    apply_script(before, "/ip pool remove [ find where name=a ]\n")
    assert before == snapshot


def test_add_appends_and_place_before_inserts() -> None:
    out = apply_script(
        BASE,
        "/ip pool add name=c ranges=10.0.2.2\n"
        "/ip firewall filter add action=accept chain=input protocol=tcp "
        'place-before=[ find where action=drop chain=input protocol="" ]\n',
    )
    assert [e.props["name"] for e in out.entries(("ip", "pool"))] == ["a", "b", "c"]
    rules = [e.props.get("protocol", "-") for e in out.entries(("ip", "firewall", "filter"))]
    assert rules == ["icmp", "tcp", "-"]


def test_place_before_must_match_exactly_one() -> None:
    with pytest.raises(ApplyError, match="matches 2 entries"):
        apply_script(
            BASE, "/ip firewall filter add chain=x place-before=[ find where chain=input ]\n"
        )


def test_set_by_where_updates_and_unsets() -> None:
    out = apply_script(
        BASE,
        '/ip pool set [ find where name=b ] ranges=10.9.9.2 comment="new pool"\n'
        "/ip pool set [ find where name=b ] !comment\n",
    )
    assert out.entries(("ip", "pool"))[1].props == {"name": "b", "ranges": "10.9.9.2"}


def test_set_matches_with_defaults_and_spellings() -> None:
    cfg = parse_export("/interface vlan\nadd interface=e1 name=v1 vlan-id=9\n")
    out = apply_script(
        cfg, "/interface vlan set [ find where name=v1 mtu=1500 disabled=false ] mtu=1400\n"
    )
    assert out.entries(("interface", "vlan"))[0].props["mtu"] == "1400"


def test_singleton_set_creates_or_updates() -> None:
    out = apply_script(
        BASE, "/system identity set name=r2\n/system clock set time-zone-name=Asia/Jakarta\n"
    )
    assert out.entries(("system", "identity")) == [Entry("set", {"name": "r2"})]
    assert out.entries(("system", "clock")) == [Entry("set", {"time-zone-name": "Asia/Jakarta"})]


def test_item_set_updates_overlay_or_creates_one() -> None:
    out = apply_script(
        BASE,
        "/ip service set [ find where name=telnet ] disabled=no\n"
        "/ip service set [ find where name=www ] disabled=yes\n",
    )
    items = out.entries(("ip", "service"))
    assert items[0].target == "telnet" and items[0].props == {"disabled": "no"}
    assert items[1].selector is not None
    assert items[1].selector.conditions == (("name", "=", "www"),)
    assert items[1].props == {"disabled": "yes"}


def test_item_overlay_without_properties_disappears() -> None:
    out = apply_script(BASE, "/ip service set [ find where name=telnet ] !disabled\n")
    assert ("ip", "service") not in out.sections


def test_numeric_item_target() -> None:
    cfg = parse_export("/port\nset 0 name=serial0\n")
    out = apply_script(cfg, "/port set 0 name=serial1\n/port set 1 name=usb\n")
    assert [(e.target, e.props) for e in out.entries(("port",))] == [
        ("0", {"name": "serial1"}),
        ("1", {"name": "usb"}),
    ]


def test_remove_removes_every_match_and_drops_empty_paths() -> None:
    out = apply_script(BASE, "/ip firewall filter remove [ find where chain=input ]\n")
    assert ("ip", "firewall", "filter") not in out.sections
    with pytest.raises(ApplyError, match="needs"):
        apply_script(BASE, "/ip pool remove a\n")


def test_commands_outside_the_subset_are_refused() -> None:
    for script in ("/ip pool move 0 1\n", "/system reboot\n", ":log info x\n", "/ip pool print\n"):
        with pytest.raises(ApplyError, match="not a plan command"):
            apply_script(BASE, script)


def test_error_names_the_script_line() -> None:
    with pytest.raises(ApplyError, match=r"plan.rsc:2: /ip pool: remove matches nothing"):
        apply_script(
            BASE,
            "/ip pool remove [ find where name=a ]\n/ip pool remove [ find where name=a ]\n",
            source="plan.rsc",
        )


def test_section_lines_in_a_script_are_accepted() -> None:
    out = apply_script(RouterOSConfig(), "/ip pool\nadd name=z ranges=10.1.1.1\n")
    assert out.entries(("ip", "pool")) == [Entry("add", {"name": "z", "ranges": "10.1.1.1"})]
