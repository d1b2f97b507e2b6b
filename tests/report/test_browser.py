"""The pages in a real headless browser (Debian's chromium, kept off every network): they
render, reference nothing outside the file, and show the expected devices."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from benchmarks.browser import chromium, dump_dom, screenshot
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.report.compliance import render_compliance_page
from kopnet_iac.report.html import write_atomic
from kopnet_iac.report.release import write_release_report
from kopnet_iac.report.topology import render_topology_svg
from kopnet_iac.state import ReleaseStore
from tests.report.conftest import HOSTS, record_reverted
from tests.report.test_compliance import ROWS
from tests.report.test_release import assert_self_contained, refs_and_tags

pytestmark = pytest.mark.skipif(
    chromium() is None, reason="chromium is not installed (apt-get install chromium)"
)


def _png_size(png: Path) -> tuple[int, int]:
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_release_report_renders_in_chromium(
    store: ReleaseStore, inventory: Inventory, tmp_path: Path
) -> None:
    rid = record_reverted(store)
    page = write_release_report(store, rid, tmp_path / "release.html", inventory=inventory)
    dom = dump_dom(page)
    assert_self_contained(dom)  # what the browser built references nothing outside
    parsed = refs_and_tags(dom)
    assert {"svg", "table", "details"} <= parsed.tags
    for host in HOSTS:
        assert f'data-host="{host}"' in dom
    assert "radio-link" in dom and "FAILED" in dom
    png = screenshot(page, tmp_path / "release.png")
    assert _png_size(png) == (1280, 1600)
    assert png.stat().st_size > 20_000  # a drawn page, not a blank one


def test_compliance_page_renders_in_chromium(tmp_path: Path) -> None:
    page = render_compliance_page(ROWS, tmp_path / "fleet.html")
    dom = dump_dom(page)
    assert_self_contained(dom)
    for row in ROWS:
        assert row["hostname"] in dom
    assert dom.index('id="v-echo"') < dom.index('id="v-alpha"')
    png = screenshot(page, tmp_path / "fleet.png", size="1200,900")
    assert _png_size(png) == (1200, 900)


def test_topology_svg_file_renders_in_chromium(inventory: Inventory, tmp_path: Path) -> None:
    village = inventory.villages["pematang-panggang"]
    path = tmp_path / "pematang.svg"
    write_atomic(path, render_topology_svg(village, {"core-pematang": "drifted"}, standalone=True))
    dom = dump_dom(path)
    assert "<svg" in dom and "This page contains the following errors" not in dom
    for device in village.devices:
        assert f'data-host="{device.hostname}"' in dom
    png = screenshot(path, tmp_path / "pematang.png", size="1000,1000")
    assert png.stat().st_size > 10_000
