"""Parser: export forms, escapes, selectors, header, errors with positions."""

from __future__ import annotations

import pytest

from kopnet_iac.errors import NotAnExportError, ParseError
from kopnet_iac.platforms.routeros.model import Entry, Header, Selector
from kopnet_iac.platforms.routeros.parser import (
    parse_export,
    parse_script,
    parse_selector,
    unescape,
)

SECTIONED = """\
# 2026-11-02 08:15:00 by RouterOS 7.16.2
# software id = AB12-CD34
#
# model = CCR2004-1G-12S+2XS
# serial number = HFX0000TEST
/interface vlan
add interface=sfp-sfpplus1 name=vlan99-mgmt \\
    vlan-id=99
/ip address
add address=10.10.99.2/24 comment="mgmt \\"core\\"" interface=vlan99-mgmt
/system identity
set name=desa-x
"""


def test_sectioned_export_with_header_and_continuation() -> None:
    cfg = parse_export(SECTIONED, "core.rsc")
    assert cfg.header == Header(
        version="7.16.2",
        date="2026-11-02 08:15:00",
        software_id="AB12-CD34",
        model="CCR2004-1G-12S+2XS",
        serial="HFX0000TEST",
    )
    assert list(cfg.sections) == [("interface", "vlan"), ("ip", "address"), ("system", "identity")]
    assert cfg.entries(("interface", "vlan")) == [
        Entry("add", {"interface": "sfp-sfpplus1", "name": "vlan99-mgmt", "vlan-id": "99"})
    ]
    assert cfg.entries(("ip", "address"))[0].props["comment"] == 'mgmt "core"'
    assert cfg.entries(("system", "identity")) == [Entry("set", {"name": "desa-x"})]


def test_terse_and_mixed_forms_give_the_same_model() -> None:
    terse = (
        "/interface vlan add interface=sfp-sfpplus1 name=vlan99-mgmt vlan-id=99\n"
        '/ip address add address=10.10.99.2/24 comment="mgmt \\"core\\"" interface=vlan99-mgmt\n'
        "/system identity\nset name=desa-x\n"
    )
    a = parse_export(SECTIONED)
    b = parse_export(terse)
    assert a.sections == b.sections
    assert b.header == Header()


def test_rv6_header_forms() -> None:
    assert (
        parse_export("# RouterOS 6.48.3\n/system identity\nset name=a\n").header.version == "6.48.3"
    )
    h = parse_export("# jan/02/1970 06:11:28 by RouterOS 6.43.8\n# system id = XyZ\n").header
    assert (h.version, h.date, h.system_id) == ("6.43.8", "jan/02/1970 06:11:28", "XyZ")
    assert parse_export("# by RouterOS 6.49.6\n").header.date is None


def test_crlf_and_missing_final_newline() -> None:
    text = "/ip pool\r\nadd name=p1 ranges=\\\r\n    10.0.0.2-10.0.0.9\r\n/system identity\r\nset name=x"
    cfg = parse_export(text)
    assert cfg.entries(("ip", "pool"))[0].props == {"name": "p1", "ranges": "10.0.0.2-10.0.0.9"}
    assert cfg.entries(("system", "identity"))[0].props == {"name": "x"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (r"plain", "plain"),
        (r"a\"b", 'a"b'),
        (r"back\\slash", "back\\slash"),
        (r"\$var", "$var"),
        (r"line1\r\nline2", "line1\r\nline2"),
        (r"tab\there", "tab\there"),
        (r"caf\C3\A9", "café"),
        (r"\E2\9C\93 ok", "✓ ok"),
        (r"what\?", "what?"),
        (r"a\_b", "a b"),
    ],
)
def test_unescape(raw: str, expected: str) -> None:
    assert unescape(raw) == expected


def test_quoted_value_spanning_continuations_keeps_escapes() -> None:
    text = (
        "/system script\n"
        'add name=s source=":local a \\"x\\"\\r\\\n'
        '    \\n:if (\\$a = \\"x\\") do={ :log info \\"ok\\" }"\n'
    )
    src = parse_export(text).entries(("system", "script"))[0].props["source"]
    assert src == ':local a "x"\r\n:if ($a = "x") do={ :log info "ok" }'


def test_selectors_and_targets() -> None:
    cmds = parse_script(
        "/interface ethernet\n"
        "set [ find default-name=ether1 ] name=WAN\n"
        "/interface wireless security-profiles\n"
        "set [ find default=yes ] supplicant-identity=MikroTik\n"
        "/ip service\n"
        "set telnet disabled=yes\n"
        "/port\n"
        "set 0 name=serial0\n"
        '/ip firewall filter remove [ find where comment~"old" && !disabled chain!=forward ]\n'
    )
    eth = cmds[1]
    assert eth.path == ("interface", "ethernet") and eth.verb == "set"
    assert eth.selector == Selector(
        (("default-name", "=", "ether1"),), raw="[ find default-name=ether1 ]"
    )
    assert eth.args == (("name", "WAN"),)
    assert cmds[3].selector is not None and cmds[3].selector.default
    assert (cmds[5].target, cmds[5].args) == ("telnet", (("disabled", "yes"),))
    assert cmds[7].target == "0"
    sel = cmds[8].selector
    assert sel is not None and sel.where and not sel.exotic
    assert sel.conditions == (
        ("comment", "~", "old"),
        ("disabled", "!", ""),
        ("chain", "!=", "forward"),
    )


def test_exotic_selector_is_kept_raw() -> None:
    sel = parse_selector("[ find where name=a || name=b ]")
    assert sel.exotic and sel.raw == "[ find where name=a || name=b ]"
    assert parse_selector("[/ip pool find]").exotic


def test_parse_script_commands_and_script_lines() -> None:
    cmds = parse_script(
        ":delay 5s\n"
        "/ip address add address=10.0.0.1/24 interface=ether1 !disabled\n"
        "/export terse show-sensitive\n"
        "/system backup save name=before-kopnet\n"
        ":foreach i in=[/ip address find] do={\n"
        "  :log info $i\n"
        "}\n"
        "/tool mac-server ping\n"
        "set enabled=no\n"
        "/ip/dns/set servers=1.1.1.1\n"
    )
    assert cmds[0].verb == ":delay" and cmds[0].raw == ":delay 5s"
    assert cmds[1].args == (("address", "10.0.0.1/24"), ("interface", "ether1"), ("!disabled", ""))
    assert (cmds[2].path, cmds[2].verb, cmds[2].args) == (
        (),
        "export",
        (("terse", ""), ("show-sensitive", "")),
    )
    assert (cmds[3].path, cmds[3].verb) == (("system", "backup"), "save")
    assert cmds[4].verb == ":foreach" and cmds[4].raw.endswith("}") and cmds[4].line == 5
    assert (cmds[5].path, cmds[5].verb) == (("tool", "mac-server", "ping"), "")
    assert (cmds[6].path, cmds[6].verb) == (("tool", "mac-server", "ping"), "set")
    assert (cmds[7].path, cmds[7].verb, cmds[7].args) == (
        ("ip", "dns"),
        "set",
        (("servers", "1.1.1.1"),),
    )


def test_bracket_values_are_kept_raw() -> None:
    cmd = parse_script(
        '/ip firewall filter add chain=input place-before=[ find where comment="a b" ]\n'
    )[0]
    assert cmd.arg("place-before") == '[ find where comment="a b" ]'


def test_script_file_is_not_an_export() -> None:
    with pytest.raises(NotAnExportError) as info:
        parse_export("# by RouterOS 7.18\n:delay 5\n/ip address add address=1.1.1.1/24\n", "s.rsc")
    assert info.value.position is not None
    assert (info.value.position.line, info.value.position.column) == (2, 1)
    assert info.value.token == ":delay"


@pytest.mark.parametrize(
    ("text", "line", "column", "token"),
    [
        ('/ip address\nadd comment="unterminated\n', 2, 13, None),
        ("/ip address\nadd address=1.1.1.1 [ find\n", 2, 21, None),
        ("/ip address\nadd name=a ]\n", 2, 12, "]"),
        ("/ip address\n  add x=1 )\n", 2, 11, ")"),
        ("/ip pool\nadd name=a\nremove [ find name=a ]\n", 3, 1, "remove"),
        ("add name=x\n", 1, 1, "add"),
    ],
)
def test_errors_carry_line_column_and_token(
    text: str, line: int, column: int, token: str | None
) -> None:
    with pytest.raises(ParseError) as info:
        parse_export(text, "bad.rsc")
    err = info.value
    assert err.position is not None
    assert (err.position.file, err.position.line, err.position.column) == ("bad.rsc", line, column)
    if token is None:  # a quoted value or a bracket group: position only, never the text
        assert err.token is None and "(at " not in str(err)
    else:
        assert err.token is not None and err.token.startswith(token)
    assert str(err).startswith(f"bad.rsc:{line}:{column}:")


def test_error_position_inside_a_continued_line() -> None:
    text = '/ip address\nadd address=10.0.0.1/24 \\\n    comment="never closed\n'
    with pytest.raises(ParseError) as info:
        parse_export(text, "c.rsc")
    assert info.value.position is not None
    assert (info.value.position.line, info.value.position.column) == (3, 13)


def test_managed_paths_comment() -> None:
    cfg = parse_export(
        "# kopnet: manage /ip address, /interface vlan\n/system identity\nset name=a\n"
    )
    assert cfg.managed == (("ip", "address"), ("interface", "vlan"))
    assert cfg.owned_paths() == {("ip", "address"), ("interface", "vlan"), ("system", "identity")}


def test_real_world_leniencies() -> None:
    text = (
        "/queue tree\n"
        "add max-limit=10M name=total parent=bridge\n"
        "    per-connection-classifier=both-addresses:2/2\n"
        "/system identity\nset name=r1\n"
        "\n-----------------------------4318065891511374401--\n"
    )
    cfg = parse_export(text)
    assert (
        cfg.entries(("queue", "tree"))[0].props["per-connection-classifier"] == "both-addresses:2/2"
    )
    assert cfg.entries(("system", "identity"))[0].props == {"name": "r1"}


def test_commands_an_emulator_meets() -> None:
    cmds = parse_script(
        '/system scheduler add name=kopnet-revert on-event="/import file-name=revert.rsc" '
        "start-time=startup interval=5m\n"
        '/file add name=revert.rsc contents="/system identity set name=a\\r\\n"\n'
        "/import file-name=plan.rsc dry-run\n"
        ':log info "kopnet: applied"\n'
        "/ip address remove 0,1\n"
        "/ip address print detail where interface=ether1\n"
        "/ip firewall filter move [ find where comment=a ] destination=[ find where comment=b ]\n"
        "/system script run kopnet-check\n"
        "/ip address\n"
        'remove [ find where address="10.0.0.1/24" ]\n'
    )
    sched, file_, imp, log_, rm, prt, mv, run, section, rm2 = cmds
    assert (sched.path, sched.verb) == (("system", "scheduler"), "add")
    assert sched.arg("on-event") == "/import file-name=revert.rsc"
    assert file_.arg("contents") == "/system identity set name=a\r\n"
    assert (imp.verb, imp.args) == ("import", (("file-name", "plan.rsc"), ("dry-run", "")))
    assert log_.verb == ":log" and log_.raw == ':log info "kopnet: applied"'
    assert (rm.verb, rm.target) == ("remove", "0,1")
    assert prt.verb == "print" and ("where", "") in prt.args and prt.arg("interface") == "ether1"
    assert mv.selector is not None and mv.selector.conditions == (("comment", "=", "a"),)
    assert mv.arg("destination") == "[ find where comment=b ]"
    assert (run.path, run.verb, run.target) == (("system", "script"), "run", "kopnet-check")
    assert section.verb == "" and section.path == ("ip", "address")
    assert rm2.path == ("ip", "address") and rm2.selector is not None
    assert rm2.selector.conditions == (("address", "=", "10.0.0.1/24"),)
    assert [c.line for c in cmds] == list(range(1, 11))


def test_bare_flag_option_of_parse_script() -> None:
    text = "/routing ospf interface-template add area=a passive !auth\n"
    assert parse_script(text)[0].args == (("area", "a"), ("passive", ""), ("!auth", ""))
    assert parse_script(text, bare_flag="yes")[0].args == (
        ("area", "a"),
        ("passive", "yes"),
        ("!auth", ""),
    )


def test_plan_scripts_parse_back_into_the_same_operations() -> None:
    from kopnet_iac.platforms.routeros.planner import plan

    running = parse_export('/ip pool\nadd name="old pool" ranges=10.0.0.2\n')
    intended = parse_export('/ip pool\nadd comment="a \\"b\\" $c" name=new ranges=10.0.1.2\n')
    cmds = parse_script(plan(running, intended).script())
    assert [(c.verb, c.selector.conditions if c.selector else None) for c in cmds] == [
        ("remove", (("name", "=", "old pool"),)),
        ("add", None),
    ]
    assert cmds[1].arg("comment") == 'a "b" $c'


def test_a_line_of_skipped_characters_is_a_parse_error_not_a_crash() -> None:
    """Found by the property campaign: ``"\\r "`` gave no token and an IndexError."""
    with pytest.raises(ParseError):
        parse_export("\r ")
