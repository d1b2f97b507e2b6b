"""Fault injection state of one emulated device.

Device emulators call :meth:`Faults.before_command` for every command they receive (API
sentence, console line, HTTP request) and obey the returned action. The lab changes the fields
at start and at runtime (``kopnet lab fault ...``).
"""

from __future__ import annotations

import asyncio
import fnmatch
import random
from dataclasses import dataclass, field
from enum import Enum


class Action(Enum):
    PROCEED = "proceed"
    TRAP = "trap"  # answer with an error (trap) instead of running the command
    DROP = "drop"  # close the session without answering


@dataclass
class FaultDecision:
    action: Action
    message: str = ""


@dataclass
class Faults:
    """Mutable fault settings of one device; all off by default."""

    latency_ms: float = 0.0  # added per command: a slow device (one way it is all on the answer)
    jitter_ms: float = 0.0
    # the link in front of the device (see kopnet_iac.lab.wire): delay on the traffic itself
    link_rtt_ms: float = 0.0  # round trip; half of it each way, on every chunk
    link_jitter_ms: float = 0.0  # up to this much extra one-way delay per chunk
    link_loss_burst_ms: float = 0.0  # length of a periodic outage
    link_loss_every_s: float = 10.0  # period of the outages
    link_kbps: float = 0.0  # bandwidth of each direction, 0 unlimited
    link_nagle: bool = True  # clients' TCP holds small writes until the ACK (no TCP_NODELAY)
    stall_seconds: float = 0.0  # one-shot stall before the next command
    drop_after_commands: int | None = None  # drop the session after N more commands
    drop_at_pattern: str | None = None  # drop when a command matches (fnmatch)
    trap_pattern: str | None = None  # trap commands matching (fnmatch)
    trap_message: str = "failure: injected fault"
    refuse_login: bool = False
    disk_full: bool = False
    scheduler_disabled: bool = False  # device-mode with scheduler off
    links_down: set[str] = field(default_factory=set)  # local port names
    boot_seconds: float | None = None  # slow boot override
    commands_seen: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    async def before_command(self, command: str, sentence: str = "") -> FaultDecision:
        """Delay as configured, then say whether to run, trap or drop ``command``.

        ``sentence``: the whole request as the command log shows it (a RouterOS API command
        with its attributes, secrets masked); a pattern matches the command or the sentence."""
        self.commands_seen += 1
        delay = self.latency_ms / 1000.0
        if self.jitter_ms:
            delay += self.rng.uniform(0, self.jitter_ms) / 1000.0
        if self.stall_seconds:
            delay += self.stall_seconds
            self.stall_seconds = 0.0
        if delay > 0:
            await asyncio.sleep(delay)
        if self.drop_after_commands is not None:
            if self.drop_after_commands <= 0:
                self.drop_after_commands = None
                return FaultDecision(Action.DROP, "injected: session dropped")
            self.drop_after_commands -= 1
        if self.drop_at_pattern and _matches(self.drop_at_pattern, command, sentence):
            self.drop_at_pattern = None
            return FaultDecision(Action.DROP, "injected: session dropped at step")
        if self.trap_pattern and _matches(self.trap_pattern, command, sentence):
            return FaultDecision(Action.TRAP, self.trap_message)
        return FaultDecision(Action.PROCEED)


def _matches(pattern: str, command: str, sentence: str) -> bool:
    return fnmatch.fnmatchcase(command, pattern) or (
        bool(sentence) and fnmatch.fnmatchcase(sentence, pattern)
    )
