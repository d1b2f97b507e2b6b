"""Artifact comparison and its text / markdown / JSON presentations; renderer post-processing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kopnet_iac.errors import RenderError
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.render.compare import (
    CompareReport,
    compare_artifacts,
    format_markdown,
    format_text,
    unified,
)
from kopnet_iac.render.context import device_context
from kopnet_iac.render.manifest import OutputSpec
from kopnet_iac.render.renderer import Artifact, Renderer
from tests.render.conftest import EXAMPLE_INVENTORY, TEMPLATES


def _a(path: str, text: str) -> Artifact:
    village, _, name = path.partition("/")
    return Artifact(village, name.rsplit(".", 1)[0], "routeros", "core-router", path, text)


OLD = [_a("v1/r1.rsc", "a\nb\nc\n"), _a("v1/r2.rsc", "same\n"), _a("v2/gone.rsc", "x\n")]
NEW = [_a("v1/r1.rsc", "a\nB\nc\n"), _a("v1/r2.rsc", "same\n"), _a("v3/new.rsc", "y\n")]


def _report() -> CompareReport:
    return compare_artifacts(OLD, NEW, base="main", head="HEAD", scope="all", villages=3)


def test_statuses_and_counts() -> None:
    report = _report()
    assert [(c.path, c.status) for c in report.changes] == [
        ("v1/r1.rsc", "changed"),
        ("v2/gone.rsc", "removed"),
        ("v3/new.rsc", "added"),
    ]
    changed = report.changes[0]
    assert (changed.added_lines, changed.removed_lines) == (1, 1)
    assert changed.diff.startswith("--- a/v1/r1.rsc\n+++ b/v1/r1.rsc\n@@ -1,3 +1,3 @@\n")
    assert " a\n-b\n+B\n c\n" in changed.diff
    assert report.changes[1].diff.startswith("--- a/v2/gone.rsc\n+++ /dev/null\n")
    assert report.changes[2].diff.startswith("--- /dev/null\n+++ b/v3/new.rsc\n")
    assert [(v, h) for v, h, _ in report.devices()] == [("v1", "r1"), ("v2", "gone"), ("v3", "new")]


def test_identical_inputs_give_an_empty_report() -> None:
    report = compare_artifacts(OLD, list(OLD), base="a", head="b", scope="all", villages=2)
    assert not report.changed and report.devices() == []
    assert format_text(report) == "no changes in rendered configurations (a -> b)\n"
    assert "No device configuration changes." in format_markdown(report)
    assert report.to_json()["summary"] == {
        "devices": 0,
        "files": 0,
        "added": 0,
        "removed": 0,
        "changed": 0,
    }


def test_missing_final_newline_is_marked() -> None:
    diff, plus, minus = unified("v/x.cfg", "k=1\n", "k=2")
    assert "+k=2\n\\ No newline at end of file\n" in diff
    assert (plus, minus) == (1, 1)


def test_json_is_machine_readable() -> None:
    data = json.loads(json.dumps(_report().to_json()))
    assert data["summary"] == {"devices": 3, "files": 3, "added": 1, "removed": 1, "changed": 1}
    assert data["devices"][0]["files"][0]["status"] == "changed"
    assert set(data) == {
        "base",
        "head",
        "scope",
        "rendered_villages",
        "changed",
        "summary",
        "devices",
    }


def test_text_format_lists_devices_then_diffs() -> None:
    text = format_text(_report())
    assert text.startswith("3 device(s), 3 file(s) differ (main -> HEAD)\n")
    assert "== v1/r1\n   changed v1/r1.rsc (+1 -1)\n--- a/v1/r1.rsc" in text


def test_markdown_fence_survives_backticks_in_configs() -> None:
    old = [_a("v/s.rsc", '/system script\nadd source="```"\n')]
    new = [_a("v/s.rsc", '/system script\nadd source="````x"\n')]
    md = format_markdown(compare_artifacts(old, new, base="a", head="b", scope="all", villages=1))
    assert "`````diff\n" in md and "\n`````\n" in md
    assert md.count("<details>") == 1 and md.count("</details>") == 1


def _spec(post: tuple[str, ...] = ("sort-lines",)) -> OutputSpec:
    return OutputSpec(template="airos/radio/system.cfg.j2", suffix=".cfg", postprocess=post)


def test_sort_lines_sorts_drops_blanks_and_refuses_duplicates() -> None:
    renderer = Renderer(TEMPLATES)
    text = renderer._postprocess(_spec(), "b=2\n\na=1\n  \nc=3", village="v", host="h")
    assert text == "a=1\nb=2\nc=3\n"
    with pytest.raises(RenderError, match=r"duplicate keys radio\.1\.freq"):
        renderer._postprocess(
            _spec(), "radio.1.freq=5745\nradio.1.freq=5765\n", village="v", host="h"
        )


def test_sort_lines_refuses_a_line_without_a_key() -> None:
    with pytest.raises(RenderError, match="not a key=value line: 'oops'"):
        Renderer(TEMPLATES)._postprocess(_spec(), "a=1\noops\n", village="v", host="h")


@pytest.mark.parametrize("word", ["country=no_country_set", "frequency-mode=superchannel"])
def test_forbidden_settings_are_never_rendered(word: str) -> None:
    with pytest.raises(RenderError, match="forbidden") as info:
        Renderer(TEMPLATES)._postprocess(
            _spec(()), f"/interface wireless\nset x {word}\n", village="v", host="h"
        )
    assert info.value.host == "h"


def test_forbidden_setting_from_a_template_names_the_device(
    tmp_path: Path, templates_copy: Path
) -> None:
    radio = templates_copy / "routeros" / "radio" / "wireless.rsc.j2"
    radio.write_text(radio.read_text().replace("country=indonesia", "country=no_country_set"))
    inv = load_inventory(EXAMPLE_INVENTORY)
    with pytest.raises(RenderError) as info:
        Renderer(templates_copy).render_villages(inv, ["sukadana"])
    assert info.value.host == "sec-sukadana-1" and "no_country_set" in str(info.value)


def test_render_one_with_a_device_context() -> None:
    inv = load_inventory(EXAMPLE_INVENTORY)
    renderer = Renderer(TEMPLATES)
    ctx = device_context(inv, "pematang-panggang", "sec-pematang-3")
    (spec,) = renderer.manifest.outputs("airos", "sector-radio")
    text = renderer.render_one(spec, ctx, village="pematang-panggang", host="sec-pematang-3")
    assert "wireless.1.ssid=KopNet-Pematang-3\n" in text
    assert "netconf.4.ip=10.90.0.70\n" in text
