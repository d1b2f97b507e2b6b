"""Emitter details, normalisation rules and the module doctests."""

from __future__ import annotations

import doctest
import importlib

import pytest

from kopnet_iac.platforms.routeros.emitter import emit, format_selector, quote
from kopnet_iac.platforms.routeros.model import Entry, Header, RouterOSConfig, Selector
from kopnet_iac.platforms.routeros.normalize import equivalent, normalize
from kopnet_iac.platforms.routeros.parser import parse_export
from kopnet_iac.platforms.routeros.paths import load_schema


@pytest.mark.parametrize(
    "module",
    ["lexer", "emitter", "normalize", "paths", "lint"],
)
def test_doctests(module: str) -> None:
    mod = importlib.import_module(f"kopnet_iac.platforms.routeros.{module}")
    result = doctest.testmod(mod)
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("ether1", "ether1"),
        ("10.0.0.0/24", "10.0.0.0/24"),
        ("5M/10M", "5M/10M"),
        ("", '""'),
        ("Desa Sukamaju", '"Desa Sukamaju"'),
        ('a"b', '"a\\"b"'),
        ("$x", '"\\$x"'),
        ("a\\b", '"a\\\\b"'),
        ("l1\r\nl2", '"l1\\r\\nl2"'),
        ("café", '"caf\\C3\\A9"'),
        ("a=b", '"a=b"'),
        ("[x]", '"[x]"'),
    ],
)
def test_quote(value: str, written: str) -> None:
    assert quote(value) == written


def test_emit_sectioned_and_terse() -> None:
    cfg = RouterOSConfig(
        Header(version="7.16.2", date="2026-11-02 08:15:00", model="RB5009"),
        {
            ("interface", "ethernet"): [
                Entry("set", {"name": "WAN"}, Selector((("default-name", "=", "ether1"),)))
            ],
            ("ip", "service"): [Entry("set", {"disabled": "yes"}, None, "telnet")],
            ("system", "identity"): [Entry("set", {"name": "desa x"})],
        },
        managed=(("ip", "pool"),),
    )
    assert emit(cfg) == (
        "# 2026-11-02 08:15:00 by RouterOS 7.16.2\n"
        "# model = RB5009\n"
        "# kopnet: manage /ip pool\n"
        "/interface ethernet\n"
        "set [ find default-name=ether1 ] name=WAN\n"
        "/ip service\n"
        "set telnet disabled=yes\n"
        "/system identity\n"
        'set name="desa x"\n'
    )
    terse = emit(cfg, terse=True)
    assert "/ip service set telnet disabled=yes\n" in terse
    again = parse_export(terse)
    assert again.sections.keys() == cfg.sections.keys()
    assert again.header == cfg.header and again.managed == cfg.managed


def test_format_selector_forms() -> None:
    sel = Selector(
        (("comment", "~", "a b"), ("disabled", "!", ""), ("dynamic", "", "")), where=True
    )
    assert format_selector(sel) == '[ find where comment~"a b" !disabled dynamic ]'
    assert format_selector(Selector()) == "[ find ]"
    assert format_selector(Selector(raw="[ find a || b ]", exotic=True)) == "[ find a || b ]"


def test_empty_config_emits_nothing() -> None:
    assert emit(RouterOSConfig()) == ""


def _eq(a: str, b: str) -> bool:
    return equivalent(parse_export(a), parse_export(b))


def test_normalisation_rules() -> None:
    # Header lines (date, software id) never matter.
    assert _eq(
        "# jan/01/2025 by RouterOS 7.1\n/system identity\nset name=a\n",
        "/system identity\nset name=a\n",
    )
    # yes/true, no/false.
    assert _eq(
        "/ip dns\nset allow-remote-requests=yes\n", "/ip dns\nset allow-remote-requests=true\n"
    )
    # Default value equals absent; empty equals absent.
    assert _eq(
        '/interface vlan\nadd interface=e1 name=v vlan-id=9 mtu=1500 disabled=no comment=""\n',
        "/interface vlan\nadd interface=e1 name=v vlan-id=9\n",
    )
    # Rate units.
    assert _eq(
        "/queue simple\nadd max-limit=10M/512k name=q target=10.0.0.1/32\n",
        "/queue simple\nadd max-limit=10000000/512000 name=q target=10.0.0.1/32\n",
    )
    # Read-only/derived fields.
    assert _eq(
        "/ip address\nadd address=10.0.0.1/24 interface=e1 network=10.0.0.0\n",
        "/ip address\nadd address=10.0.0.1/24 interface=e1\n",
    )
    # Several singleton set lines merge; item set by name or by find are the same.
    assert _eq(
        "/ip dns\nset servers=1.1.1.1\nset cache-size=4096KiB\n",
        "/ip dns\nset cache-size=4096KiB servers=1.1.1.1\n",
    )
    assert _eq(
        "/ip service\nset telnet disabled=yes\n",
        "/ip service\nset [ find where name=telnet ] disabled=yes\n",
    )
    # Order matters only on ordered paths.
    assert _eq(
        "/ip pool\nadd name=a ranges=1.1.1.1\nadd name=b ranges=1.1.1.2\n",
        "/ip pool\nadd name=b ranges=1.1.1.2\nadd name=a ranges=1.1.1.1\n",
    )
    assert not _eq(
        "/ip firewall filter\nadd action=accept chain=input\nadd action=drop chain=input\n",
        "/ip firewall filter\nadd action=drop chain=input\nadd action=accept chain=input\n",
    )
    # Real differences stay visible.
    assert not _eq("/ip dns\nset servers=1.1.1.1\n", "/ip dns\nset servers=8.8.8.8\n")
    assert not _eq(
        "/interface vlan\nadd interface=e1 name=v vlan-id=9 mtu=1400\n",
        "/interface vlan\nadd interface=e1 name=v vlan-id=9\n",
    )


def test_negation_in_export_unsets() -> None:
    a = parse_export(
        "/routing ospf instance\nset [ find default=yes ] router-id=1.1.1.1 !domain-id\n"
    )
    n = normalize(a).paths[("routing", "ospf", "instance")]
    assert [e.props for e in n.sels.values()] == [{"router-id": "1.1.1.1"}]


def test_schema_has_the_paths_templates_use() -> None:
    schema = load_schema()
    expect_keys = {
        ("ip", "address"): ("address", "interface"),
        ("interface", "vlan"): ("name",),
        ("ppp", "profile"): ("name",),
        ("ip", "pool"): ("name",),
        ("user",): ("name",),
    }
    for path, keys in expect_keys.items():
        assert schema.get(path).keys == keys and schema.get(path).known
    for path in (
        ("ip", "firewall", "filter"),
        ("ip", "firewall", "nat"),
        ("ip", "firewall", "mangle"),
        ("queue", "simple"),
    ):
        assert schema.get(path).ordered
    for path in (("system", "identity"), ("system", "clock"), ("snmp",), ("ip", "dns")):
        assert schema.get(path).singleton
    assert schema.is_sensitive(("ppp", "secret"), "password")
    assert schema.is_sensitive(("snmp", "community"), "name")
    assert schema.is_sensitive(
        ("interface", "wireless", "security-profiles"), "wpa2-pre-shared-key"
    )
    assert not schema.is_sensitive(("ip", "pool"), "name")
    ranks = [
        schema.get(p).rank
        for p in (
            ("interface", "vlan"),
            ("ip", "pool"),
            ("ip", "address"),
            ("ppp", "profile"),
            ("interface", "pppoe-server", "server"),
        )
    ]
    assert ranks == sorted(ranks)
