"""Grouping a fleet change by its distinct changes: normalisation, groups, ``kopnet diff``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kopnet_iac.cli.main import cli
from kopnet_iac.inventory.loader import Inventory, load_inventory
from kopnet_iac.render.compare import unified
from kopnet_iac.render.diffgroups import (
    diff_groups,
    format_markdown_grouped,
    format_text_grouped,
    worth_grouping,
)
from kopnet_iac.render.grouping import (
    ChangeItem,
    VillageValues,
    changed_lines,
    fleet_values,
    group_changes,
    merge_values,
    village_values,
)
from tests.render.conftest import EXAMPLE_INVENTORY, git

MakeRepo = Callable[..., Path]


@pytest.fixture(scope="module")
def inv() -> Inventory:
    return load_inventory(EXAMPLE_INVENTORY)


def _diff(old: str, new: str, path: str = "v/h.rsc") -> str:
    return unified(path, old, new)[0]


# --------------------------------------------------------------------------- normalisation


def test_own_values_become_tokens(inv: Inventory) -> None:
    values = village_values(inv, "sukadana")
    text = (
        "/system identity set name=core-sukadana\n"
        'add comment="to sec-sukadana-1" interface=vlan101-dusun-1 vlan-id=101\n'
        "add address=10.90.0.129/26 interface=vlan99-mgmt\n"
        "add name=hs-dusun-1 ranges=100.64.10.2-100.64.10.62\n"
    )
    out = values.normalise(text, "core-sukadana")
    assert "name={host}" in out
    assert "to {sector-radio:dusun-1}" in out  # another device: by role, not by name
    assert "vlan{vlan:dusun-1}-dusun-1 vlan-id={vlan:dusun-1}" in out
    assert "address={mgmt_ip}/26" in out  # the core router's own management address
    assert "ranges={hotspot:dusun-1+2}-{hotspot:dusun-1+62}" in out  # offsets in its network
    assert "sukadana" not in out and "10.90" not in out and "101" not in out


def test_own_hamlet_of_a_sector_radio_is_device_independent(inv: Inventory) -> None:
    values = village_values(inv, "sukadana")
    one = values.normalise("vlan-id=101 ssid=KopNet-Sukadana-1", "sec-sukadana-1")
    two = values.normalise("vlan-id=102 ssid=KopNet-Sukadana-2", "sec-sukadana-2")
    assert one == two == "vlan-id={vlan} ssid={ssid}"
    # on the core router both hamlets stay apart
    core = values.normalise("vlan-id=101 vlan-id=102", "core-sukadana")
    assert core == "vlan-id={vlan:dusun-1} vlan-id={vlan:dusun-2}"


def test_addresses_match_whole_addresses_only(inv: Inventory) -> None:
    values = village_values(inv, "sukadana")
    mgmt = str(values.networks[-1][0])  # any village network
    assert values.normalise("8.8.8.8 1.2.3.45") == "8.8.8.8 1.2.3.45"
    # a longer number that starts like a VLAN id is not that VLAN id
    assert values.normalise("vlan-id=1010 port=10101", "core-sukadana") == (
        "vlan-id=1010 port=10101"
    )
    assert mgmt  # networks are known
    own = next(iter(v for v in values.own.values() if "{mgmt_ip}" in v.values()))
    ip = next(k for k, v in own.items() if v == "{mgmt_ip}")
    assert values.normalise(f"ip={ip}2") == f"ip={ip}2"  # not a prefix of a longer address


def test_values_of_other_villages_are_left_alone(inv: Inventory) -> None:
    values = village_values(inv, "sukadana")
    assert values.normalise("name=core-lebung-itam", "core-sukadana") == "name=core-lebung-itam"


def test_a_village_without_allocation_still_normalises_names(inv: Inventory) -> None:
    values = VillageValues(village="x", words={"x": "{village}"})
    assert values.normalise("core-x") == "core-{village}"


def test_merge_keeps_both_sides(inv: Inventory) -> None:
    a = VillageValues(village="v", numbers={"101": "{vlan:d1}"})
    b = VillageValues(village="v", numbers={"111": "{vlan:d1}"})
    merged = merge_values(a, b)
    assert (
        merged.normalise("vlan-id=101 -> vlan-id=111") == "vlan-id={vlan:d1} -> vlan-id={vlan:d1}"
    )


# --------------------------------------------------------------------------- grouping


def test_changed_lines_ignore_context_and_line_numbers() -> None:
    one = _diff("a\nb\nc\nx=1\n", "a\nb\nc\nx=2\n")
    two = _diff("q\nx=1\n", "q\nx=2\n")
    assert changed_lines(one) == changed_lines(two) == ("-x=1", "+x=2")
    assert changed_lines("/ip service\nset telnet disabled=yes\n\n") == (
        "/ip service",
        "set telnet disabled=yes",
    )


def test_same_change_up_to_own_values_is_one_group(inv: Inventory) -> None:
    values = fleet_values([inv], ["sukadana", "lebung-itam"])
    items = [
        ChangeItem("sukadana", "core-sukadana", "sukadana/core-sukadana.rsc",
                   _diff("x\n", "x\n/system identity set name=core-sukadana\n")),
        ChangeItem("lebung-itam", "core-lebung-itam", "lebung-itam/core-lebung-itam.rsc",
                   _diff("y\n", "y\n/system identity set name=core-lebung-itam\n")),
        ChangeItem("sukadana", "gw-sukadana", "sukadana/gw-sukadana.nft",
                   _diff("x\n", "x\nsomething else\n")),
    ]  # fmt: skip
    groups = group_changes(items, values)
    assert [g.count for g in groups] == [2, 1]
    assert groups[0].members == (
        ("lebung-itam", "core-lebung-itam"),
        ("sukadana", "core-sukadana"),
    )
    assert groups[0].representative == ("lebung-itam", "core-lebung-itam")
    assert groups[0].villages == ["lebung-itam", "sukadana"]
    assert groups[1].members == (("sukadana", "gw-sukadana"),)


def test_a_different_value_that_is_not_the_devices_own_splits_the_group(inv: Inventory) -> None:
    values = fleet_values([inv], ["sukadana", "lebung-itam"])
    items = [
        ChangeItem("sukadana", "core-sukadana", "p", "+/ip dns set servers=1.1.1.1"),
        ChangeItem("lebung-itam", "core-lebung-itam", "p", "+/ip dns set servers=9.9.9.9"),
    ]
    assert [g.count for g in group_changes(items, values)] == [1, 1]


def test_all_files_of_a_device_make_its_change(inv: Inventory) -> None:
    items = [
        ChangeItem("v", "a", "v/a.rsc", "+x"),
        ChangeItem("v", "a", "v/a.cfg", "+y"),
        ChangeItem("v", "b", "v/b.rsc", "+x"),
    ]
    groups = group_changes(items, {})
    assert sorted(g.count for g in groups) == [1, 1]


def test_plan_texts_group_too() -> None:
    """The same function serves ``kopnet deploy --all --dry-run`` plans (no diff headers)."""
    items = [
        ChangeItem(f"v{i}", f"core-v{i}", "plan", f"/snmp set location=v{i}\n") for i in range(5)
    ]
    (group,) = group_changes(items, {})
    assert group.count == 5


# --------------------------------------------------------------------------- kopnet diff


def _run(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--inventory", str(repo / "inventory"), "diff", *args])


def _fleet_change(repo: Path) -> None:
    fleet = repo / "inventory" / "fleet.yaml"
    fleet.write_text(fleet.read_text().replace("management_vlan: 99", "management_vlan: 98"))


def test_diff_groups_a_fleet_change(git_repo: MakeRepo) -> None:
    repo = git_repo()
    _fleet_change(repo)
    full = json.loads(_run(repo, "--base", "HEAD", "--format", "json", "--no-group").output)
    devices = len(full["devices"])
    assert "groups" not in full and devices > 6
    data = json.loads(_run(repo, "--base", "HEAD", "--format", "json").output)
    groups = data["groups"]
    assert sum(g["count"] for g in groups) == devices
    assert len(groups) < devices / 2, [g["count"] for g in groups]
    assert data["devices"] == full["devices"]  # the per-device part is unchanged
    members = [(d["village"], d["host"]) for g in groups for d in g["devices"]]
    assert len(set(members)) == devices

    text = _run(repo, "--base", "HEAD", "--exit-code")
    assert text.exit_code == 1
    assert f"{devices} device(s)" in text.output and f"in {len(groups)} distinct" in text.output
    assert text.output.count("\n== change ") == len(groups)
    assert text.output.count("+++ b/") == len(groups)  # one representative diff per change

    every = _run(repo, "--base", "HEAD", "--no-group")
    assert every.output.count("+++ b/") == devices

    md = _run(repo, "--base", "HEAD", "--format", "markdown")
    assert md.exit_code == 0
    assert "| # | Devices | Villages | Shown for | Lines |" in md.output
    assert md.output.count("<details>") == len(groups)
    first = groups[0]
    rep = first["representative"]
    assert f"| 1 | {first['count']} |" in md.output
    assert f"shown for <code>{rep['village']}/{rep['host']}</code>" in md.output


def test_single_device_changes_keep_the_per_device_format(git_repo: MakeRepo) -> None:
    repo = git_repo()
    village = repo / "inventory" / "villages" / "sukadana.yaml"
    village.write_text(village.read_text().replace("KopNet-Sukadana-2", "KopNet-Sukadana-Dua"))
    git(repo, "commit", "-q", "-am", "rename sector")
    result = _run(repo, "--base", "HEAD~1", "--head", "HEAD", "--format", "markdown")
    assert "| Village | Device | File | Change | Lines |" in result.output
    data = json.loads(_run(repo, "--base", "HEAD~1", "--head", "HEAD", "--format", "json").output)
    assert data["groups"] == [
        {
            "count": 1,
            "representative": {"village": "sukadana", "host": "sec-sukadana-2"},
            "devices": [{"village": "sukadana", "host": "sec-sukadana-2"}],
        }
    ]


def test_grouped_markdown_stays_within_the_limit(git_repo: MakeRepo) -> None:
    repo = git_repo()
    _fleet_change(repo)
    from kopnet_iac.render.gitdiff import diff_revisions

    report = diff_revisions(repo / "inventory", "HEAD")
    groups = diff_groups(report)
    assert worth_grouping(groups)
    small = format_markdown_grouped(report, groups, limit=3000)
    assert len(small) <= 3000
    assert "change diff(s) not shown" in small
    assert small.count("<details>") == small.count("</details>")  # no diff cut in half
    text = format_text_grouped(report, groups)
    assert all(f"{v}/{h}" in text for g in groups for v, h in g.members)


def test_grouped_markdown_names_the_full_diff_and_cli_limits(
    git_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = git_repo()
    _fleet_change(repo)
    full = tmp_path / "kopnet-diff.txt"
    result = _run(
        repo, "--base", "HEAD", "--format", "markdown", "--max-chars", "3000",
        "--full-diff", str(full),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(result.output) <= 3000
    assert "distinct change(s)" in result.output
    assert f"The complete diff is in `{full}`." in result.output
    assert full.read_text().count("+++ b/") > result.output.count("+++ b/")


def test_many_devices_in_a_group_are_named_up_to_a_limit() -> None:
    items = [ChangeItem(f"v{i:03d}", f"core-v{i:03d}", "p", "+x\n") for i in range(60)]
    (group,) = group_changes(items, {})
    from kopnet_iac.render.compare import DiffReport, FileChange

    report = DiffReport(
        base="a",
        head="b",
        scope="all",
        rendered_villages=60,
        changes=[
            FileChange(
                i.village, i.host, f"{i.village}/{i.host}.rsc", "changed", "@@ -1 +1 @@\n+x\n", 1, 0
            )
            for i in items
        ],
    )
    groups = diff_groups(report)
    assert [g.count for g in groups] == [60] and group.count == 60
    text = format_text_grouped(report, groups)
    assert "v000/core-v000" in text and "and 20 more" in text
