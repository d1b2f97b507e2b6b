"""Build folder writing (unchanged files linked, manifest), parallel rendering, lock narrowing."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from benchmarks.fleetgen import generate_fleet
from kopnet_iac.errors import RenderError
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.render.gitcompare import narrow_lock
from kopnet_iac.render.output import BUILD_MANIFEST, write_build
from kopnet_iac.render.parallel import fork_allowed, render_villages_parallel
from kopnet_iac.render.renderer import Artifact, Renderer
from tests.render.conftest import EXAMPLE_INVENTORY, TEMPLATES


def _art(path: str, text: str) -> Artifact:
    village, _, name = path.partition("/")
    return Artifact(village, name.split(".")[0], "routeros", "core-router", path, text)


def test_rewrite_keeps_unchanged_and_replaces_changed(tmp_path: Path) -> None:
    out = tmp_path / "build"
    first = [_art("v1/a.rsc", "one\n"), _art("v1/b.rsc", "two\n"), _art("v2/c.rsc", "three\n")]
    assert write_build(out, first, villages=["v1", "v2"], complete=True) == 3
    manifest = json.loads((out / BUILD_MANIFEST).read_text())
    assert sorted(manifest["files"]) == ["v1/a.rsc", "v1/b.rsc", "v2/c.rsc"]
    second = [_art("v1/a.rsc", "one\n"), _art("v1/b.rsc", "TWO\n")]
    write_build(out, second, villages=["v1"], complete=True)
    assert (out / "v1" / "a.rsc").read_text() == "one\n"
    assert (out / "v1" / "b.rsc").read_text() == "TWO\n"
    assert not (out / "v2").exists(), "complete build drops villages no longer rendered"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build"], "no temporary folders left"


def test_hand_edited_build_file_is_rewritten(tmp_path: Path) -> None:
    out = tmp_path / "build"
    arts = [_art("v1/a.rsc", "intended\n")]
    write_build(out, arts, villages=["v1"], complete=True)
    (out / "v1" / "a.rsc").write_text("edited by hand, longer\n")
    write_build(out, arts, villages=["v1"], complete=True)
    assert (out / "v1" / "a.rsc").read_text() == "intended\n"


def test_corrupt_manifest_is_ignored(tmp_path: Path) -> None:
    out = tmp_path / "build"
    write_build(out, [_art("v1/a.rsc", "x\n")], villages=["v1"], complete=True)
    (out / BUILD_MANIFEST).write_text("{not json")
    write_build(out, [_art("v1/a.rsc", "y\n")], villages=["v1"], complete=True)
    assert (out / "v1" / "a.rsc").read_text() == "y\n"


def test_partial_build_keeps_other_villages(tmp_path: Path) -> None:
    out = tmp_path / "build"
    write_build(
        out,
        [_art("v1/a.rsc", "1\n"), _art("v2/b.rsc", "2\n")],
        villages=["v1", "v2"],
        complete=True,
    )
    write_build(out, [_art("v2/b.rsc", "22\n")], villages=["v2"], complete=False)
    assert (out / "v1" / "a.rsc").read_text() == "1\n"
    assert (out / "v2" / "b.rsc").read_text() == "22\n"
    assert sorted(json.loads((out / BUILD_MANIFEST).read_text())["files"]) == [
        "v1/a.rsc",
        "v2/b.rsc",
    ]


def test_unwritable_target_is_a_render_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RenderError, match="build folder"):
        write_build(blocker / "build", [_art("v1/a.rsc", "x\n")], villages=["v1"], complete=True)


@pytest.fixture(scope="module")
def fleet70(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fleet") / "inventory"
    generate_fleet(root, villages=70, seed=3)
    return root


def test_parallel_render_equals_sequential(fleet70: Path) -> None:
    inv = load_inventory(fleet70)
    ids = sorted(inv.villages)
    sequential = Renderer(TEMPLATES).render_villages(inv, ids)
    parallel = render_villages_parallel(Renderer(TEMPLATES), inv, ids, jobs=2)
    assert parallel == sequential


def test_parallel_render_reports_the_failing_host(fleet70: Path, templates_copy: Path) -> None:
    core = templates_copy / "routeros" / "core-router" / "core.rsc.j2"
    core.write_text(core.read_text() + '{% if village.id == "desa-0050" %}{{ oops }}{% endif %}\n')
    inv = load_inventory(fleet70)
    with pytest.raises(RenderError) as info:
        render_villages_parallel(Renderer(templates_copy), inv, sorted(inv.villages), jobs=2)
    assert info.value.village == "desa-0050" and info.value.host == "core-0050"
    assert "core.rsc.j2:" in str(info.value) and "oops" in str(info.value)


def test_narrow_lock_keeps_only_wanted_villages(inventory_copy: Path) -> None:
    narrow_lock(inventory_copy, {"sukadana"})
    text = (inventory_copy / "addresses.lock.yaml").read_text()
    assert "  sukadana:\n" in text
    assert "lebung-itam" not in text and "pematang" not in text
    # still a valid lock for the village that is rendered
    for other in ("lebung-itam", "pematang-panggang"):
        (inventory_copy / "villages" / f"{other}.yaml").unlink()
    inv = load_inventory(inventory_copy)
    artifacts = Renderer(TEMPLATES).render_villages(inv, ["sukadana"])
    full = Renderer(TEMPLATES).render_villages(load_inventory(EXAMPLE_INVENTORY), ["sukadana"])
    assert artifacts == full


def test_refuses_to_replace_a_folder_that_is_not_a_build(tmp_path: Path) -> None:
    precious = tmp_path / "project"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me\n")
    with pytest.raises(RenderError, match="not a KopNet build folder"):
        write_build(precious, [_art("v1/a.rsc", "x\n")], villages=["v1"], complete=True)
    assert (precious / "notes.txt").read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]
    empty = tmp_path / "empty"
    empty.mkdir()
    write_build(empty, [_art("v1/a.rsc", "x\n")], villages=["v1"], complete=True)
    assert (empty / "v1" / "a.rsc").read_text() == "x\n"
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(RenderError, match="not a folder"):
        write_build(a_file, [_art("v1/a.rsc", "x\n")], villages=["v1"], complete=True)


def test_parallel_render_stays_sequential_when_threads_run(fleet70: Path) -> None:
    inv = load_inventory(fleet70)
    ids = sorted(inv.villages)
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait, daemon=True)
    worker.start()
    try:
        assert not fork_allowed()
        result = render_villages_parallel(Renderer(TEMPLATES), inv, ids, jobs=2)
    finally:
        stop.set()
        worker.join()
    assert result == Renderer(TEMPLATES).render_villages(inv, ids)
