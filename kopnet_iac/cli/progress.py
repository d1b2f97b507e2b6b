"""Progress of long fleet work (``render --all``, ``backup --all``, ``drift --all``,
``deploy --all``): a rich progress bar on stderr when it is a terminal, nothing otherwise (pipes,
CI logs and ``--json`` stay clean)."""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import Any


def wanted(as_json: bool = False) -> bool:
    """Progress is shown only on a terminal, and never with ``--json``."""
    return sys.stderr.isatty() and not as_json


class FleetProgress:
    """``with FleetProgress(total, "backup", enabled) as bar: bar.advance("core-x", ok)``.

    Thread-safe; a no-op when not ``enabled``."""

    def __init__(self, total: int, label: str, enabled: bool, unit: str = "device") -> None:
        self.total = total
        self.label = label
        self.enabled = enabled and total > 0
        self.unit = unit
        self.failed = 0
        self._lock = threading.Lock()
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> FleetProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[unit]}s"),
                TextColumn("[red]{task.fields[failed]}[/]"),
                TimeElapsedColumn(),
                TextColumn("[dim]{task.fields[last]}"),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                self.label, total=self.total, unit=self.unit, failed="", last=""
            )
        return self

    def advance(self, name: str, ok: bool = True, steps: int = 1) -> None:
        with self._lock:
            if not ok:
                self.failed += 1
            if self._progress is not None:
                failed = f"{self.failed} failed" if self.failed else ""
                self._progress.update(self._task, advance=steps, failed=failed, last=name[:40])

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


__all__ = ["FleetProgress", "wanted"]
