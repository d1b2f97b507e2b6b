"""Write rendered artifacts to the build folder atomically.

Everything is rendered in memory first; then the new tree is written into a temporary folder
beside the target and swapped in with two renames. Whatever fails before the swap leaves the
previous build untouched; the temporary folders are removed.

Files whose content did not change since the previous build are hard-linked from it instead of
written again (``.kopnet-build.json`` records the SHA-256 of every file): creating and freeing
file data is by far the most expensive part of writing thousands of small files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from kopnet_iac.errors import RenderError
from kopnet_iac.render.renderer import Artifact

log = logging.getLogger(__name__)

BUILD_MANIFEST = ".kopnet-build.json"
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _previous_hashes(out_dir: Path) -> dict[str, str]:
    try:
        data = json.loads((out_dir / BUILD_MANIFEST).read_text(encoding="utf-8"))
        files = data["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return files if isinstance(files, dict) else {}


def _write_file(path: str, data: bytes) -> None:
    fd = os.open(path, _FLAGS, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _write_tree(
    root: Path, artifacts: Iterable[Artifact], old_dir: Path, old_hashes: dict[str, str]
) -> dict[str, str]:
    """Write (or link unchanged) files under ``root``; returns path -> sha256 of what it wrote."""
    made: set[str] = set()
    hashes: dict[str, str] = {}
    linked = 0
    for artifact in artifacts:
        folder = artifact.path.rpartition("/")[0]
        if folder not in made:
            (root / folder).mkdir(parents=True, exist_ok=True)
            made.add(folder)
        # bytes with "\n" line ends on every OS: byte-identical builds everywhere
        data = artifact.text.encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        hashes[artifact.path] = digest
        target = f"{root}/{artifact.path}"
        if old_hashes.get(artifact.path) == digest:
            source = f"{old_dir}/{artifact.path}"
            try:
                if os.lstat(source).st_size == len(data):
                    os.link(source, target)
                    linked += 1
                    continue
            except OSError:
                pass  # gone, or no hard links here: write it
        _write_file(target, data)
    log.debug("build: %d files, %d unchanged (linked)", len(hashes), linked)
    return hashes


def _keep_other_villages(
    old: Path, new: Path, replaced: set[str], old_hashes: dict[str, str], hashes: dict[str, str]
) -> None:
    """Carry the villages that were not re-rendered over from the previous build."""
    if not old.is_dir():
        return
    for entry in sorted(old.iterdir()):
        if entry.name in replaced or not entry.is_dir() or entry.name.startswith("."):
            continue
        try:
            shutil.copytree(entry, new / entry.name, copy_function=os.link)
        except OSError:  # hard links not possible (other filesystem): copy
            shutil.rmtree(new / entry.name, ignore_errors=True)
            shutil.copytree(entry, new / entry.name)
        prefix = entry.name + "/"
        hashes.update({p: h for p, h in old_hashes.items() if p.startswith(prefix)})


def _check_replaceable(out_dir: Path) -> None:
    """Only an empty folder or a previous build may be replaced (never ``--out .`` by mistake)."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise RenderError(f"{out_dir} exists and is not a folder")
    if (out_dir / BUILD_MANIFEST).is_file() or not any(out_dir.iterdir()):
        return
    raise RenderError(
        f"refusing to replace {out_dir}: it is not a KopNet build folder (no {BUILD_MANIFEST}); "
        "choose a new or empty --out folder"
    )


def write_build(
    out_dir: Path,
    artifacts: list[Artifact],
    *,
    villages: Iterable[str],
    complete: bool,
) -> int:
    """Replace ``out_dir`` with the rendered ``artifacts``; returns the number of files.

    ``complete``: the artifacts are the whole fleet (villages no longer rendered disappear);
    otherwise only the folders of ``villages`` are replaced and the others are kept.
    """
    out_dir = out_dir.resolve()
    _check_replaceable(out_dir)
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=parent))
    except OSError as exc:
        raise RenderError(f"cannot create a build folder beside {out_dir}: {exc}") from exc
    old_hashes = _previous_hashes(out_dir)
    retired: Path | None = None
    try:
        hashes = _write_tree(staging, artifacts, out_dir, old_hashes)
        if not complete:
            _keep_other_villages(out_dir, staging, set(villages), old_hashes, hashes)
        manifest = {"files": dict(sorted(hashes.items()))}
        _write_file(f"{staging}/{BUILD_MANIFEST}", (json.dumps(manifest, indent=1) + "\n").encode())
        staging.chmod(0o755)
        if out_dir.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=parent))
            os.rename(out_dir, retired / out_dir.name)
        os.rename(staging, out_dir)
    except OSError as exc:
        if retired is not None and not out_dir.exists():
            os.rename(retired / out_dir.name, out_dir)  # put the previous build back
        shutil.rmtree(staging, ignore_errors=True)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
        raise RenderError(f"cannot write the build folder {out_dir}: {exc}") from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)
    log.info("wrote %d files to %s", len(hashes), out_dir)
    return len(hashes)
