"""Loading the example fleet; schema and YAML mistakes reported at their exact position."""

from __future__ import annotations

from pathlib import Path

import pytest

from kopnet_iac.errors import InventoryError
from kopnet_iac.inventory.loader import load_inventory
from tests.inventory.conftest import EXAMPLE, edit, position, problems, village


def test_example_fleet_loads() -> None:
    inv = load_inventory(EXAMPLE)
    assert sorted(inv.villages) == ["lebung-itam", "pematang-panggang", "sukadana"]
    assert {v.uplink.type for v in inv.villages.values()} == {"fiber", "ptp-radio", "vsat"}
    core = inv.village("sukadana").devices[1]
    assert core.hostname == "core-sukadana"
    assert inv.hardware_of(core).platform == "routeros"
    assert inv.fleet.partner_isp.uplinks["vsat"].routing == "static"
    assert inv.lock is not None and set(inv.lock.villages) == set(inv.villages)
    assert inv.device("sec-pematang-3")[0].id == "pematang-panggang"
    with pytest.raises(KeyError):
        inv.device("no-such-host")


def test_unknown_key_points_at_the_key_and_missing_key_at_the_mapping(inv_dir: Path) -> None:
    path = village(inv_dir, "sukadana")
    edit(path, "serial: APU-7F3A21", "serail: APU-7F3A21")
    found = problems(inv_dir)
    assert found == [
        f"{position(path, '{hostname: gw-sukadana')}: devices[0].serial: missing required key 'serial'",
        f"{position(path, 'serail')}: devices[0].serail: unknown key 'serail' (did you mean 'serial'?)",
    ]


def test_wrong_value_points_at_the_value(inv_dir: Path) -> None:
    path = village(inv_dir, "sukadana")
    edit(path, "frequency: 5745, channel_width: 20", "frequency: 5745, channel_width: 30")
    (line,) = problems(inv_dir)
    assert line.startswith(f"{position(path, '30, key')}: hamlets[0].sectors[0].channel_width: ")
    assert "Input should be 10, 20, 40 or 80" in line and "(got 30)" in line


def test_wrong_type_and_top_level_missing_key(inv_dir: Path) -> None:
    path = village(inv_dir, "sukadana")
    edit(path, "bandwidth_mbps: 200", "bandwidth_mbps: lots")
    edit(path, "district: Kayuagung\n", "")
    found = problems(inv_dir)
    assert f"{position(path, 'id: sukadana')}: district: missing required key 'district'" in found
    (wrong,) = [p for p in found if "bandwidth_mbps" in p]
    assert wrong.startswith(f"{position(path, 'lots')}: uplink.bandwidth_mbps: ")
    assert "valid integer" in wrong


def test_unknown_key_far_from_a_field_lists_the_allowed_keys(inv_dir: Path) -> None:
    path = inv_dir / "fleet.yaml"
    edit(path, "  syslog: 10.255.0.14\n", "  syslog: 10.255.0.14\n  zzz: 1\n")
    (line,) = problems(inv_dir)
    assert line == (
        f"{position(path, 'zzz')}: noc.zzz: unknown key 'zzz' "
        "(allowed: api_certificate, controller_key_login, device_user, dns, networks, ntp, snmp, ssh_keys, syslog)"
    )


def test_country_must_be_indonesia(inv_dir: Path) -> None:
    path = inv_dir / "fleet.yaml"
    edit(path, "country: indonesia", "country: malaysia")
    (line,) = problems(inv_dir)
    assert line.startswith(
        f"{position(path, 'malaysia')}: fleet.country: Input should be 'indonesia'"
    )


def test_bad_address_in_fleet(inv_dir: Path) -> None:
    path = inv_dir / "fleet.yaml"
    edit(path, "syslog: 10.255.0.14", "syslog: 10.255.0.300")
    (line,) = problems(inv_dir)
    assert line.startswith(f"{position(path, '10.255.0.300')}: noc.syslog: ")
    assert "does not appear to be an IPv4 or IPv6 address" in line


def test_hardware_unknown_platform(inv_dir: Path) -> None:
    path = inv_dir / "hardware.yaml"
    edit(path, "    platform: linux\n", "    platform: freebsd\n")
    (line,) = problems(inv_dir)
    assert line.startswith(f"{position(path, 'freebsd')}: models.APU4D4.platform: Input should be")


def test_yaml_syntax_error_position(inv_dir: Path) -> None:
    path = village(inv_dir, "sukadana")
    edit(path, "name: Desa Sukadana", "name: Desa: Sukadana")
    (line,) = problems(inv_dir)
    assert line == (
        f"{position(path, ': Sukadana')}: YAML syntax error: mapping values are not allowed in this context"
    )


def test_unclosed_flow_mapping(inv_dir: Path) -> None:
    path = village(inv_dir, "lebung-itam")
    edit(path, "credentials: gw-admin}", "credentials: gw-admin")
    (line,) = problems(inv_dir)
    assert line.startswith(f"{path}:12:")  # the next line, where the parser gives up
    assert "YAML syntax error" in line and "flow mapping" in line


def test_duplicate_key_is_an_error(inv_dir: Path) -> None:
    path = village(inv_dir, "sukadana")
    edit(path, "district: Kayuagung\n", "district: Kayuagung\ndistrict: Pedamaran\n")
    (line,) = problems(inv_dir)
    assert line == (
        f"{position(path, 'district', 2)}: district: duplicate key 'district' "
        "(the earlier value would be silently ignored)"
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "missing required key 'id'"),
        ("- just\n- a list\n", "expected a mapping of keys at the top of the file"),
    ],
)
def test_empty_or_non_mapping_village(inv_dir: Path, text: str, fragment: str) -> None:
    path = village(inv_dir, "kosong")
    path.write_text(text)
    found = [p for p in problems(inv_dir) if p.startswith(str(path))]
    assert found and found[0].startswith(f"{path}:1:1: ")
    assert any(fragment in p for p in found)


def test_not_utf8(inv_dir: Path) -> None:
    path = village(inv_dir, "latin")
    path.write_bytes(b"id: latin\nname: Desa \xe9\n")
    (line,) = problems(inv_dir)
    assert line.startswith(f"{path}:1:1: cannot read file")


def test_missing_fleet_file(inv_dir: Path) -> None:
    (inv_dir / "fleet.yaml").unlink()
    found = problems(inv_dir)
    assert found == [f"{inv_dir / 'fleet.yaml'}:1:1: file not found"]


def test_every_file_reports_in_one_run(inv_dir: Path) -> None:
    """Schema mistakes in several files, a YAML error and semantic ones: all, sorted."""
    sukadana = village(inv_dir, "sukadana")
    lebung = village(inv_dir, "lebung-itam")
    pematang = village(inv_dir, "pematang-panggang")
    edit(sukadana, "vlan: 102", "vlan: 101")  # semantic
    edit(sukadana, "credentials: core-admin}", "credentials: core-admn}")  # semantic
    edit(lebung, "households: 95", "households: -5")  # schema
    edit(pematang, "rtt_ms: 600", "rtt_ms: [600")  # YAML
    (inv_dir / "hardware.yaml").write_text(
        (inv_dir / "hardware.yaml").read_text().replace("vendor: PC Engines", "vendr: PC Engines")
    )
    found = problems(inv_dir)
    files = [p.split(":", 1)[0] for p in found]
    assert str(sukadana) in files and str(lebung) in files and str(pematang) in files
    assert str(inv_dir / "hardware.yaml") in files
    assert len(found) >= 5
    assert found == sorted(
        found, key=lambda p: (p.split(":")[0], int(p.split(":")[1]), int(p.split(":")[2]))
    )


def test_inventory_error_message_lists_every_problem(inv_dir: Path) -> None:
    edit(village(inv_dir, "sukadana"), "vlan: 102", "vlan: 101")
    edit(village(inv_dir, "sukadana"), "frequency: 5745", "frequency: 5600")
    with pytest.raises(InventoryError) as info:
        load_inventory(inv_dir)
    assert len(info.value.problems) == 2
    assert str(info.value).count("\n") == 1


def test_villages_are_checked_even_when_fleet_yaml_is_broken(inv_dir: Path) -> None:
    fleet = inv_dir / "fleet.yaml"
    path = village(inv_dir, "sukadana")
    edit(fleet, "management_vlan: 99", "management_vlan: 5000")
    edit(path, '"core-sukadana:ether3"', '"core-sukadana:ether2"')
    edit(path, "frequency: 5745", "frequency: 5600")
    found = problems(inv_dir)
    assert len(found) == 3
    assert found[0].startswith(f"{position(fleet, '5000')}: fleet.management_vlan: ")
    link_end = position(path, '"core-sukadana:ether2"', 2)
    assert found[1].startswith(f"{link_end}: ")
    assert "links[2].a: port core-sukadana:ether2 is already used" in found[1]
    assert "hamlets[0].sectors[0].frequency: 5600 MHz is outside the band" in found[2]
