"""``kopnet diff`` on temporary git repositories: scope, formats, exit codes, errors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kopnet_iac.cli.main import cli
from kopnet_iac.errors import RenderError
from kopnet_iac.render.compare import DiffReport, FileChange, format_markdown
from kopnet_iac.render.gitdiff import RepoLayout, diff_revisions, village_scope
from tests.render.conftest import EXAMPLE_INVENTORY, TEMPLATES, git

MakeRepo = Callable[..., Path]


def _diff(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--inventory", str(repo / "inventory"), "diff", *args])


def _change_ssid(repo: Path) -> None:
    village = repo / "inventory" / "villages" / "sukadana.yaml"
    village.write_text(village.read_text().replace("KopNet-Sukadana-2", "KopNet-Sukadana-Dua"))


def test_no_change_is_empty_and_exit_zero(git_repo: MakeRepo) -> None:
    repo = git_repo()
    result = _diff(repo, "--base", "HEAD", "--exit-code")
    assert result.exit_code == 0, result.output
    assert "no changes" in result.output
    result = _diff(repo, "--base", "HEAD", "--format", "json")
    data = json.loads(result.output)
    assert data["changed"] is False and data["devices"] == []


def test_one_village_change_lists_only_its_devices(git_repo: MakeRepo) -> None:
    repo = git_repo()
    _change_ssid(repo)
    git(repo, "commit", "-q", "-am", "rename sector")
    result = _diff(repo, "--base", "HEAD~1", "--head", "HEAD", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["scope"] == "villages: sukadana"
    assert [(d["village"], d["host"]) for d in data["devices"]] == [("sukadana", "sec-sukadana-2")]
    (entry,) = data["devices"][0]["files"]
    assert entry["path"] == "sukadana/sec-sukadana-2.cfg" and entry["status"] == "changed"
    assert "-aaa.1.ssid=KopNet-Sukadana-2\n" in entry["diff"]
    assert "+aaa.1.ssid=KopNet-Sukadana-Dua\n" in entry["diff"]
    assert entry["added_lines"] == entry["removed_lines"] == 2  # aaa.1.ssid + wireless.1.ssid


def test_working_tree_is_the_default_head(git_repo: MakeRepo) -> None:
    repo = git_repo()
    _change_ssid(repo)
    result = _diff(repo, "--base", "HEAD", "--exit-code")
    assert result.exit_code == 1
    assert "== sukadana/sec-sukadana-2" in result.output
    assert "core-sukadana" not in result.output and "lebung-itam" not in result.output


def test_markdown_format_for_pull_requests(git_repo: MakeRepo) -> None:
    repo = git_repo()
    _change_ssid(repo)
    result = _diff(repo, "--base", "HEAD", "--format", "markdown")
    assert result.exit_code == 0
    text = result.output
    assert "| Village | Device | File | Change | Lines |" in text
    assert "| sukadana | sec-sukadana-2 | `sec-sukadana-2.cfg` | changed | +2 -2 |" in text
    assert "<details><summary><code>sukadana/sec-sukadana-2.cfg</code>" in text
    assert "```diff\n--- a/sukadana/sec-sukadana-2.cfg" in text and "</details>" in text


def test_added_and_removed_village(git_repo: MakeRepo) -> None:
    repo = git_repo()
    villages = repo / "inventory" / "villages"
    git(repo, "rm", "-q", "inventory/villages/lebung-itam.yaml")
    git(repo, "commit", "-q", "-m", "drop lebung-itam")
    result = _diff(repo, "--base", "HEAD~1", "--head", "HEAD", "--format", "json")
    data = json.loads(result.output)
    hosts = {d["host"] for d in data["devices"]}
    assert "core-lebung-itam" in hosts and all("lebung" in h for h in hosts)
    assert {f["status"] for d in data["devices"] for f in d["files"]} == {"removed"}
    # reverse direction: the village appears
    reverse = _diff(repo, "--base", "HEAD", "--head", "HEAD~1", "--format", "json")
    statuses = {f["status"] for d in json.loads(reverse.output)["devices"] for f in d["files"]}
    assert statuses == {"added"}
    assert not (villages / "lebung-itam.yaml").exists()


def test_fleet_change_renders_every_village(git_repo: MakeRepo) -> None:
    repo = git_repo()
    fleet = repo / "inventory" / "fleet.yaml"
    fleet.write_text(fleet.read_text().replace("ntp: [10.255.0.123]", "ntp: [10.255.0.124]"))
    report = diff_revisions(repo / "inventory", "HEAD")
    assert report.scope == "all" and report.rendered_villages == 3
    villages = {v for v, _, _ in report.devices()}
    assert villages == {"sukadana", "lebung-itam", "pematang-panggang"}
    assert all("10.255.0.124" in c.diff for c in report.changes if c.path.endswith(".rsc"))


def test_template_change_renders_every_village(git_repo: MakeRepo) -> None:
    repo = git_repo()
    macros = repo / "templates" / "routeros" / "common" / "macros.j2"
    macros.write_text(macros.read_text().replace("set strong-crypto=yes", "set strong-crypto=no"))
    git(repo, "commit", "-q", "-am", "weaker ssh")
    report = diff_revisions(repo / "inventory", "HEAD~1", "HEAD")
    assert report.scope == "all"
    changed = {c.path for c in report.changes}
    assert changed and all(p.endswith(".rsc") for p in changed)
    assert (
        "sukadana/core-sukadana.rsc" in changed and "lebung-itam/sec-lebung-itam-1.rsc" in changed
    )


def test_unknown_revision_is_a_clear_error(git_repo: MakeRepo) -> None:
    repo = git_repo()
    result = _diff(repo, "--base", "no-such-branch")
    assert result.exit_code == 3
    assert "unknown revision 'no-such-branch'" in result.output
    assert "Traceback" not in result.output
    result = _diff(repo, "--base", "HEAD", "--head", "deadbeef")
    assert result.exit_code == 3 and "unknown revision 'deadbeef'" in result.output


def test_not_a_git_repository(inventory_copy: Path) -> None:
    with pytest.raises(RenderError, match="git"):
        diff_revisions(inventory_copy, "HEAD")


def test_broken_inventory_at_head_is_reported(git_repo: MakeRepo) -> None:
    repo = git_repo()
    village = repo / "inventory" / "villages" / "sukadana.yaml"
    village.write_text(village.read_text().replace("channel_width: 40", "channel_width: 33"))
    result = _diff(repo, "--base", "HEAD")
    assert result.exit_code == 3
    assert "Traceback" not in result.output
    assert "channel_width" in result.output


def test_village_scope_rules(git_repo: MakeRepo) -> None:
    layout = RepoLayout.discover(git_repo() / "inventory")
    assert village_scope(layout, ["inventory/villages/a.yaml", "inventory/villages/b.yaml"]) == {
        "a",
        "b",
    }
    assert village_scope(layout, ["inventory/villages/a.yaml", "inventory/fleet.yaml"]) is None
    assert village_scope(layout, ["inventory/addresses.lock.yaml"]) is None
    assert village_scope(layout, ["templates/airos/radio/system.cfg.j2"]) is None


def test_no_secret_values_in_diff(git_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = git_repo()
    monkeypatch.setenv("KOPNET_SECRET_WIFI_SUKADANA", "fake-wifi-value-Q9")
    monkeypatch.setenv("KOPNET_SECRET_RADIO_ADMIN", "fake-radio-admin-Q9")
    village = repo / "inventory" / "villages" / "sukadana.yaml"
    village.write_text(
        village.read_text().replace(
            "frequency: 5785, channel_width: 40", "frequency: 5795, channel_width: 40"
        )
    )
    result = _diff(repo, "--base", "HEAD", "--format", "markdown")
    assert result.exit_code == 0
    assert "radio.1.freq=5795" in result.output
    assert "fake-wifi-value-Q9" not in result.output and "fake-radio-admin-Q9" not in result.output


def test_templates_outside_the_repository_are_shared(tmp_path: Path) -> None:
    """A repo holding only the inventory: both sides render with the given templates."""
    repo = tmp_path / "only-inventory"
    shutil.copytree(EXAMPLE_INVENTORY, repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "fleet at the repository root")
    village = repo / "villages" / "lebung-itam.yaml"
    village.write_text(village.read_text().replace("bandwidth_mbps: 150", "bandwidth_mbps: 100"))
    report = diff_revisions(repo, "HEAD", templates_dir=TEMPLATES)
    assert report.scope == "villages: lebung-itam"
    assert [(v, h) for v, h, _ in report.devices()] == [("lebung-itam", "core-lebung-itam")]
    (change,) = report.changes
    assert (
        '-add comment="village uplink share' in change.diff and "max-limit=100M/100M" in change.diff
    )


def test_head_revision_with_a_template_change(git_repo: MakeRepo) -> None:
    repo = git_repo()
    airos = repo / "templates" / "airos" / "radio" / "system.cfg.j2"
    airos.write_text(airos.read_text().replace("gui.language=en_US", "gui.language=id_ID"))
    git(repo, "commit", "-q", "-am", "Indonesian web UI")
    result = _diff(repo, "--base", "HEAD~1", "--head", "HEAD", "--format", "json", "--exit-code")
    assert result.exit_code == 1
    data = json.loads(result.output)
    paths = sorted(f["path"] for d in data["devices"] for f in d["files"])
    assert paths and all(p.endswith(".cfg") for p in paths)
    assert "lebung-itam/bh-lebung-itam-a.cfg" in paths and "sukadana/sec-sukadana-2.cfg" in paths
    # the working tree equals HEAD: nothing to show against HEAD
    assert _diff(repo, "--base", "HEAD", "--exit-code").exit_code == 0


def test_broken_inventory_positions_name_revision_or_real_file(git_repo: MakeRepo) -> None:
    repo = git_repo()
    village = repo / "inventory" / "villages" / "sukadana.yaml"
    good = village.read_text()
    village.write_text(good.replace("channel_width: 40", "channel_width: 33"))
    # working tree broken: the real file is named
    result = _diff(repo, "--base", "HEAD")
    assert result.exit_code == 3
    assert f"{village}:" in result.output
    # broken commit as base, fixed commit as head: the revision is named
    git(repo, "commit", "-q", "-am", "broken")
    village.write_text(good.replace("KopNet-Sukadana-1", "KopNet-Sukadana-Satu"))
    git(repo, "commit", "-q", "-am", "fixed")
    result = _diff(repo, "--base", "HEAD~1", "--head", "HEAD")
    assert result.exit_code == 3, result.output
    assert "HEAD~1:inventory/villages/sukadana.yaml:" in result.output
    assert "/dev/shm" not in result.output and "kopnet-diff-" not in result.output


def test_new_village_without_allocation_blames_the_working_tree(git_repo: MakeRepo) -> None:
    """The base revision's lock is fine: the new village in the working tree lacks its
    allocation, and the message names that file and the command that fixes it."""
    repo = git_repo()
    villages = repo / "inventory" / "villages"
    text = (villages / "sukadana.yaml").read_text()
    for old, new in (
        ("id: sukadana", "id: desa-baru"),
        ("sukadana", "baru"),
        ("wifi-baru", "wifi-sukadana"),
        ("HE10A8F2K91", "HE10A8F2K99"),
        ("APU-7F3A21", "APU-7F3A99"),
        ("HD70B1C2Q44", "HD70B1C2Q99"),
        ("7483C2A1B9F0", "7483C2A1B999"),
    ):
        text = text.replace(old, new)
    (villages / "desa-baru.yaml").write_text(text)
    result = _diff(repo, "--base", "HEAD")
    assert result.exit_code == 3
    assert f"{villages / 'desa-baru.yaml'}:" in result.output
    assert "desa-baru has no address allocation; run `kopnet addresses update`" in result.output
    assert "addresses.lock.yaml" not in result.output and "HEAD:" not in result.output
    # after the documented fix the diff shows the new village's devices as added
    update = CliRunner().invoke(
        cli, ["--inventory", str(repo / "inventory"), "addresses", "update"]
    )
    assert update.exit_code == 0, update.output
    result = _diff(repo, "--base", "HEAD", "--format", "json")
    data = json.loads(result.output)
    assert {d["village"] for d in data["devices"]} == {"desa-baru"}


def test_large_markdown_diff_fits_a_pull_request_comment(
    git_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = git_repo()
    fleet = repo / "inventory" / "fleet.yaml"
    fleet.write_text(fleet.read_text().replace("management_vlan: 99", "management_vlan: 98"))
    full = tmp_path / "kopnet-diff.txt"
    limit = 6000
    result = _diff(
        repo, "--base", "HEAD", "--format", "markdown", "--max-chars", str(limit),
        "--full-diff", str(full), "--no-group",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = result.output
    assert len(text) <= limit
    assert "| Village | Device | File | Change | Lines |" in text
    assert "file diff(s) not shown" in text and f"`{full}`" in text
    # the full diff holds every changed file, the comment names how many it left out
    complete = full.read_text()
    assert len(complete) > limit
    every = _diff(repo, "--base", "HEAD", "--format", "json")
    files = [f["path"] for d in json.loads(every.output)["devices"] for f in d["files"]]
    assert all(f"+++ b/{path}" in complete for path in files)
    # the default limit is GitHub's; small changes are shown whole, without a note
    small = _diff(repo, "--base", "HEAD", "--format", "markdown")
    assert len(small.output) <= 65_536


def test_markdown_limit_keeps_whole_diffs_and_says_what_is_missing() -> None:
    changes = [
        FileChange(
            village="v",
            host=f"h{i}",
            path=f"v/h{i}.rsc",
            status="changed",
            diff="".join(f"+line {i} {n}\n" for n in range(100)),
            added_lines=100,
            removed_lines=0,
        )
        for i in range(40)
    ]
    report = DiffReport(base="a", head="b", scope="all", rendered_villages=1, changes=changes)
    text = format_markdown(report, limit=20_000)
    assert len(text) <= 20_000
    shown = text.count("<details>")
    assert 0 < shown < 40 and text.count("</details>") == shown  # no diff cut in half
    assert f"**{40 - shown} of 40 file diff(s) not shown** (+{(40 - shown) * 100} -0 lines)" in text
    assert "kopnet diff --format text" in text
    assert format_markdown(report, limit=10**7).count("<details>") == 40
