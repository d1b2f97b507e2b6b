"""The fleet compliance page: summary, worst villages first, plans of drifted devices."""

from __future__ import annotations

from pathlib import Path

import pytest

from kopnet_iac.errors import ReportError
from kopnet_iac.report.compliance import (
    PLAN_LINES,
    compliance_html,
    render_compliance_page,
    village_order,
)
from tests.report.conftest import CANARY
from tests.report.test_release import assert_self_contained

ROWS = [
    {"village": "alpha", "hostname": "core-alpha", "status": "compliant", "plan": ""},
    {"village": "alpha", "hostname": "gw-alpha", "status": "compliant", "plan": ""},
    {"village": "bravo", "hostname": "core-bravo", "status": "drifted",
     "plan": "/snmp\nset location=hand-edit\n"},
    {"village": "bravo", "hostname": "sec-bravo-1", "status": "compliant", "plan": ""},
    {"village": "charlie", "hostname": "core-charlie", "status": "unreachable", "plan": ""},
    {"village": "delta", "hostname": "core-delta", "status": "never-deployed", "plan": ""},
    {"village": "echo", "hostname": "core-echo", "status": "drifted", "plan": "/x\nset a=1\n"},
    {"village": "echo", "hostname": "sec-echo-1", "status": "drifted", "plan": "/x\nset a=2\n"},
]  # fmt: skip


def test_worst_villages_first() -> None:
    rows = [(r["village"], r["hostname"], r["status"], r["plan"]) for r in ROWS]
    order = [village for village, _ in village_order(rows)]
    assert order == ["echo", "charlie", "bravo", "delta", "alpha"]


def test_page_shows_summary_devices_and_plans(tmp_path: Path) -> None:
    path = render_compliance_page(ROWS, tmp_path / "fleet.html")
    text = path.read_text()
    assert_self_contained(text)
    assert "<strong>8</strong> device(s) in <strong>5</strong> village(s)" in text
    assert "<strong>4</strong> village(s) not fully compliant" in text
    positions = [text.index(f'id="v-{v}"') for v in ("echo", "charlie", "bravo", "delta", "alpha")]
    assert positions == sorted(positions)
    for row in ROWS:
        assert row["hostname"] in text
    assert "set location=hand-edit" in text  # the plan that restores bravo's core
    assert 'id="bravo--core-bravo"' in text and 'id="charlie--core-charlie"' not in text
    assert "core-charlie: unreachable" in text and "core-delta: never-deployed" in text


def test_plans_are_masked_and_cut() -> None:
    long_plan = "".join(f"set line={n}\n" for n in range(PLAN_LINES + 25))
    rows = [
        {"village": "v", "hostname": "a", "status": "drifted",
         "plan": f"/user\nset admin password={CANARY}\n"},
        {"village": "v", "hostname": "b", "status": "drifted", "plan": long_plan},
    ]  # fmt: skip
    text = compliance_html(rows)
    assert CANARY not in text and "password=***" in text
    assert f"set line={PLAN_LINES - 3}" in text and f"set line={PLAN_LINES + 10}" not in text
    assert "more line(s): kopnet drift VILLAGE" in text


def test_bad_rows_are_refused_naming_the_row(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="row 1: v/h: status 'weird'"):
        render_compliance_page(
            [ROWS[0], {"village": "v", "hostname": "h", "status": "weird"}], tmp_path / "x.html"
        )
    with pytest.raises(ReportError, match="missing 'hostname'"):
        compliance_html([{"village": "v", "status": "compliant"}])
    assert not (tmp_path / "x.html").exists()


def test_an_empty_fleet() -> None:
    text = compliance_html([])
    assert "<strong>0</strong> device(s)" in text


def test_a_thousand_villages_stay_small() -> None:
    from benchmarks.report import rows

    data = rows(1000, 6)
    text = compliance_html(data)
    assert len(text) < 1_000_000  # well under a megabyte for 6,000 devices
    assert text.count('<tr id="v-') == 1000


def test_names_are_escaped_and_a_failed_write_keeps_the_old_page(tmp_path: Path) -> None:
    rows = [{"village": "<b>v</b>", "hostname": 'h"><script>x()</script>', "status": "drifted",
             "plan": "/x\nset a=<tag>\n"}]  # fmt: skip
    text = compliance_html(rows)
    assert "<script>" not in text and "<b>v</b>" not in text
    assert "&lt;b&gt;v&lt;/b&gt;" in text and "set a=&lt;tag&gt;" in text
    page = render_compliance_page(ROWS, tmp_path / "fleet.html")
    before = page.read_text()
    with pytest.raises(ReportError):
        render_compliance_page([{"village": "v", "hostname": "h", "status": "?"}], page)
    assert page.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["fleet.html"]  # no temporary file left
