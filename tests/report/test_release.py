"""The HTML report of a release: outcome, topology, timeline, plans, checks, wire cost;
secrets masked; ``kopnet show --html`` and ``kopnet topology --svg``."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from kopnet_iac.cli.main import cli
from kopnet_iac.errors import ReportError
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.report.release import (
    device_states,
    render_release_report,
    timeline_svg,
    write_release_report,
)
from kopnet_iac.state import ReleaseStore, UnknownReleaseError
from tests.conftest import EXAMPLE_FLEET
from tests.report.conftest import CANARY, HOSTS, VILLAGE, record_reverted, synthetic_release


class _Refs(HTMLParser):
    """Every src/href/xlink:href and every tag name of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.refs += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "action")]


def refs_and_tags(text: str) -> _Refs:
    parser = _Refs()
    parser.feed(text)
    return parser


def assert_self_contained(text: str) -> None:
    parsed = refs_and_tags(text)
    assert all(ref.startswith("#") for ref in parsed.refs), parsed.refs
    assert not {"script", "link", "img", "iframe", "object", "embed"} & parsed.tags
    assert not re.search(r"https?://|url\(|@import", text)


def test_report_of_a_reverted_deploy_shows_the_failing_check(
    store: ReleaseStore, inventory: Inventory, tmp_path: Path
) -> None:
    rid = record_reverted(store)
    path = write_release_report(store, rid, tmp_path / "out" / "r.html", inventory=inventory)
    text = path.read_text()
    assert_self_contained(text)
    assert f"Release {rid}" in text and ">reverted</span>" in text
    assert "verification failed: sec-sukadana-1/radio-link" in text
    failed = re.search(r"<tr><td>sec-sukadana-1</td><td>radio-link</td><td>(.*?)</td>", text)
    assert failed is not None and "FAILED" in failed.group(1)
    assert "no station registered on wlan1" in text
    assert "2 check(s), <strong>1 failed</strong>" in text
    for host in HOSTS:
        assert f'id="device-{host}"' in text and f'data-host="{host}"' in text
    assert 'data-host="core-sukadana" data-state="reverted"' in text
    assert "set location=core-sukadana-tower" in text  # the plan
    assert '<td class="n">4</td>' in text and "2290" in text  # wire cost recorded
    assert text.count('class="step"') == len(store.get_release(rid).journal)
    assert "Dusun I Talang Jaya" in text and "VLAN 101" in text  # topology embedded


def test_secrets_are_masked_everywhere_in_the_page(inventory: Inventory) -> None:
    release = synthetic_release()
    text = render_release_report(release, inventory.villages[VILLAGE])
    assert CANARY not in text
    assert "password=***" in text and "apply failed" in text


def test_without_the_village_in_the_inventory_the_page_says_so() -> None:
    text = render_release_report(synthetic_release())
    assert "not in the inventory" in text and "<svg" in text  # the timeline is still drawn
    assert 'class="topology"' not in text


def test_an_unfinished_release_is_in_doubt() -> None:
    release = synthetic_release(finished=None, outcome=None)
    assert device_states(release) == {"core-sukadana": "in-doubt"}
    assert ">in-doubt</span>" in render_release_report(release)


def test_timeline_without_journal() -> None:
    assert "no journal entries" in timeline_svg(synthetic_release(journal=[]))


def test_unknown_release_and_unwritable_path(store: ReleaseStore, tmp_path: Path) -> None:
    with pytest.raises(UnknownReleaseError):
        write_release_report(store, "sukadana-nope", tmp_path / "r.html")
    rid = record_reverted(store)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ReportError, match="cannot write"):
        write_release_report(store, rid, blocker / "r.html")
    assert blocker.read_text() == ""


def _kopnet(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--inventory", str(EXAMPLE_FLEET), *args])
    return result.exit_code, result.output


def test_show_html_and_topology_svg_commands(store: ReleaseStore, tmp_path: Path) -> None:
    rid = record_reverted(store)
    state = str(store.path.parent)
    page = tmp_path / "report.html"
    code, output = _kopnet("show", rid, "--state", state, "--html", str(page))
    assert code == 0, output
    assert f"release {rid}" in output and f"report written to {page}" in output
    assert_self_contained(page.read_text())
    assert "Dusun II Sungai Rambutan" in page.read_text()

    svg = tmp_path / "sukadana.svg"
    code, output = _kopnet("topology", VILLAGE, "--svg", str(svg), "--state", state)
    assert code == 0, output
    drawing = svg.read_text()
    assert drawing.startswith("<svg xmlns=")
    assert 'data-host="sec-sukadana-2" data-state="reverted"' in drawing  # latest release
    code, output = _kopnet("topology", "lebung-itam", "--svg", "-", "--state", state)
    assert code == 0 and 'data-host="gw-lebung-itam" data-state="unknown"' in output


def test_show_html_and_topology_bad_input(store: ReleaseStore, tmp_path: Path) -> None:
    state = str(store.path.parent)
    code, output = _kopnet("show", "nope", "--state", state, "--html", str(tmp_path / "x.html"))
    assert code == 3 and "unknown release" in output
    assert not (tmp_path / "x.html").exists()
    code, output = _kopnet("topology", "desa-x", "--svg", str(tmp_path / "x.svg"))
    assert code == 3 and "unknown village 'desa-x'" in output
    code, output = _kopnet("topology", VILLAGE)
    assert code == 2 and "--svg" in output
