"""Render many villages on several CPU cores (fork workers sharing the loaded inventory).

Workers are forked after the inventory is loaded and the templates are compiled, so nothing is
re-read or re-compiled; each renders a contiguous slice of the (sorted) village list and sends
back plain tuples. Results are concatenated in order: output is identical to a sequential run.
Where ``fork`` is unavailable, other threads are running, or for a handful of villages,
rendering stays sequential.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Sequence

from kopnet_iac.errors import KopnetError, RenderError
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.render.renderer import Artifact, Renderer, frozen_heap

log = logging.getLogger(__name__)

MIN_VILLAGES_PER_WORKER = 32
#: villages rendered between two progress updates when rendering in this process
PROGRESS_SLICE = 8

# Worker-process state, set once per forked worker by _init (never used in the parent).
_WORKER: tuple[Renderer, Inventory] | None = None

_Row = tuple[str, str, str, str, str, str]
_Failure = tuple[str, str | None, str | None]


def _init(renderer: Renderer, inv: Inventory) -> None:
    global _WORKER
    # A forked worker inherits the parent's signal handling: when the parent runs an asyncio
    # loop with SIGTERM handled through a wakeup fd, Pool.terminate() could never end the
    # worker. Workers die on SIGTERM/SIGINT like any plain process.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _WORKER = (renderer, inv)


def _render_slice(ids: Sequence[str]) -> tuple[list[_Row], _Failure | None]:
    assert _WORKER is not None
    renderer, inv = _WORKER
    try:
        artifacts = renderer.render_villages(inv, ids, freeze_gc=False)  # frozen before fork
    except KopnetError as exc:  # exceptions with keyword fields do not pickle well: flatten
        return [], (exc.message, exc.village, exc.host)
    rows = [(a.village, a.host, a.platform, a.role, a.path, a.text) for a in artifacts]
    return rows, None


def fork_allowed() -> bool:
    """Fork workers only from a single-threaded process where ``fork`` exists.

    Forking a process that runs other threads (a Nornir runner, say) can deadlock the child
    on a lock another thread held at fork time.
    """
    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


def default_jobs() -> int:
    """Worker processes to use: the usable CPU cores (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def render_villages_parallel(
    renderer: Renderer,
    inv: Inventory,
    village_ids: Sequence[str],
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Artifact]:
    """Like ``renderer.render_villages`` but spread over ``jobs`` processes; ``progress`` is
    called with the number of villages each time a slice of them is rendered."""
    ids = list(village_ids)
    jobs = default_jobs() if jobs is None else jobs
    jobs = min(jobs, len(ids) // MIN_VILLAGES_PER_WORKER)
    if jobs < 2 or not fork_allowed():
        if progress is None:
            return renderer.render_villages(inv, ids)
        out: list[Artifact] = []
        for start in range(0, len(ids), PROGRESS_SLICE):  # slices, as the workers render
            out.extend(renderer.render_villages(inv, ids[start : start + PROGRESS_SLICE]))
            progress(len(ids[start : start + PROGRESS_SLICE]))
        return out
    try:
        for name in renderer.manifest.templates():  # compile once, before forking
            renderer.template(name, village="-", host="-")
    except RenderError:  # report it the usual way, with the first village and host using it
        return renderer.render_villages(inv, ids)
    size = -(-len(ids) // (jobs * 4))  # a few slices per worker evens out the load
    slices = [ids[i : i + size] for i in range(0, len(ids), size)]
    log.debug("rendering %d villages in %d slices on %d workers", len(ids), len(slices), jobs)
    ctx = multiprocessing.get_context("fork")
    # Freeze the heap before forking: the workers' garbage collector then leaves the inherited
    # objects alone instead of writing to (and so copying) every page of them.
    with frozen_heap(), ctx.Pool(jobs, initializer=_init, initargs=(renderer, inv)) as pool:
        results = []
        for result in pool.imap(_render_slice, slices, chunksize=1):
            results.append(result)
            if progress is not None:
                progress(len(slices[len(results) - 1]))
    artifacts: list[Artifact] = []
    for rows, failure in results:
        if failure is not None:
            message, village, host = failure
            raise RenderError(message, village=village, host=host)
        artifacts.extend(Artifact(*row) for row in rows)
    return artifacts
