"""The wave scheduler of a fleet rollout: pure, no device, no store.

A rollout deploys villages in waves: first ``canary`` villages, then batches growing by
``growth`` (each batch ``ceil(previous * growth)`` villages, the first ``ceil(canary * growth)``,
at least one). A wave starts only when the one before it has ended. Inside a wave at most
``max_parallel`` villages deploy at once. Every village that ends in failure counts; when the
count passes ``max_fail`` the rollout stops: villages already deploying finish their own
transaction, no new one starts.

>>> plan_waves([f"v{i}" for i in range(10)], canary=1, growth=2.0)
[['v0'], ['v1', 'v2'], ['v3', 'v4', 'v5', 'v6'], ['v7', 'v8', 'v9']]
>>> parse_max_fail("20%", 10), parse_max_fail("2", 10)
(2, 2)
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from kopnet_iac.errors import KopnetError


class RolloutUsageError(KopnetError):
    """Rollout options that cannot be met (a usage error: nothing was contacted)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, step="select")


_MAX_FAIL = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*(%?)\s*\Z")


def parse_max_fail(text: str, villages: int) -> int:
    """``N`` or ``P%`` of ``villages`` (rounded down) as a number of villages that may fail
    before the rollout stops. Negative, over 100 % or more than there are villages is a
    :class:`RolloutUsageError`.

    >>> parse_max_fail("0", 3), parse_max_fail("50%", 3), parse_max_fail("100%", 3)
    (0, 1, 3)
    """
    match = _MAX_FAIL.match(text)
    if not match:
        raise RolloutUsageError(f"--max-fail {text!r}: expected a number N or a percentage P%")
    value, percent = float(match.group(1)), bool(match.group(2))
    if value < 0:
        raise RolloutUsageError(f"--max-fail {text}: cannot be negative")
    if percent:
        if value > 100:
            raise RolloutUsageError(f"--max-fail {text}: a percentage cannot pass 100%")
        return math.floor(villages * value / 100 + 1e-9)
    if value != int(value):
        raise RolloutUsageError(f"--max-fail {text}: a number of villages is a whole number")
    if value > villages:
        raise RolloutUsageError(
            f"--max-fail {int(value)}: more than the {villages} village(s) of the rollout"
        )
    return int(value)


def plan_waves(villages: Sequence[str], *, canary: int = 1, growth: float = 2.0) -> list[list[str]]:
    """The villages cut into waves (see the module docstring); order is kept."""
    if canary < 0:
        raise RolloutUsageError(f"--canary {canary}: cannot be negative")
    if growth < 1.0:
        raise RolloutUsageError(f"--batch-growth {growth}: must be at least 1.0")
    names = list(dict.fromkeys(villages))
    if canary > len(names):
        raise RolloutUsageError(
            f"--canary {canary}: more than the {len(names)} village(s) of the rollout"
        )
    waves: list[list[str]] = []
    if canary:
        waves.append(names[:canary])
    rest = names[canary:]
    size = max(1, math.ceil(max(canary, 1) * growth)) if canary else 1
    while rest:
        waves.append(rest[:size])
        rest = rest[size:]
        size = max(size + (1 if growth > 1 else 0), math.ceil(size * growth))
    return waves


@dataclass
class WaveScheduler:
    """Which village to start next, given what has ended (a pure state machine).

    Call :meth:`next_ready` whenever a slot may be free; :meth:`ended` when a village's deploy
    ends. ``done`` once nothing runs and nothing more will start.
    """

    waves: list[list[str]]
    max_parallel: int = 4
    max_fail: int = 0
    wave: int = 0
    queue: list[str] = field(default_factory=list)
    running: set[str] = field(default_factory=set)
    failed: list[str] = field(default_factory=list)
    succeeded: list[str] = field(default_factory=list)
    stopped: bool = False
    wave_of: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_parallel < 1:
            raise RolloutUsageError(f"--max-parallel {self.max_parallel}: at least 1")
        for index, wave in enumerate(self.waves):
            for village in wave:
                self.wave_of[village] = index
        self.queue = list(self.waves[0]) if self.waves else []

    def next_ready(self) -> list[str]:
        """Villages to start now (removed from the queue); empty when none may start."""
        if self.stopped:
            return []
        if not self.queue and not self.running and self.wave + 1 < len(self.waves):
            self.wave += 1
            self.queue = list(self.waves[self.wave])
        free = self.max_parallel - len(self.running)
        chosen, self.queue = self.queue[: max(free, 0)], self.queue[max(free, 0) :]
        self.running.update(chosen)
        return chosen

    def ended(self, village: str, ok: bool) -> None:
        """``village``'s deploy ended; a failure past ``max_fail`` stops the rollout."""
        self.running.discard(village)
        if ok:
            self.succeeded.append(village)
            return
        self.failed.append(village)
        if len(self.failed) > self.max_fail:
            self.stopped = True

    @property
    def done(self) -> bool:
        if self.running:
            return False
        if self.stopped:
            return True
        return not self.queue and self.wave + 1 >= len(self.waves)

    def not_started(self) -> list[str]:
        """Villages that were never started (after a stop, or none yet)."""
        started = set(self.succeeded) | set(self.failed) | self.running
        return [v for wave in self.waves for v in wave if v not in started]


__all__ = ["RolloutUsageError", "WaveScheduler", "parse_max_fail", "plan_waves"]
