"""``/system scheduler``: jobs fire on time (startup, interval, absolute start) and run on-event."""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kopnet_iac.lab.routeros.script import parse_duration
from kopnet_iac.lab.routeros.store import Entry, RosError

if TYPE_CHECKING:
    from kopnet_iac.lab.routeros.core import Router

log = logging.getLogger(__name__)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
STARTUP_DELAY = 0.5  # RouterOS runs startup jobs a few seconds after boot; kept short here


@dataclass
class JobState:
    next_run: float | None
    run_count: int = 0
    last_started: str = ""


def _absolute(date: str, clock: str) -> float | None:
    """Monotonic time of a wall-clock ``start-date``/``start-time`` (device clock is UTC)."""
    try:
        if "/" in date:
            mon, day, year = date.split("/")
            ymd = (int(year), _MONTHS[mon.lower()], int(day))
        else:
            y, m, d = date.split("-")
            ymd = (int(y), int(m), int(d))
        hh, mm, ss = [*clock.split(":"), "0", "0"][:3]
        wall = calendar.timegm((*ymd, int(hh), int(mm), int(float(ss)), 0, 0, 0))
    except (ValueError, KeyError):
        return None
    return time.monotonic() + (wall - time.time())


class Scheduler:
    """Runs due jobs of one device in a single task."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.jobs: dict[int, JobState] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._stopped = False
        self.booted_at = time.monotonic()

    def start(self) -> None:
        self._stopped = False
        self.booted_at = time.monotonic()
        self.jobs.clear()
        self.refresh(at_boot=True)
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        # The flag ends the loop even when Python 3.11's wait_for swallows the cancellation
        # (it does when the wake event fires at the same moment).
        self._stopped = True
        self._wake.set()
        tasks = [t for t in (self._task, *self._running) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._task = None
        self._running.clear()

    def _first_run(self, entry: Entry, at_boot: bool) -> float | None:
        interval = parse_duration(entry.get("interval") or "0s")
        start_time = entry.get("start-time")
        if start_time == "startup":
            return self.booted_at + STARTUP_DELAY if at_boot else None
        now = time.monotonic()
        if start_time and entry.get("start-date"):
            first = _absolute(entry.get("start-date"), start_time)
            if first is not None:
                if interval > 0 and first < now:
                    first += math.ceil((now - first) / interval) * interval
                return first if first >= now or interval > 0 else None
        return now + interval if interval > 0 else None

    def refresh(self, *, at_boot: bool = False) -> None:
        """Recompute job states after the scheduler menu changed."""
        current = {entry.id: entry for entry in self.router.store.entries("system scheduler")}
        for job_id in list(self.jobs):
            if job_id not in current:
                del self.jobs[job_id]
        for job_id, entry in current.items():
            if job_id not in self.jobs:
                try:
                    self.jobs[job_id] = JobState(next_run=self._first_run(entry, at_boot))
                except RosError:
                    self.jobs[job_id] = JobState(next_run=None)
        self._wake.set()

    def status(self, entry: Entry) -> dict[str, str]:
        state = self.jobs.get(entry.id)
        row = {
            "run-count": str(state.run_count if state else 0),
            "owner": "admin",
            "policy": entry.get("policy")
            or "ftp,reboot,read,write,policy,test,password,sniff,sensitive,romon",
        }
        if state and state.next_run is not None:
            wall = time.time() + (state.next_run - time.monotonic())
            row["next-run"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(wall))
        if state and state.last_started:
            row["last-started"] = state.last_started
        return row

    async def _loop(self) -> None:
        while not self._stopped:
            self._wake.clear()
            now = time.monotonic()
            due = [
                job_id
                for job_id, st in self.jobs.items()
                if st.next_run is not None and st.next_run <= now
            ]
            for job_id in due:
                self._fire(job_id)
            pending = [st.next_run for st in self.jobs.values() if st.next_run is not None]
            timeout = max(0.0, min(pending) - time.monotonic()) if pending else None
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _fire(self, job_id: int) -> None:
        state = self.jobs[job_id]
        entry = self.router.store.find_by_id("system scheduler", job_id)
        if entry is None:
            del self.jobs[job_id]
            return
        interval = parse_duration(entry.get("interval") or "0s")
        state.next_run = (state.next_run or time.monotonic()) + interval if interval > 0 else None
        if entry.get("disabled") in ("yes", "true") or self.router.faults.scheduler_disabled:
            return
        state.run_count += 1
        state.last_started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        task = asyncio.get_running_loop().create_task(
            self._run(entry.get("name"), entry.get("on-event"))
        )
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, name: str, on_event: str) -> None:
        assert self.router.interpreter is not None
        source = on_event
        for script in self.router.store.entries("system script"):
            if script.get("name") == on_event.strip():
                source = script.get("source")
        log.info("%s: scheduler job %s fires", self.router.spec.hostname, name)
        try:
            await self.router.interpreter.run_text(source, source=f"scheduler {name}")
        except RosError as exc:
            self.router.log_message(
                "script,error", f"executing script from scheduler ({name}) failed: {exc.message}"
            )
        self.router.after_change()
