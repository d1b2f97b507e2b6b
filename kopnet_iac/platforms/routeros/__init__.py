"""RouterOS configuration engine: parse, emit, plan + revert plan, normalise, plan report, lint.

Pure computation over text and data; no device access. The pipeline::

    export text --parse_export--> RouterOSConfig --plan(running, intended)--> Plan
        Plan.script()         RouterOS script for /import (subset: see planner docstring)
        Plan.revert_script()  takes the post-apply state back to running
        change_report(plan)   per path, entries and properties that change (secrets masked)

Example::

    from kopnet_iac.platforms.routeros import (
        apply_script, equivalent, parse_export, plan, target_state,
    )

    running = parse_export(open("running.rsc").read(), "running.rsc")
    intended = parse_export(open("intended.rsc").read(), "intended.rsc")
    result = plan(running, intended)          # raises PlanError rather than guess
    after = apply_script(running, result.script())
    assert equivalent(after, target_state(running, intended))
    assert equivalent(apply_script(after, result.revert_script()), running)

Managed scope: every path with entries in the intended config is owned and converges fully
(entries not in intended are removed); a ``# kopnet: manage /ip pool, /user`` comment also owns
paths that should end up empty. Other paths are never touched.

Fleet level: :func:`plan_many` plans many ``(running, intended)`` export text pairs on every
CPU core (results in order, a :class:`PlanResult` per device, errors per device).

Lower level: :func:`parse_script` (every command line, for interpreters such as the lab
emulator), :func:`emit` (canonical export text, ``parse_export(emit(m)) == m``), the path
schema in ``paths.yaml`` and the policy rules in ``lint_rules.yaml``.
"""

from __future__ import annotations

from kopnet_iac.platforms.routeros.apply import apply_script
from kopnet_iac.platforms.routeros.emitter import emit, quote
from kopnet_iac.platforms.routeros.fleet import PlanResult, plan_many
from kopnet_iac.platforms.routeros.lint import Finding, lint
from kopnet_iac.platforms.routeros.model import Command, Entry, Header, RouterOSConfig, Selector
from kopnet_iac.platforms.routeros.normalize import equivalent, normalize
from kopnet_iac.platforms.routeros.parser import parse_export, parse_script
from kopnet_iac.platforms.routeros.planner import Operation, Plan, plan, target_state
from kopnet_iac.platforms.routeros.planreport import change_report, change_text

__all__ = [
    "Command",
    "Entry",
    "Finding",
    "Header",
    "Operation",
    "Plan",
    "PlanResult",
    "RouterOSConfig",
    "Selector",
    "apply_script",
    "change_report",
    "change_text",
    "emit",
    "equivalent",
    "lint",
    "normalize",
    "parse_export",
    "parse_script",
    "plan",
    "plan_many",
    "quote",
    "target_state",
]
