"""``kopnet diff``: render two git revisions of the repository and compare, per device.

Each side is the inventory folder and the templates at that revision (head defaults to the
working tree), rendered with the current code; no device is touched. To stay fast on a large
fleet, only what can differ is rendered: when nothing but village files changed, just those
villages are extracted and rendered on both sides; any change to fleet, hardware, lock or
templates renders everything.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from kopnet_iac.errors import InventoryError, InventoryProblem, RenderError, SourcePosition
from kopnet_iac.inventory.loader import Inventory, load_inventory
from kopnet_iac.inventory.lockfile import LOCK_FILE
from kopnet_iac.render.compare import DiffReport, compare_artifacts
from kopnet_iac.render.grouping import fleet_values
from kopnet_iac.render.parallel import render_villages_parallel
from kopnet_iac.render.renderer import Artifact, Renderer, default_templates_dir

log = logging.getLogger(__name__)

# File names are data, never pathspec magic (a village file named ":(glob)x" stays a name).
_GIT_ENV = {**os.environ, "GIT_LITERAL_PATHSPECS": "1"}


def _git(repo: Path, *args: str) -> bytes:
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            check=False,
            timeout=120,
            env=_GIT_ENV,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"cannot run git: {exc}", step="diff") from exc
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(
            f"git {args[0]} failed: {message[-1] if message else proc.returncode}", step="diff"
        )
    return proc.stdout


def _zsplit(data: bytes) -> list[str]:
    return [p.decode("utf-8") for p in data.split(b"\0") if p]


@dataclass(frozen=True)
class RepoLayout:
    """Where inventory and templates live inside the repository."""

    root: Path
    inventory: str  # posix path relative to root
    templates: str | None  # None: templates outside the repo (same on both sides)
    templates_dir: Path

    @classmethod
    def discover(cls, inventory_dir: Path, templates_dir: Path | None = None) -> RepoLayout:
        inventory_dir = inventory_dir.resolve()
        if not inventory_dir.is_dir():
            raise RenderError(f"inventory folder {inventory_dir} does not exist", step="diff")
        root = Path(_git(inventory_dir, "rev-parse", "--show-toplevel").decode().strip())
        root = root.resolve()
        tdir = (templates_dir or default_templates_dir(inventory_dir)).resolve()
        try:
            inv_rel = inventory_dir.relative_to(root).as_posix()
        except ValueError as exc:
            raise RenderError(
                f"{inventory_dir} is not inside the git repository", step="diff"
            ) from exc
        try:
            tpl_rel: str | None = tdir.relative_to(root).as_posix()
        except ValueError:
            tpl_rel = None
        return cls(root=root, inventory=inv_rel, templates=tpl_rel, templates_dir=tdir)

    def paths(self) -> list[str]:
        return [p for p in (self.inventory, self.templates) if p is not None]


def resolve_revision(layout: RepoLayout, rev: str) -> str:
    """The commit id of ``rev``; a clear error when git does not know it."""
    try:
        out = _git(
            layout.root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
        )
    except RenderError as exc:
        raise RenderError(f"unknown revision {rev!r}", step="diff") from exc
    return out.decode().strip()


def changed_paths(layout: RepoLayout, base: str, head: str | None) -> list[str]:
    """Repository paths under inventory/templates that differ between base and head."""
    spec = ["--", *layout.paths()]
    if head is not None:
        return _zsplit(
            _git(layout.root, "diff", "--name-only", "-z", "--no-renames", base, head, *spec)
        )
    tracked = _zsplit(_git(layout.root, "diff", "--name-only", "-z", "--no-renames", base, *spec))
    untracked = _zsplit(
        _git(layout.root, "ls-files", "-z", "--others", "--exclude-standard", *spec)
    )
    return sorted(set(tracked) | set(untracked))


def village_scope(layout: RepoLayout, paths: list[str]) -> set[str] | None:
    """Village file stems when only village files changed, else None (render everything)."""
    villages_dir = (
        PurePosixPath(layout.inventory, "villages")
        if layout.inventory != "."
        else PurePosixPath("villages")
    )
    stems: set[str] = set()
    for path in paths:
        p = PurePosixPath(path)
        if p.parent != villages_dir or p.suffix != ".yaml":
            return None
        stems.add(p.stem)
    return stems


def _rel(layout: RepoLayout, path: str) -> PurePosixPath:
    return (
        PurePosixPath(path).relative_to(layout.inventory)
        if layout.inventory != "."
        else PurePosixPath(path)
    )


def _under(path: str, folder: str) -> bool:
    return folder == "." or PurePosixPath(path).is_relative_to(folder)


def _wanted(layout: RepoLayout, path: str, stems: set[str] | None) -> bool:
    """Inside a subset extraction: inventory top-level files, wanted villages, templates."""
    if layout.templates is not None and PurePosixPath(path).is_relative_to(layout.templates):
        return True
    if not PurePosixPath(path).is_relative_to(layout.inventory) and layout.inventory != ".":
        return False
    rel = _rel(layout, path)
    if stems is None:
        return True
    if len(rel.parts) == 1:
        return True
    return (
        len(rel.parts) == 2
        and rel.parts[0] == "villages"
        and rel.stem in stems
        and rel.suffix == ".yaml"
    )


def extract_revision(layout: RepoLayout, commit: str, dest: Path, stems: set[str] | None) -> None:
    """Write the inventory (subset) and templates of ``commit`` under ``dest``."""
    listing = _zsplit(
        _git(layout.root, "ls-tree", "-r", "-z", "--name-only", commit, "--", *layout.paths())
    )
    files = [p for p in listing if _wanted(layout, p, stems)]
    if not files:
        raise RenderError(
            f"no inventory at {layout.inventory!r} in revision {commit[:12]}", step="diff"
        )
    if stems is None:  # everything: name the folders, not thousands of files
        files = [p for p in layout.paths() if any(_under(f, p) for f in files)]
    data = _git(layout.root, "archive", "--format=tar", commit, "--", *files)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:  # Python < 3.11.4; the archive comes from our own repository
            tar.extractall(dest)


def copy_worktree(layout: RepoLayout, dest: Path, stems: set[str]) -> None:
    """The working-tree subset: inventory top-level files and the wanted village files."""
    src = layout.root / layout.inventory
    target = dest / layout.inventory
    (target / "villages").mkdir(parents=True, exist_ok=True)
    for entry in src.iterdir():
        if entry.is_file():
            shutil.copy2(entry, target / entry.name)
    for stem in stems:
        village = src / "villages" / f"{stem}.yaml"
        if village.is_file():
            shutil.copy2(village, target / "villages" / village.name)


def narrow_lock(inv_root: Path, stems: set[str]) -> None:
    """Keep only the wanted villages in the extracted lock: the others are not rendered, and
    parsing and checking 1,000 allocations on both sides would cost more than the render.

    The lock is machine-written (``villages:`` then one two-space-indented block per village),
    so this is a line filter; anything unexpected is left for the loader to report.
    """
    path = inv_root / LOCK_FILE
    if not path.is_file():
        return
    kept: list[str] = []
    inside = False
    keep = True
    header = -1  # index of the "villages:" line in kept
    any_village = False
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if not line.startswith(" "):
            inside = line.rstrip() == "villages:"
            keep = True
            if inside:
                header = len(kept)
        elif inside and line.startswith("  ") and not line.startswith("   "):
            name = line.strip()
            if not name.endswith(":") or name.startswith("#"):
                return  # not the layout we know: leave the file alone
            keep = name[:-1].strip("'\"") in stems
            any_village = any_village or keep
        if keep:
            kept.append(line)
    if header >= 0 and not any_village:
        # none of the wanted villages is allocated (a new village): an empty mapping, not null,
        # so the missing allocation is reported at the village, not as a broken lock
        kept[header] = "villages: {}\n"
    path.write_text("".join(kept), encoding="utf-8")


def _scratch() -> str | None:
    """A RAM-backed temp folder when the system has one (thousands of small files)."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def _load(inv_root: Path, label: str, extracted: Path | None, real: Path | None) -> Inventory:
    """Load one side; positions inside a temporary extraction are shown as ``REV:path`` (or
    as the real working-tree path for a copied working-tree subset)."""
    try:
        return load_inventory(inv_root)
    except InventoryError as exc:
        if extracted is None:
            raise
        prefix = f"{extracted}{os.sep}"
        where = f"{real}{os.sep}" if real is not None else f"{label}:"
        problems = [
            InventoryProblem(
                SourcePosition(
                    where + p.position.file[len(prefix) :]
                    if p.position.file.startswith(prefix)
                    else p.position.file,
                    p.position.line,
                    p.position.column,
                ),
                p.field,
                p.message,
            )
            for p in exc.problems
        ]
        raise InventoryError(problems) from exc


def _render_side(inv: Inventory, renderer: Renderer, label: str) -> tuple[list[Artifact], int]:
    ids = sorted(inv.villages)  # in subset mode only the wanted village files were extracted
    try:
        return render_villages_parallel(renderer, inv, ids), len(ids)
    except RenderError as exc:
        raise RenderError(f"[{label}] {exc.message}", village=exc.village, host=exc.host) from exc


def _prepare(inv_root: Path, stems: set[str] | None) -> None:
    if stems is not None:
        (inv_root / "villages").mkdir(parents=True, exist_ok=True)
        narrow_lock(inv_root, stems)


def diff_revisions(
    inventory_dir: Path, base: str, head: str | None = None, templates_dir: Path | None = None
) -> DiffReport:
    """Render ``base`` and ``head`` (None: the working tree) and compare per device."""
    layout = RepoLayout.discover(inventory_dir, templates_dir)
    base_commit = resolve_revision(layout, base)
    head_commit = resolve_revision(layout, head) if head is not None else None
    head_label = head if head is not None else "working tree"
    paths = changed_paths(layout, base_commit, head_commit)
    if not paths:
        log.info("no inventory or template change between %s and %s", base, head_label)
        return DiffReport(base=base, head=head_label, scope="none", rendered_villages=0)
    stems = village_scope(layout, paths)
    scope = "all" if stems is None else "villages: " + ", ".join(sorted(stems))
    log.info("diff %s..%s: %d changed paths, rendering %s", base, head_label, len(paths), scope)
    with tempfile.TemporaryDirectory(prefix="kopnet-diff-", dir=_scratch()) as tmp:
        base_root = Path(tmp, "base")
        extract_revision(layout, base_commit, base_root, stems)
        base_tpl = base_root / layout.templates if layout.templates else layout.templates_dir
        base_renderer = Renderer(base_tpl)
        head_renderer = base_renderer  # subset mode: templates are the same on both sides
        base_inv_root = base_root / layout.inventory
        _prepare(base_inv_root, stems)
        base_inv = _load(base_inv_root, base, base_root, None)
        head_extracted: Path | None = None
        head_real: Path | None = None
        if head_commit is not None:
            head_extracted = Path(tmp, "head")
            extract_revision(layout, head_commit, head_extracted, stems)
            head_inv_root = head_extracted / layout.inventory
            head_tpl = (
                head_extracted / layout.templates if layout.templates else layout.templates_dir
            )
        elif stems is not None:
            head_extracted = Path(tmp, "head")
            head_real = layout.root
            copy_worktree(layout, head_extracted, stems)
            head_inv_root = head_extracted / layout.inventory
            head_tpl = layout.templates_dir
        else:
            head_inv_root = layout.root / layout.inventory
            head_tpl = layout.templates_dir
        _prepare(head_inv_root, stems if head_extracted is not None else None)
        head_inv = _load(head_inv_root, head_label, head_extracted, head_real)
        if stems is None:
            head_renderer = Renderer(head_tpl)
        old, n_old = _render_side(base_inv, base_renderer, base)
        new, n_new = _render_side(head_inv, head_renderer, head_label)
    report = compare_artifacts(
        old, new, base=base, head=head_label, scope=scope, villages=max(n_old, n_new)
    )
    changed = {c.village for c in report.changes}
    return replace(report, values=fleet_values((base_inv, head_inv), changed))
