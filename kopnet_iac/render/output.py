"""Write rendered artifacts to the build folder atomically.

Everything is rendered in memory first; then the new tree is written into a temporary folder
beside the target and swapped in with two renames. Whatever fails before the swap leaves the
previous build untouched; the temporary folder is removed.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from kopnet_iac.errors import RenderError
from kopnet_iac.render.renderer import Artifact

log = logging.getLogger(__name__)

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _write_tree(root: Path, artifacts: Iterable[Artifact]) -> int:
    made: set[str] = set()
    count = 0
    for artifact in artifacts:
        folder = artifact.path.rpartition("/")[0]
        if folder not in made:
            (root / folder).mkdir(parents=True, exist_ok=True)
            made.add(folder)
        # bytes with "\n" line ends on every OS: byte-identical builds everywhere
        fd = os.open(f"{root}/{artifact.path}", _FLAGS, 0o644)
        try:
            data = memoryview(artifact.text.encode("utf-8"))
            while data:
                data = data[os.write(fd, data) :]
        finally:
            os.close(fd)
        count += 1
    return count


def _keep_other_villages(old: Path, new: Path, replaced: set[str]) -> None:
    """Carry the villages that were not re-rendered over from the previous build."""
    if not old.is_dir():
        return
    for entry in sorted(old.iterdir()):
        if entry.name in replaced or not entry.is_dir():
            continue
        try:
            shutil.copytree(entry, new / entry.name, copy_function=os.link)
        except OSError:  # hard links not possible (other filesystem): copy
            shutil.rmtree(new / entry.name, ignore_errors=True)
            shutil.copytree(entry, new / entry.name)


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
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=parent))
    except OSError as exc:
        raise RenderError(f"cannot create a build folder beside {out_dir}: {exc}") from exc
    retired: Path | None = None
    try:
        count = _write_tree(staging, artifacts)
        if not complete:
            _keep_other_villages(out_dir, staging, set(villages))
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
    log.info("wrote %d files to %s", count, out_dir)
    return count
