"""Loopback address blocks that are unique among test processes running on one machine.

``pid % n`` alone picks the same /24 for two runs side by side once in ``n`` (seen as "could not
bind 127.81.100.4:8728"). A block is claimed with an exclusive lock on a file named after it,
held until the process ends (the kernel releases it even if the process is killed), starting
from the pid-derived block and moving on while another process holds it.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path
from typing import IO

_LOCK_DIR = Path(tempfile.gettempdir()) / "kopnet-test-addresses"
_held: dict[str, IO[bytes]] = {}


def claim_block(prefix: str, low: int, count: int) -> str:
    """``f"{prefix}.{n}"`` for an ``n`` in ``[low, low + count)`` no other live process holds."""
    _LOCK_DIR.mkdir(mode=0o1777, exist_ok=True)
    start = os.getpid() % count
    for step in range(count):
        block = f"{prefix}.{low + (start + step) % count}"
        if block in _held:
            return block
        handle = (_LOCK_DIR / f"{block}.lock").open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _held[block] = handle
        return block
    raise RuntimeError(f"every test address block {prefix}.{low}-{low + count - 1} is in use")


# /16s inside 127/8 for the labs tests start ("127.N"); N in [_LAB_LOW, _LAB_LOW + _LAB_COUNT)
# stays clear of the fixed bases other claims use (127.76-127.83, 127.254).
_LAB_LOW, _LAB_COUNT = 100, 140
_lab_prefixes: list[str] = []


def claim_lab_prefix() -> str:
    """A lab address prefix (``"127.N"``, a /16) that no other live process holds and that
    this process has not handed out before: one per lab-starting test module, so modules that
    run side by side (``pytest -n``) or one after the other never share an address."""
    _LOCK_DIR.mkdir(mode=0o1777, exist_ok=True)
    start = os.getpid() % _LAB_COUNT
    for step in range(_LAB_COUNT):
        block = f"127.{_LAB_LOW + (start + step) % _LAB_COUNT}"
        if block in _held:
            continue
        handle = (_LOCK_DIR / f"{block}.lock").open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _held[block] = handle
        _lab_prefixes.append(block)
        return block
    raise RuntimeError(f"every lab prefix 127.{_LAB_LOW}-127.{_LAB_LOW + _LAB_COUNT - 1} is in use")
