"""A user's fleet is theirs: adding a village to ``inventory/`` the way its README says keeps the
inventory-dependent checks green.

The suite reads its own copy of the example fleet (``tests/fixtures/fleet``), never what a user
keeps in ``inventory/``. This test does the opposite on purpose: it copies the user's inventory,
adds a village as ``inventory/README.md`` describes (start from a copy of an existing village
file, then ``kopnet addresses update``), and runs the checks that depend on an inventory:
validation, rendering, RouterOS parse + lint of the rendered files and the regulatory rules.
It is written against whatever ``inventory/`` holds, so it keeps passing after the user's edits.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kopnet_iac.cli.main import cli
from kopnet_iac.inventory.addressing import village_addressing
from kopnet_iac.inventory.loader import Inventory, load_inventory
from kopnet_iac.inventory.lockfile import LOCK_FILE, update_lock
from kopnet_iac.platforms.routeros.lint import lint
from kopnet_iac.platforms.routeros.parser import parse_export
from kopnet_iac.render.renderer import Artifact, render_inventory
from tests.conftest import EXAMPLE_FLEET, USER_INVENTORY


def _free_id(root: Path) -> str:
    """A village id the user's inventory does not use yet."""
    taken = {p.stem for p in (root / "villages").glob("*.yaml")}
    return next(c for c in (f"tanjung-baru-{n}" for n in range(1, 100)) if c not in taken)


NEW_ID = _free_id(USER_INVENTORY)


def _rename(text: str, old: str, new: str) -> str:
    """Replace the whole name ``old`` (not a part of a longer name) by ``new``."""
    return re.sub(rf"(?<![A-Za-z0-9_-]){re.escape(old)}(?![A-Za-z0-9_-])", new, text)


def _values_of(data: object, field: str) -> list[str]:
    """Every string value of ``field`` anywhere in a YAML document."""
    if isinstance(data, dict):
        found = [str(v) for k, v in data.items() if k == field and isinstance(v, str)]
        return found + [x for v in data.values() for x in _values_of(v, field)]
    if isinstance(data, list):
        return [x for v in data for x in _values_of(v, field)]
    return []


def _declare_secret(fleet: Path, name: str) -> None:
    """Add ``name`` under ``secrets:`` in fleet.yaml, keeping the user's formatting."""
    lines = fleet.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.rstrip() == "secrets:")
    indent = re.match(r"\s*", lines[at + 1]).group(0) if at + 1 < len(lines) else "  "  # type: ignore[union-attr]
    lines.insert(
        at + 1, f"{indent}{name}: {{description: sector key of a village added by a test}}\n"
    )
    fleet.write_text("".join(lines))


def add_village(root: Path, new_id: str) -> Path:
    """Add a village to the inventory at ``root`` the way inventory/README.md says: copy an
    existing village file, give the copy its own id, hostnames and serials (unique in the fleet)
    and its own sector keys (declared in fleet.yaml), then allocate its addresses (``kopnet
    addresses update``, through the library). Returns the new file."""
    villages = sorted((root / "villages").glob("*.yaml"))
    assert villages, f"no village in {root} to start from"
    source = villages[0]
    data = yaml.safe_load(source.read_text())
    text = source.read_text()
    text = re.sub(r"(?m)^id:.*$", f"id: {new_id}", text, count=1)
    text = re.sub(r"(?m)^name:.*$", f"name: Desa {new_id.replace('-', ' ').title()}", text, count=1)
    for device in data["devices"]:
        text = _rename(text, device["hostname"], f"{device['hostname']}-{new_id}"[:63])
        text = _rename(text, str(device["serial"]), f"{device['serial']}-{new_id}")
    # the village's own radio keys get their own secrets, declared (by name) in fleet.yaml
    own_keys = sorted({k for k in _values_of(data, "key") if data["id"] in k})
    for key in own_keys:
        text = _rename(text, key, key.replace(data["id"], new_id))
        _declare_secret(root / "fleet.yaml", key.replace(data["id"], new_id))
    target = root / "villages" / f"{new_id}.yaml"
    assert not target.exists()
    target.write_text(text)
    _, report = update_lock(load_inventory(root, check_lock=False))
    assert not report.failed, report.failed
    assert any(new_id in line for line in report.added), report.added
    return target


@pytest.fixture(scope="module")
def user_fleet(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    """The user's inventory/ copied, plus one new village; loaded with its lock checked."""
    root = tmp_path_factory.mktemp("user") / "inventory"
    shutil.copytree(USER_INVENTORY, root)
    add_village(root, NEW_ID)
    return load_inventory(root)


@pytest.fixture(scope="module")
def artifacts(user_fleet: Inventory) -> list[Artifact]:
    return render_inventory(user_fleet)


def test_the_suite_reads_its_own_copy_of_the_example_fleet() -> None:
    assert EXAMPLE_FLEET.resolve() != USER_INVENTORY.resolve()
    assert (EXAMPLE_FLEET / "fleet.yaml").is_file() and (EXAMPLE_FLEET / LOCK_FILE).is_file()


def test_new_village_validates(user_fleet: Inventory) -> None:
    assert NEW_ID in user_fleet.villages
    result = CliRunner().invoke(cli, ["--inventory", str(user_fleet.root), "validate"])
    assert result.exit_code == 0, result.output


def test_adding_a_village_renumbers_nobody(user_fleet: Inventory) -> None:
    before = load_inventory(USER_INVENTORY, check_lock=False).lock
    assert before is not None and user_fleet.lock is not None
    for village_id, allocation in before.villages.items():
        assert user_fleet.lock.villages[village_id] == allocation, village_id
    assert NEW_ID in user_fleet.lock.villages


def test_every_village_renders_including_the_new_one(
    user_fleet: Inventory, artifacts: list[Artifact]
) -> None:
    hosts = {a.host for a in artifacts if a.village == NEW_ID}
    assert hosts == {d.hostname for d in user_fleet.villages[NEW_ID].devices}
    assert {a.village for a in artifacts} == set(user_fleet.villages)


def test_rendered_routeros_files_parse_and_pass_lint(
    user_fleet: Inventory, artifacts: list[Artifact]
) -> None:
    rsc = [a for a in artifacts if a.path.endswith(".rsc")]
    assert any(a.village == NEW_ID for a in rsc)
    for artifact in rsc:
        config = parse_export(artifact.text, artifact.path)
        addr = village_addressing(user_fleet, artifact.village)
        findings = lint(
            config,
            mgmt_networks=[*user_fleet.fleet.noc.networks, str(addr.management)],
            noc_networks=user_fleet.fleet.noc.networks,
        )
        assert findings == [], (artifact.path, [str(f) for f in findings])


def test_rendered_radios_follow_the_indonesian_rules(artifacts: list[Artifact]) -> None:
    for artifact in artifacts:
        assert "no_country_set" not in artifact.text and "superchannel" not in artifact.text
        if artifact.path.endswith(".cfg"):
            assert "radio.countrycode=360\n" in artifact.text, artifact.path


def test_rendered_files_carry_secret_placeholders_only(
    user_fleet: Inventory, artifacts: list[Artifact]
) -> None:
    """The new village's files name secrets as placeholders, like every other village's."""
    new = [a for a in artifacts if a.village == NEW_ID]
    assert any("@@secret:" in a.text for a in new)
