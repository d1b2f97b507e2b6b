"""RouterOS configuration engine: parse, emit, plan + revert plan, normalise, diff, lint.

Pure computation over text and data; no device access.

Example::

    from kopnet_iac.platforms.routeros import parse_export, emit, plan, apply_script

    running = parse_export(open("running.rsc").read(), "running.rsc")
    intended = parse_export(open("intended.rsc").read(), "intended.rsc")
    result = plan(running, intended)      # Plan: forward + revert operations
    script = result.script()              # RouterOS script for /import
    undo = result.revert_script()         # takes the post-apply state back to running
    after = apply_script(running, script) # the engine's own model-level interpreter
    assert equivalent(after, intended)

Lower level: :func:`parse_script` (every command line, for interpreters such as the lab
emulator) and :func:`emit` (canonical export text, ``parse_export(emit(m)) == m``).
"""

from __future__ import annotations

from kopnet_iac.platforms.routeros.emitter import emit, quote
from kopnet_iac.platforms.routeros.model import Command, Entry, Header, RouterOSConfig, Selector
from kopnet_iac.platforms.routeros.parser import parse_export, parse_script

__all__ = [
    "Command",
    "Entry",
    "Header",
    "RouterOSConfig",
    "Selector",
    "emit",
    "parse_export",
    "parse_script",
    "quote",
]
