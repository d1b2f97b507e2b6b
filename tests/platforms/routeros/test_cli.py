"""``kopnet routeros check|diff|lint`` through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kopnet_iac.cli.main import cli
from tests.platforms.routeros.conftest import FIXTURES, read
from tests.platforms.routeros.test_lint import CLEAN


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["routeros", *args])
    return result.exit_code, result.stdout, result.stderr


def test_check_summarises_good_files(tmp_path: Path) -> None:
    code, out, _ = _run("check", str(FIXTURES / "core_vlan_pppoe" / "running.rsc"))
    assert code == 0
    assert "running.rsc: ok, RouterOS 7.16.2, 7 paths, 9 entries" in out


def test_check_reports_file_line_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rsc"
    bad.write_text('/ip address\nadd comment="open\n')
    script = tmp_path / "script.rsc"
    script.write_text(":delay 5\n")
    good = FIXTURES / "firewall_reorder" / "running.rsc"
    code, out, err = _run("check", str(good), str(bad), str(script))
    assert code == 3
    assert f"{bad}:2:13: unterminated string" in err
    assert f"{script}:1:1:" in err and "NotAnExportError" in err
    assert "2 of 3 file(s) failed" in err
    assert "firewall_reorder" in out


def test_check_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    code, _, err = _run("check", str(tmp_path / "nope.rsc"))
    assert code == 3 and "cannot read" in err


def test_diff_prints_plan_and_revert() -> None:
    case = FIXTURES / "core_vlan_pppoe"
    code, out, _ = _run("diff", str(case / "running.rsc"), str(case / "intended.rsc"))
    assert code == 0 and out == read(case / "plan.rsc")
    code, out, _ = _run("diff", "--revert", str(case / "running.rsc"), str(case / "intended.rsc"))
    assert code == 0 and out == read(case / "revert.rsc")


def test_diff_empty_when_equivalent() -> None:
    case = FIXTURES / "equivalent_spellings"
    code, out, _ = _run("diff", str(case / "running.rsc"), str(case / "intended.rsc"))
    assert (code, out) == (0, "")


def test_diff_masks_secrets_unless_asked() -> None:
    case = FIXTURES / "sensitive_values"
    args = (str(case / "running.rsc"), str(case / "intended.rsc"))
    code, out, _ = _run("diff", *args)
    assert code == 0 and "fake-new" not in out and "********" in out
    assert out.startswith("# sensitive values masked (********): not runnable")
    code, out, _ = _run("diff", "--revert", *args)
    assert "fake-old" not in out and out.startswith("# sensitive values masked")
    code, out, _ = _run("diff", "--json", *args)
    data = json.loads(out)
    assert "fake-" not in out
    assert data["summary"]["set"] == 3 and data["script"].count("********") == 3
    code, out, _ = _run("diff", "--show-sensitive", *args)
    assert out == read(case / "plan.rsc")


def test_diff_plan_error_exits_3(tmp_path: Path) -> None:
    dup = tmp_path / "dup.rsc"
    dup.write_text("/ip pool\nadd name=a ranges=10.0.0.2\nadd name=a ranges=10.0.0.3\n")
    empty = tmp_path / "empty.rsc"
    empty.write_text("")
    code, _, err = _run("diff", str(empty), str(dup))
    assert code == 3 and "/ip pool: duplicate entry in intended: name=a" in err


def test_lint_text_and_json(tmp_path: Path) -> None:
    clean = tmp_path / "clean.rsc"
    clean.write_text(CLEAN)
    bad = tmp_path / "bad.rsc"
    bad.write_text(CLEAN.replace("country=indonesia", "country=no_country_set"))
    code, out, _ = _run(
        "lint", str(clean), "--mgmt-net", "10.10.96.0/22", "--noc-net", "10.200.0.0/16"
    )
    assert (code, out) == (0, "")
    code, out, _ = _run("lint", str(clean), str(bad))
    line = next(i for i, t in enumerate(CLEAN.splitlines(), 1) if "country=" in t)
    assert code == 1 and f"{bad}:{line}: ROS-RF-001: /interface wireless" in out
    code, out, _ = _run("lint", "--json", str(bad))
    data = json.loads(out)
    assert code == 1 and data["findings"] == 1
    assert data["files"][str(bad)][0]["rule"] == "ROS-RF-001"
    assert data["files"][str(bad)][0]["line"] == line
    code, _, err = _run("lint", str(clean), "--mgmt-net", "not-a-net")
    assert code == 3 and "bad network" in err


def test_lint_lists_its_rules_and_needs_a_file() -> None:
    code, out, _ = _run("lint", "--rules")
    assert code == 0 and "ROS-RF-004" in out and "open radio" in out
    code, out, _ = _run("lint", "--help")
    assert code == 0 and "ROS-SNMP-002" in out and "FILE:LINE" in out
    code, _, err = _run("lint")
    assert code == 2 and "at least one FILE" in err


def test_diff_running_hides_sensitive(tmp_path: Path) -> None:
    running = tmp_path / "running.rsc"
    running.write_text("/ppp secret\nadd name=u1 profile=p\n")
    intended = tmp_path / "intended.rsc"
    intended.write_text("/ppp secret\nadd name=u1 password=fake-1 profile=p\n")
    code, out, _ = _run("diff", str(running), str(intended))
    assert code == 0 and "set [ find where name=u1 ] password=" in out
    code, out, _ = _run("diff", "--running-hides-sensitive", str(running), str(intended))
    assert (code, out) == (0, "")


def test_diff_changes_view_is_grouped_and_masked() -> None:
    case = FIXTURES / "sensitive_values"
    code, out, _ = _run("diff", "--changes", str(case / "running.rsc"), str(case / "intended.rsc"))
    assert code == 0
    assert "3 operation(s): 0 add, 3 change, 0 remove, 0 move" in out
    assert "  /ppp secret\n    ~ name=pelanggan-001\n        password: ******** -> ********" in out
    assert "fake-" not in out
