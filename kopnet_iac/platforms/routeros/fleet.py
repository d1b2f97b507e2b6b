"""Plan many devices at once on every CPU core: export texts in, plan and revert scripts out.

>>> results = plan_many([("/system identity\\nset name=a\\n", "/system identity\\nset name=b\\n")])
>>> results[0].script, results[0].revert_script, results[0].error
('/system identity set name=b\\n', '/system identity set name=a\\n', None)

Devices are split into contiguous slices (a few per worker, so one slow device does not hold up
the rest) and planned in worker processes. Workers are forked when that is safe (``fork``
exists and this process runs no other thread: forking next to a Nornir runner's threads could
deadlock the child on a lock held at fork time); they then inherit the texts and the loaded
schema and receive only index ranges. Otherwise they are started fresh and each slice carries
its texts. Small batches stay in this process, where starting workers would cost more than
it saves. Results come back in input order; a device that fails (parse error, ambiguous
entry, even an unexpected exception or a dead worker) gets an ``error`` instead of
failing the batch.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import signal
import threading
import traceback
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from kopnet_iac.errors import KopnetError, PlanError
from kopnet_iac.platforms.routeros.parser import parse_export
from kopnet_iac.platforms.routeros.paths import load_schema
from kopnet_iac.platforms.routeros.planner import plan

log = logging.getLogger(__name__)

MIN_DEVICES_PER_WORKER = 16
"""Below this many devices per worker, a batch is planned in this process."""

SLICES_PER_WORKER = 4

Pair = tuple[str, str]
# (script, revert script, operations, error, error kind): plain tuples pickle cheaply.
_Row = tuple[str, str, int, str | None, str | None]
_Task = tuple[int, int, Sequence[Pair] | None]


@dataclass(frozen=True)
class PlanResult:
    """The plan of one device of a :func:`plan_many` batch.

    On failure ``error`` holds the message (``error_kind`` the exception class name, e.g.
    ``ParseError`` or ``PlanError``) and the scripts are empty.
    """

    index: int
    host: str | None = None
    script: str = ""
    revert_script: str = ""
    operations: int = 0
    error: str | None = None
    error_kind: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _plan_one(running: str, intended: str, label: str, compare_sensitive: bool) -> _Row:
    try:
        result = plan(
            parse_export(running, f"{label} running"),
            parse_export(intended, f"{label} intended"),
            host=label,
            compare_sensitive=compare_sensitive,
        )
        return result.script(), result.revert_script(), len(result.operations), None, None
    except KopnetError as exc:
        return "", "", 0, str(exc), type(exc).__name__
    except Exception as exc:  # one broken device must not sink the fleet's plan
        # The message of an unexpected exception may quote config text (a secret): report
        # its type and where it was raised, never its text.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        log.error("planning %s failed unexpectedly: %s\n%s", label, type(exc).__name__, frames)
        return "", "", 0, f"internal error: {type(exc).__name__} (see the log)", type(exc).__name__


def _label(index: int, hosts: Sequence[str] | None) -> str:
    return (hosts[index] if hosts is not None else None) or f"device #{index}"


# Worker-process state, set once per worker by _init (never used in the parent).
_WORKER: tuple[Sequence[Pair] | None, Sequence[str] | None, bool] | None = None


def _init(pairs: Sequence[Pair] | None, hosts: Sequence[str] | None, compare: bool) -> None:
    global _WORKER
    # A forked worker inherits the parent's signal handling (an asyncio loop's wakeup fd);
    # workers end on SIGTERM/SIGINT like any plain process.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _WORKER = (pairs, hosts, compare)


def _plan_slice(task: _Task) -> list[_Row]:
    assert _WORKER is not None
    inherited, hosts, compare = _WORKER
    start, end, carried = task
    pairs = carried if carried is not None else inherited
    assert pairs is not None
    offset = start if carried is None else 0
    rows: list[_Row] = []
    # Planning allocates many small acyclic objects that reference counting frees; the cyclic
    # collector would only walk them over and over. Collect once per slice instead.
    gc.disable()
    try:
        for index in range(start, end):
            running, intended = pairs[index - start + offset]
            label = _label(index, hosts)
            rows.append(_plan_one(running, intended, label, compare))
    finally:
        gc.enable()
    gc.collect()
    return rows


def default_workers() -> int:
    """The usable CPU cores (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _fork_allowed() -> bool:
    return threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """Park the parent's objects in the permanent generation while workers are forked, so
    their collectors do not touch (and copy) every inherited page."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _run_pool(
    pairs: Sequence[Pair],
    hosts: Sequence[str] | None,
    compare_sensitive: bool,
    workers: int,
) -> list[_Row]:
    size = -(-len(pairs) // (workers * SLICES_PER_WORKER))
    bounds = [(i, min(i + size, len(pairs))) for i in range(0, len(pairs), size)]
    fork = _fork_allowed()
    method = "fork" if fork else "spawn"
    ctx = multiprocessing.get_context(method)
    log.debug(
        "planning %d devices in %d slices on %d %s workers",
        len(pairs),
        len(bounds),
        workers,
        method,
    )
    initargs = (pairs if fork else None, hosts, compare_sensitive)
    tasks: list[_Task] = [(a, b, None if fork else pairs[a:b]) for a, b in bounds]
    load_schema()  # loaded once here, inherited by forked workers
    rows: list[_Row] = []
    with contextlib.ExitStack() as stack:
        if fork:
            stack.enter_context(_frozen_heap())
        pool = stack.enter_context(
            ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init, initargs=initargs)
        )
        futures: list[Future[list[_Row]]] = [pool.submit(_plan_slice, t) for t in tasks]
        for (a, b), fut in zip(bounds, futures, strict=True):
            try:
                rows.extend(fut.result())
            except BrokenProcessPool as exc:
                log.error("a planning worker died: devices %d-%d not planned", a, b - 1)
                reason = f"worker process died: {exc}"
                rows.extend(("", "", 0, reason, "BrokenProcessPool") for _ in range(a, b))
    return rows


def plan_many(
    pairs: Iterable[Pair],
    *,
    workers: int | None = None,
    hosts: Sequence[str] | None = None,
    compare_sensitive: bool = True,
) -> list[PlanResult]:
    """Plan every ``(running export, intended export)`` pair; results in input order.

    ``workers`` is the number of processes (default: the usable CPU cores, fewer for a small
    batch; ``1`` plans in this process). ``hosts`` names the devices in error messages and
    results. ``compare_sensitive`` is passed to :func:`~.planner.plan`. Never raises for a
    device: a failed one has ``error`` set (see :class:`PlanResult`).
    """
    items = list(pairs)
    if hosts is not None and len(hosts) != len(items):
        raise PlanError(f"{len(hosts)} hosts for {len(items)} config pairs", step="plan")
    if workers is None:
        workers = min(default_workers(), len(items) // MIN_DEVICES_PER_WORKER)
    workers = max(1, min(workers, len(items)))
    rows: list[_Row] | None = None
    if workers > 1:
        try:
            rows = _run_pool(items, hosts, compare_sensitive, workers)
        except (OSError, AssertionError) as exc:  # a daemon process, no PIDs or fds left
            log.warning("cannot start planning workers, planning in this process: %s", exc)
    if rows is None:
        rows = [
            _plan_one(running, intended, _label(index, hosts), compare_sensitive)
            for index, (running, intended) in enumerate(items)
        ]
    return [
        PlanResult(i, hosts[i] if hosts is not None else None, *row) for i, row in enumerate(rows)
    ]
