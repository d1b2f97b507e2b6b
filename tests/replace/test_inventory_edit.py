"""The serial edit of a village file changes that value and nothing else, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kopnet_iac.errors import KopnetError
from kopnet_iac.replace.inventory_edit import plan_serial_edit, yaml_scalar
from tests.conftest import EXAMPLE_FLEET

BLOCK = """\
# Desa Contoh: block style, comments everywhere
id: contoh   # the file name
devices:
  # the core router
  - hostname: core-contoh
    role: core-router
    model: RB5009UG+S+IN
    serial: 'HE10OLD01'   # label on the box
    credentials: core-admin
  - hostname: sec-contoh-1 # sector
    serial: HE10OLD01X
"""


def test_flow_style_file_of_the_example_fleet(tmp_path: Path) -> None:
    path = tmp_path / "lebung-itam.yaml"
    original = (EXAMPLE_FLEET / "villages" / "lebung-itam.yaml").read_bytes()
    path.write_bytes(original)
    edit = plan_serial_edit(path, "bh-lebung-itam-a", "02C5577A3586")
    assert edit.old == "F09FC2A0B101" and edit.changed
    edit.write()
    after = path.read_bytes()
    assert after == original.replace(b"F09FC2A0B101", b"02C5577A3586", 1)
    assert edit.diff().count("\n-  ") == 1 and edit.diff().count("\n+  ") == 1
    assert yaml.safe_load(after)["devices"][2]["serial"] == "02C5577A3586"


def test_block_style_quoted_value_and_comments_kept(tmp_path: Path) -> None:
    path = tmp_path / "contoh.yaml"
    path.write_text(BLOCK)
    edit = plan_serial_edit(path, "core-contoh", "HE10NEW02")
    edit.write()
    after = path.read_text()
    assert after == BLOCK.replace("'HE10OLD01'", "HE10NEW02", 1)
    # the other device's serial starting with the same text is untouched
    assert "serial: HE10OLD01X" in after


def test_crlf_line_endings_survive(tmp_path: Path) -> None:
    path = tmp_path / "crlf.yaml"
    original = BLOCK.replace("\n", "\r\n").encode()
    path.write_bytes(original)
    plan_serial_edit(path, "sec-contoh-1", "NEW-9").write()
    assert path.read_bytes() == original.replace(b"HE10OLD01X", b"NEW-9", 1)


def test_a_value_that_needs_quotes_is_quoted() -> None:
    assert yaml_scalar("HE10A8F2K91") == "HE10A8F2K91"
    assert yaml_scalar("0123") == '"0123"'  # plain would read back as a number
    assert yaml_scalar("a: b") == '"a: b"'
    assert yaml_scalar("yes") == '"yes"'


def test_no_edit_when_the_serial_is_the_same(tmp_path: Path) -> None:
    path = tmp_path / "contoh.yaml"
    path.write_text(BLOCK)
    edit = plan_serial_edit(path, "sec-contoh-1", "HE10OLD01X")
    assert not edit.changed and edit.diff() == ""


def test_unknown_device_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "contoh.yaml"
    path.write_text(BLOCK)
    with pytest.raises(KopnetError, match="no device 'nope'"):
        plan_serial_edit(path, "nope", "X1234")
    assert path.read_text() == BLOCK


def test_mac_added_after_the_serial_in_flow_style(tmp_path: Path) -> None:
    path = tmp_path / "lebung-itam.yaml"
    original = (EXAMPLE_FLEET / "villages" / "lebung-itam.yaml").read_text()
    path.write_text(original)
    mac = "02:C5:57:7A:35:86"
    plan_serial_edit(path, "bh-lebung-itam-a", "02C5577A3586", mac).write()
    expected = original.replace("serial: F09FC2A0B101,", f'serial: 02C5577A3586, mac: "{mac}",', 1)
    assert path.read_text() == expected
    # again with another MAC: only its value changes
    plan_serial_edit(path, "bh-lebung-itam-a", "02C5577A3586", "02:00:00:00:00:01").write()
    assert path.read_text() == expected.replace(mac, "02:00:00:00:00:01")
    import shutil

    from kopnet_iac.inventory.loader import load_inventory

    copy = tmp_path / "fleet"
    shutil.copytree(EXAMPLE_FLEET, copy)
    shutil.copy(path, copy / "villages" / "lebung-itam.yaml")
    inv = load_inventory(copy)  # the edited file still validates, the MAC is a field
    device = next(d for d in inv.village("lebung-itam").devices if d.hostname == "bh-lebung-itam-a")
    assert device.mac == "02:00:00:00:00:01"


def test_mac_added_below_the_serial_in_block_style(tmp_path: Path) -> None:
    for newline in ("\n", "\r\n"):
        path = tmp_path / "contoh.yaml"
        original = BLOCK.replace("\n", newline)
        path.write_bytes(original.encode())
        plan_serial_edit(path, "core-contoh", "HE10NEW02", "4A:00:00:00:00:01").write()
        expected = original.replace(
            f"'HE10OLD01'   # label on the box{newline}",
            f'HE10NEW02   # label on the box{newline}    mac: "4A:00:00:00:00:01"{newline}',
        )
        assert path.read_bytes() == expected.encode()
