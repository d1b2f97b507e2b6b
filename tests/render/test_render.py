"""Rendering the example fleet: determinism, atomic output, errors, secrets, platform rules.

Golden files live in tests/fixtures/render/<village>/<hostname>.<ext> (RouterOS and airOS,
i.e. the files of the templates this area owns). Regenerate them after an intended template
change with::

    KOPNET_UPDATE_GOLDEN=1 .venv/bin/pytest tests/render/test_render.py -k golden

(that run fails on purpose, so it can never pass silently), then review the fixture diff in
git like any other change and run again without the variable.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kopnet_iac.cli.main import cli
from kopnet_iac.errors import RenderError
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.render.renderer import Artifact, Renderer, render_device, render_inventory
from tests.render.conftest import EXAMPLE_INVENTORY, REPO, TEMPLATES

GOLDEN = REPO / "tests" / "fixtures" / "render"
OWN_PLATFORMS = ("routeros", "airos")


def _render_all(inventory: Path = EXAMPLE_INVENTORY, templates: Path = TEMPLATES) -> list[Artifact]:
    return Renderer(templates).render_villages(
        load_inventory(inventory), sorted(load_inventory(inventory).villages)
    )


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_golden_files_match() -> None:
    artifacts = [a for a in _render_all() if a.platform in OWN_PLATFORMS]
    assert artifacts, "nothing rendered for RouterOS/airOS"
    if os.environ.get("KOPNET_UPDATE_GOLDEN") == "1":
        for old in GOLDEN.rglob("*"):
            if old.is_file():
                old.unlink()
        for a in artifacts:
            (GOLDEN / a.path).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / a.path).write_bytes(a.text.encode())
        pytest.fail(
            "KOPNET_UPDATE_GOLDEN=1: golden files rewritten; review `git diff tests/fixtures/render`"
            " and run again without it"
        )
    expected = _tree(GOLDEN)
    actual = {a.path: a.text.encode() for a in artifacts}
    assert sorted(actual) == sorted(expected), "set of rendered files changed (see module doc)"
    for path, data in actual.items():
        assert data == expected[path], f"{path} differs from its golden file (see module doc)"


def test_every_device_of_example_fleet_is_rendered() -> None:
    inv = load_inventory(EXAMPLE_INVENTORY)
    hosts = {(a.village, a.host) for a in _render_all()}
    for village in inv.villages.values():
        for device in village.devices:
            platform = inv.hardware_of(device).platform
            if platform in OWN_PLATFORMS:
                assert (village.id, device.hostname) in hosts


def test_cli_render_is_byte_identical_across_runs(inventory_copy: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    outs = []
    for name in ("one", "two"):
        out = tmp_path / name
        result = runner.invoke(
            cli, ["--inventory", str(inventory_copy), "render", "--all", "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        outs.append(_tree(out))
    assert outs[0] == outs[1]
    assert "sukadana/core-sukadana.rsc" in outs[0]
    assert "lebung-itam/bh-lebung-itam-a.cfg" in outs[0]
    for data in outs[0].values():
        assert b"\r" not in data and data.endswith(b"\n")


def test_render_selected_village_keeps_the_others(inventory_copy: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "build"
    base = ["--inventory", str(inventory_copy), "render", "--out", str(out)]
    assert runner.invoke(cli, [*base, "--all"]).exit_code == 0
    before = _tree(out)
    stale = out / "sukadana" / "leftover.txt"
    stale.write_text("old file\n")
    result = runner.invoke(cli, [*base, "sukadana", "--json"])
    assert result.exit_code == 0, result.output
    after = _tree(out)
    assert not stale.exists(), "the re-rendered village folder is replaced, not merged"
    assert after == before
    assert '"villages": [\n    "sukadana"\n  ]' in result.output


def test_error_in_second_village_leaves_previous_build_untouched(
    inventory_copy: Path, templates_copy: Path, tmp_path: Path
) -> None:
    out = tmp_path / "build"
    runner = CliRunner()
    args = ["--inventory", str(inventory_copy), "render", "--all", "--out", str(out)]
    assert runner.invoke(cli, [*args, "--templates", str(templates_copy)]).exit_code == 0
    before = _tree(out)
    core = templates_copy / "routeros" / "core-router" / "core.rsc.j2"
    # lebung-itam renders first (sorted), pematang-panggang second: break only the second
    core.write_text(
        core.read_text()
        + '{% if village.id == "pematang-panggang" %}{{ no_such_variable }}{% endif %}\n'
    )
    result = runner.invoke(cli, [*args, "--templates", str(templates_copy)])
    assert result.exit_code == 3
    assert "Traceback" not in result.output
    assert "core-pematang" in result.output
    assert _tree(out) == before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".build")]
    assert leftovers == [], "temporary build folders must be cleaned up"


def test_missing_variable_names_template_line_and_host(
    inventory_copy: Path, templates_copy: Path
) -> None:
    radio = templates_copy / "routeros" / "radio" / "wireless.rsc.j2"
    lines = radio.read_text().splitlines(keepends=True)
    lines.insert(40, "# {{ device.no_such_field }}\n")
    radio.write_text("".join(lines))
    inv = load_inventory(inventory_copy)
    with pytest.raises(RenderError) as info:
        render_inventory(inv, ["sukadana"], templates_copy)
    message = str(info.value)
    assert "routeros/radio/wireless.rsc.j2:41" in message
    assert "sukadana" in message and "sec-sukadana-1" in message
    assert "no_such_field" in message


def test_missing_variable_in_shared_macro_names_the_macro_file(
    inventory_copy: Path, templates_copy: Path
) -> None:
    macros = templates_copy / "routeros" / "common" / "macros.j2"
    text = macros.read_text().replace("set strong-crypto=yes", "set strong-crypto={{ fleet.nope }}")
    macros.write_text(text)
    with pytest.raises(RenderError) as info:
        render_inventory(load_inventory(inventory_copy), ["sukadana"], templates_copy)
    assert re.search(r"routeros/common/macros\.j2:\d+", str(info.value))
    assert "core-sukadana" in str(info.value)


def test_template_syntax_error_via_cli(inventory_copy: Path, templates_copy: Path) -> None:
    airos = templates_copy / "airos" / "radio" / "system.cfg.j2"
    airos.write_text(airos.read_text() + "{% if %}\n")
    result = CliRunner().invoke(
        cli,
        ["--inventory", str(inventory_copy), "render", "--all", "--templates", str(templates_copy),
         "--out", str(inventory_copy.parent / "out")],
    )  # fmt: skip
    assert result.exit_code == 3
    assert "Traceback" not in result.output
    assert re.search(r"airos/radio/system\.cfg\.j2:\d+: template syntax error", result.output)
    assert "bh-lebung-itam-a" in result.output
    assert not (inventory_copy.parent / "out").exists()


def test_malformed_inventory_reports_inventory_errors(inventory_copy: Path, tmp_path: Path) -> None:
    village = inventory_copy / "villages" / "sukadana.yaml"
    village.write_text(village.read_text().replace("bandwidth_mbps: 200", "bandwidth_mbps: lots"))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["--inventory", str(inventory_copy), "render", "--all", "--out", str(out)]
    )
    assert result.exit_code == 3
    assert "Traceback" not in result.output
    assert "sukadana.yaml" in result.output and "bandwidth_mbps" in result.output
    assert not out.exists()


def test_unknown_village_and_bad_arguments(inventory_copy: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--inventory", str(inventory_copy), "render", "desa-x"])
    assert result.exit_code == 3
    assert "unknown village" in result.output and "desa-x" in result.output
    result = runner.invoke(cli, ["--inventory", str(inventory_copy), "render"])
    assert result.exit_code != 0


def test_undeclared_secret_is_a_render_error(inventory_copy: Path, templates_copy: Path) -> None:
    core = templates_copy / "routeros" / "core-router" / "core.rsc.j2"
    core.write_text(core.read_text() + "# {{ secret('not-declared') }}\n")
    with pytest.raises(RenderError, match="not-declared"):
        render_inventory(load_inventory(inventory_copy), ["sukadana"], templates_copy)


def test_no_secret_value_in_output(
    inventory_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inv = load_inventory(inventory_copy)
    fake: dict[str, str] = {}
    for name in inv.fleet.secrets:
        value = f"fake-{name}-Zq7"
        fake[name] = value
        monkeypatch.setenv("KOPNET_SECRET_" + name.upper().replace("-", "_"), value)
    out = tmp_path / "build"
    result = CliRunner().invoke(
        cli, ["--inventory", str(inventory_copy), "render", "--all", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    blob = b"".join(_tree(out).values()).decode() + result.output
    for value in fake.values():
        assert value not in blob
    used = set(re.findall(r"@@secret:([a-z0-9_-]+)@@", blob))
    assert {"radius-secret", "snmp-community", "core-admin", "radio-admin", "backhaul-key"} <= used
    assert used <= set(inv.fleet.secrets)


def test_render_device_helper() -> None:
    files = render_device(load_inventory(EXAMPLE_INVENTORY), "sukadana", "sec-sukadana-2")
    assert list(files) == ["sec-sukadana-2.cfg"]
    assert "radio.countrycode=360" in files["sec-sukadana-2.cfg"]
