"""Configurations written by others: RouterOS 5.x and early 6.x exports, and hand-written
scripts mixing export lines with console commands. What can be modelled parses (and
round-trips); what cannot is a located error, never a traceback. Cases are data:
``tests/fixtures/routeros/field/*.rsc`` with their outcome in ``expected.yaml``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kopnet_iac.cli.main import cli
from kopnet_iac.errors import ParseError
from kopnet_iac.platforms.routeros.emitter import emit
from kopnet_iac.platforms.routeros.model import Entry, Selector
from kopnet_iac.platforms.routeros.parser import parse_export, parse_script
from kopnet_iac.platforms.routeros.planner import plan
from tests.platforms.routeros.conftest import FIXTURES, read

FIELD = FIXTURES / "field"
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load((FIELD / "expected.yaml").read_text())
FILES = sorted(FIELD.glob("*.rsc"))


def test_every_file_has_an_expectation() -> None:
    assert {p.name for p in FILES} == set(EXPECTED)
    assert sum("error" not in e for e in EXPECTED.values()) >= 4
    assert sum("error" in e for e in EXPECTED.values()) >= 4


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_field_file(path: Path) -> None:
    want = EXPECTED[path.name]
    text = read(path)
    assert parse_script(text, path.name), "every file tokenizes for interpreters"
    if "error" in want:
        with pytest.raises(ParseError) as info:
            parse_export(text, path.name)
        err = info.value
        assert type(err).__name__ == want["kind"]
        assert err.position is not None
        assert f"{err.position.line}:{err.position.column}" == want["error"]
        assert str(err).startswith(f"{path.name}:{want['error']}: ")
        assert want["says"] in str(err)
        return
    cfg = parse_export(text, path.name)
    assert cfg.header.version == want["version"]
    assert (len(cfg.sections), cfg.line_count()) == (want["paths"], want["entries"])
    assert [f"/{' '.join(p)}" for p in cfg.managed] == want["managed"]
    for terse in (False, True):
        assert parse_export(emit(cfg, terse=terse), path.name) == cfg
    assert not plan(cfg, cfg), "plan(x, x) must be empty"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_cli_check_reports_without_a_traceback(path: Path) -> None:
    result = CliRunner().invoke(cli, ["routeros", "check", str(path)])
    want = EXPECTED[path.name]
    assert "Traceback" not in result.output
    if "error" in want:
        assert result.exit_code == 3
        assert f"{path}:{want['error']}: " in result.output
    else:
        assert result.exit_code == 0 and f"{path}: ok" in result.output


def _hardening() -> dict[tuple[str, ...], list[Entry]]:
    return parse_export(read(FIELD / "handwritten-hardening.rsc"), "h.rsc").sections


def test_enable_disable_comment_become_settings() -> None:
    sections = _hardening()
    services = sections[("ip", "service")]
    assert [(e.target, e.props) for e in services[:4]] == [
        (name, {"disabled": "yes"}) for name in ("telnet", "ftp", "www", "api-ssl")
    ]
    assert sections[("interface",)] == [
        Entry("set", {"comment": "uplink ke gateway"}, None, "ether1"),
        Entry("set", {"comment": "ke sektor dusun 1"}, None, "ether2"),
    ]


def test_changes_fold_into_earlier_entries_of_the_same_item() -> None:
    sections = _hardening()
    # add ... disabled=yes, then enable [find comment=...]: one entry, enabled
    assert sections[("ip", "firewall", "filter")][-1].props["disabled"] == "no"
    # disable then enable of an added pool: enabled
    assert sections[("ip", "pool")] == [
        Entry("add", {"name": "hotspot", "ranges": "10.91.0.10-10.91.0.250", "disabled": "no"})
    ]
    # set [find default=yes] ... then disable [find default=yes]: one set of the built-in
    [community] = sections[("snmp", "community")]
    assert community.selector == Selector(
        (("default", "=", "yes"),), default=True, raw="[ find default=yes ]"
    )
    assert community.props["disabled"] == "yes" and community.props["addresses"]


def test_remove_all_owns_the_path_from_that_line() -> None:
    text = (
        "/ip dns static\nadd name=old address=10.0.0.9\nremove [ find ]\n"
        "add name=new address=10.0.0.1\n/ip pool\nremove [ find where !dynamic ]\n"
    )
    cfg = parse_export(text, "r.rsc")
    assert cfg.sections == {
        ("ip", "dns", "static"): [Entry("add", {"name": "new", "address": "10.0.0.1"})]
    }
    assert cfg.managed == (("ip", "dns", "static"), ("ip", "pool"))
    running = parse_export("/ip pool\nadd name=stale ranges=10.1.0.2-10.1.0.9\n", "run.rsc")
    script = plan(running, cfg).script()
    assert "/ip pool remove" in script and "stale" in script


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("/interface enable", None),  # a section line: nothing to model, nothing refused
        ("/interface enable ether1 mtu=1500", "takes only the item"),
        ("/interface comment ether1", "needs comment=TEXT"),
        ("/interface disable [ find ] numbers=ether1", "both an item and"),
        ("/ip address\ndisable", "which item?"),
        ('/ip address\nenable [ find where comment~"x" || disabled ]', "not plain conditions"),
        ("/ip address\nunset [ find ] comment", "'unset' cannot be modelled"),
        ("/ip address\nremove 3", "removing selected entries"),
    ],
)
def test_console_misuse_is_a_located_error(text: str, says: str | None) -> None:
    if says is None:
        assert parse_export(text, "m.rsc").sections == {}
        return
    with pytest.raises(ParseError, match=says) as info:
        parse_export(text, "m.rsc")
    assert info.value.position is not None and info.value.position.file == "m.rsc"
