"""Field-grade inventory checks: radio planning, management reachability, radio standards,
newcomer-blamed duplicates, per-hamlet hotspot plans and examples in unit errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kopnet_iac.inventory.hints import unit_hint
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.inventory.mgmtpath import management_path
from kopnet_iac.inventory.models import Village
from kopnet_iac.inventory.radioplan import clashes, format_free, free_spectrum, sites
from tests.inventory.conftest import EXAMPLE, edit, position, problems, village

BAND = (5725, 5825)


def _ports(inv_dir: Path, village_id: str) -> dict[str, list[str]]:
    inv = load_inventory(inv_dir, check_lock=False)
    return {d.hostname: inv.hardware_of(d).ports for d in inv.village(village_id).devices}


# --------------------------------------------------------------------------- radio planning


def test_example_fleet_has_no_channel_clash_and_no_warning() -> None:
    inv = load_inventory(EXAMPLE)
    assert inv.warnings == []
    for v in inv.villages.values():
        assert clashes(v, BAND) == []


def test_sites_are_cabled_groups_and_radio_links_cross_them() -> None:
    inv = load_inventory(EXAMPLE)
    groups = sites(inv.village("pematang-panggang"))
    assert {"gw-pematang", "core-pematang", "sec-pematang-1", "bh-pematang-a"} <= groups[0] | set()
    assert {"bh-pematang-b", "sec-pematang-3"} in groups  # the far hamlet's mast
    assert not any({"bh-pematang-a", "bh-pematang-b"} <= g for g in groups)


def test_sector_overlapping_its_backhaul_on_one_mast_is_an_error(inv_dir: Path) -> None:
    path = village(inv_dir, "lebung-itam")
    # sector 1 stands on the POP mast with the backhaul end bh-lebung-itam-b (5755-5795 MHz)
    edit(path, "frequency: 5735, channel_width: 20", "frequency: 5765, channel_width: 20")
    found = problems(inv_dir)
    (line,) = [p for p in found if "overlaps" in p]
    assert line.startswith(f"{position(path, '5765')}: hamlets[0].sectors[0].frequency: ")
    assert "sec-lebung-itam-1 (sector-radio, 5765 MHz/20) overlaps bh-lebung-itam-b" in line
    assert f"on the same mast (at {path}:20)" in line  # the backhaul's radio mapping
    # the message says where to go: 5725-5755 is free (sector 2 holds 5795-5815)
    assert "free on this mast: 5725-5755 MHz (centre 5735 for 20 MHz)" in line


def test_two_sectors_overlapping_is_only_a_warning(inv_dir: Path) -> None:
    path = village(inv_dir, "sukadana")
    edit(path, "frequency: 5745, channel_width: 20", "frequency: 5775, channel_width: 20")
    inv = load_inventory(inv_dir)  # still valid
    (warning,) = [str(w) for w in inv.warnings]
    # the later entry is blamed, pointing at the earlier one
    assert warning.startswith(f"{position(path, '5785')}: hamlets[1].sectors[0].frequency: ")
    assert "sec-sukadana-2 (sector-radio, 5785 MHz/40) overlaps sec-sukadana-1" in warning
    assert "free on this mast: 5725-5765 MHz (centre 5745 for 40 MHz)" in warning


def test_validate_prints_warnings_and_succeeds(inv_dir: Path) -> None:
    from click.testing import CliRunner

    from kopnet_iac.cli.main import cli

    path = village(inv_dir, "sukadana")
    edit(path, "frequency: 5745, channel_width: 20", "frequency: 5775, channel_width: 20")
    result = CliRunner().invoke(cli, ["--inventory", str(inv_dir), "validate"])
    assert result.exit_code == 0, result.output
    assert "warning: " in result.output and "overlaps sec-sukadana-1" in result.output
    result = CliRunner().invoke(cli, ["--inventory", str(inv_dir), "validate", "--json"])
    assert result.exit_code == 0 and '"warnings"' in result.output


@pytest.mark.parametrize(
    ("used", "width", "expected"),
    [
        ([], 20, "5725-5825 MHz (centre 5735 for 20 MHz)"),
        ([(5725, 5745), (5755, 5825)], 20, "no gap fits 20 MHz (free: 5745-5755 MHz); use a"),
        ([(5735, 5815)], 10, "5725-5735 MHz (centre 5730 for 10 MHz), 5815-5825 MHz (centre"),
    ],
)
def test_free_spectrum_messages(used: list[tuple[float, float]], width: int, expected: str) -> None:
    assert format_free(free_spectrum(used, BAND), width).startswith(expected)


# --------------------------------------------------------------------------- management path


def test_backhaul_behind_the_gateway_extends_the_management_vlan() -> None:
    inv = load_inventory(EXAMPLE)
    v = inv.village("lebung-itam")
    path = management_path(v, {d.hostname: inv.hardware_of(d).ports for d in v.devices})
    assert path.via_gateway and path.unreachable == {}
    assert path.ports["gw-lebung-itam"] == ("enp1s0", "enp2s0")
    assert "ether1" in path.ports["core-lebung-itam"]
    assert path.edge_ports == {"bh-lebung-itam-a": ("eth0",)}  # its cable to the ISP edge
    assert path.reachable >= {d.hostname for d in v.devices if d.role != "gateway"}


def test_villages_without_radios_at_the_gateway_keep_the_vlan_off_it() -> None:
    inv = load_inventory(EXAMPLE)
    for vid in ("sukadana", "pematang-panggang"):
        v = inv.village(vid)
        path = management_path(v, {d.hostname: inv.hardware_of(d).ports for d in v.devices})
        gateway = next(d.hostname for d in v.devices if d.role == "gateway")
        assert not path.via_gateway and path.ports[gateway] == () and path.unreachable == {}


def test_radio_behind_another_village_device_is_unreachable(inv_dir: Path) -> None:
    path = village(inv_dir, "pematang-panggang")
    # cut the cable from the core router to the backhaul: the far hamlet's radios float
    edit(path, '  - {a: "core-pematang:ether4", b: "bh-pematang-a:ether1"}\n', "")
    found = problems(inv_dir)
    unreachable = [p for p in found if "is unreachable" in p]
    assert len(unreachable) == 3
    assert any(
        p.startswith(f"{position(path, 'bh-pematang-a, role')}: devices[4].hostname: ")
        and "no chain of links carrying the management VLAN leads from the core router" in p
        for p in unreachable
    )
    assert {p.split("management address of ")[1].split(" ")[0] for p in unreachable} == {
        "bh-pematang-a",
        "bh-pematang-b",
        "sec-pematang-3",
    }


def test_management_walk_does_not_cross_the_gateway_toward_a_core_port() -> None:
    """A sector cabled only to the gateway (not a backhaul) is not bridged by the gateway."""
    v = Village.model_validate(
        {
            "id": "x",
            "name": "X",
            "district": "D",
            "location": {"lat": -3, "lon": 105},
            "uplink": {"type": "fiber", "bandwidth_mbps": 10},
            "devices": [
                {"hostname": "gw", "role": "gateway", "model": "m", "serial": "S001", "credentials": "c"},
                {"hostname": "core", "role": "core-router", "model": "m", "serial": "S002", "credentials": "c"},
                {"hostname": "sec", "role": "sector-radio", "model": "m", "serial": "S003", "credentials": "c"},
            ],
            "links": [{"a": "gw:enp2s0", "b": "core:ether1"}, {"a": "gw:enp3s0", "b": "sec:eth0"}],
            "hamlets": [{"id": "h", "name": "H", "vlan": 10}],
            "services": {"pppoe_plans": ["p"]},
        }
    )  # fmt: skip
    path = management_path(v, {})
    assert not path.via_gateway
    assert "sec" in path.unreachable and "no chain of links" in path.unreachable["sec"]


# --------------------------------------------------------------------------- catalogue


def test_wireless_model_must_state_its_radio_standard(inv_dir: Path) -> None:
    hw = inv_dir / "hardware.yaml"
    edit(hw, "    radio_standard: 802.11ac\n", "", count=5)
    found = problems(inv_dir)
    assert len([p for p in found if "needs radio_standard" in p]) == 5
    assert any(p.startswith(f"{hw}:") and "models.mANTBox-19s: " in p for p in found)


def test_radio_standard_picks_the_band() -> None:
    inv = load_inventory(EXAMPLE)
    assert inv.hardware.models["mANTBox-19s"].radio_standard == "802.11ac"


# --------------------------------------------------------------------------- duplicates


def test_duplicate_serial_is_reported_at_the_newcomer(inv_dir: Path) -> None:
    """A new village (not in the lock yet) reusing a serial is blamed, whatever the file order."""
    src = village(inv_dir, "sukadana").read_text()
    new = inv_dir / "villages" / "aaa-baru.yaml"  # sorts before every example village
    text = src.replace("id: sukadana", "id: aaa-baru").replace("sukadana", "baru")
    text = text.replace("wifi-baru", "wifi-sukadana")
    for old in ("APU-7F3A21", "HE10A8F2K91", "HD70B1C2Q44"):
        text = text.replace(old, old + "X")  # only sec-sukadana-2's serial stays the same
    new.write_text(text)
    found = problems(inv_dir, check_lock=False)
    dup = [p for p in found if "duplicate serial" in p]
    original = village(inv_dir, "sukadana")
    assert dup == [
        f"{position(new, '7483C2A1B9F0')}: devices[3].serial: duplicate serial '7483C2A1B9F0' "
        f"(first at {original}:{position(original, '7483C2A1B9F0').split(':')[1]})"
    ]


# --------------------------------------------------------------------------- services


def test_hamlet_hotspot_plans_override_the_village_list() -> None:
    inv = load_inventory(EXAMPLE)
    v = inv.village("pematang-panggang")
    by_id = {h.id: v.hotspot_plans_of(h) for h in v.hamlets}
    assert by_id == {
        "dusun-1": ["voucher-harian"],
        "dusun-2": [],
        "dusun-3": ["voucher-harian", "voucher-mingguan"],
    }
    assert [h.id for h in v.hotspot_hamlets()] == ["dusun-1", "dusun-3"]


def test_hamlet_hotspot_plan_must_be_a_hotspot_plan(inv_dir: Path) -> None:
    path = village(inv_dir, "pematang-panggang")
    edit(path, "hotspot_plans: [voucher-harian]   #", "hotspot_plans: [hemat-5]   #")
    (line,) = [p for p in problems(inv_dir) if "not hotspot" in p]
    assert line == (
        f"{position(path, 'hemat-5]')}: hamlets[0].hotspot_plans[0]: plan 'hemat-5' is a pppoe "
        "plan, not hotspot"
    )


# --------------------------------------------------------------------------- unit hints


def test_fractional_frequency_and_rate_with_a_unit_get_examples(inv_dir: Path) -> None:
    path = village(inv_dir, "sukadana")
    edit(path, "frequency: 5745, channel_width: 20", "frequency: 5745.5, channel_width: 20")
    fleet = inv_dir / "fleet.yaml"
    edit(fleet, "kind: pppoe, download: 5M,", "kind: pppoe, download: 7 Mbps,")
    found = problems(inv_dir)
    assert (
        f"{position(path, '5745.5')}: hamlets[0].sectors[0].frequency: Input should be a valid "
        "integer, got a number with a fractional part (got 5745.5); frequencies are whole MHz "
        "(the channel centre), e.g. 5745"
    ) in found
    assert (
        f"{position(fleet, '7 Mbps')}: plans[0].download: String should match pattern "
        "'^[0-9]+[kKMG]?$' (got '7 Mbps'); write a rate as a whole number with an optional k, M "
        "or G suffix, no space or unit: 7M"
    ) in found


@pytest.mark.parametrize(
    ("loc", "kind", "value", "expected"),
    [
        (("plans", 1, "upload"), "string_pattern_mismatch", "512 kbps", "no space or unit: 512k"),
        (("plans", 1, "upload"), "string_pattern_mismatch", "10mb", "no space or unit: 10M"),
        (("plans", 1, "upload"), "string_pattern_mismatch", "fast", "e.g. 10M (10 Mbit/s)"),
        (("x", "frequency"), "int_from_float", 5.745, "e.g. 5745"),
        (("x", "frequency"), "int_parsing", "5745 MHz", "e.g. 5745"),
        (("x", "frequency"), "less_than_equal", 60000, "e.g. 5745"),
        (("x", "channel_width"), "literal_error", 25, "10, 20, 40 or 80, e.g. 20"),
        (("uplink", "bandwidth_mbps"), "int_parsing", "200 Mbps", "e.g. 200"),
        (("x", "distance_km"), "float_parsing", "7 km", "e.g. 7.5"),
        (("x", "vlan"), "less_than_equal", 5000, "from 2 to 4094"),
    ],
)
def test_unit_hints(loc: tuple[str | int, ...], kind: str, value: object, expected: str) -> None:
    hint = unit_hint(loc, kind, value)
    assert hint is not None and expected in hint


def test_missing_radio_geometry_says_what_to_write(inv_dir: Path) -> None:
    path = village(inv_dir, "lebung-itam")
    edit(path, ", distance_km: 7.5}", "}")
    (line,) = problems(inv_dir)
    assert (
        line.startswith(f"{path}:")
        and "links[0].radio.distance_km: missing required key 'distance_km'" in line
    )
    assert "e.g. distance_km: 7.5 (it sets RouterOS nv2-cell-radius" in line


def test_no_hint_for_unrelated_errors() -> None:
    assert unit_hint(("devices", 0, "hostname"), "string_pattern_mismatch", "GW 1") is None
    assert unit_hint(("x", "frequency"), "missing", None) is None
    assert unit_hint(("x", "ssid"), "missing", None) is None
    assert unit_hint((), "int_parsing", "x") is None


def test_schema_carries_ranges_for_editors() -> None:
    from kopnet_iac.inventory.schema import json_schema

    village_schema = json_schema("village")
    defs = village_schema["$defs"]
    sector = defs["Sector"]["properties"]
    assert (sector["frequency"]["minimum"], sector["frequency"]["maximum"]) == (2400, 6000)
    assert sector["channel_width"]["enum"] == [10, 20, 40, 80]
    assert (defs["Hamlet"]["properties"]["vlan"]["minimum"], 4094) == (2, 4094)
    radio = defs["RadioParams"]["properties"]
    assert radio["frequency"]["maximum"] == 6000 and radio["distance_km"]["maximum"] == 100
    hardware = json_schema("hardware")["$defs"]["HardwareModel"]["properties"]
    assert (hardware["max_channel_width"]["minimum"], hardware["max_channel_width"]["maximum"]) == (
        10,
        160,
    )
