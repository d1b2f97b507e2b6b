"""Plan report: per device, grouped by path, the entries and properties that change.

Sensitive values (schema ``sensitive`` fields) are always masked here.
"""

from __future__ import annotations

from typing import Any

from kopnet_iac.platforms.routeros.model import path_text
from kopnet_iac.platforms.routeros.paths import Schema, load_schema
from kopnet_iac.platforms.routeros.planner import MASK, Plan

_SIGN = {"add": "+", "remove": "-", "set": "~", "move": ">"}


def change_report(
    plan: Plan, *, host: str | None = None, schema: Schema | None = None
) -> dict[str, Any]:
    """JSON-ready description of the changes in ``plan``."""
    schema = schema or plan.schema or load_schema()
    paths: dict[str, list[dict[str, Any]]] = {}
    summary = {"add": 0, "remove": 0, "set": 0, "move": 0}
    for change in plan.changes:
        sensitive = schema.get(change.path).sensitive

        def show(k: str, v: str | None, sensitive: frozenset[str] = sensitive) -> str | None:
            return None if v is None else (MASK if k in sensitive else v)

        props: dict[str, dict[str, str | None]] = {}
        for k in sorted(set(change.before) | set(change.after)):
            b, a = change.before.get(k), change.after.get(k)
            props[k] = {"before": show(k, b), "after": show(k, a)}
        summary[change.kind] += 1
        paths.setdefault(path_text(change.path), []).append(
            {"kind": change.kind, "entry": change.label, "properties": props}
        )
    return {
        "host": host,
        "changed": bool(plan.operations),
        "operations": len(plan.operations),
        "summary": summary,
        "paths": [{"path": p, "changes": c} for p, c in paths.items()],
    }


def change_text(report: dict[str, Any]) -> str:
    """Human-readable form of :func:`change_report` output."""
    lines: list[str] = []
    host = report.get("host") or "device"
    if not report["changed"]:
        return f"{host}: no changes\n"
    s = report["summary"]
    lines.append(
        f"{host}: {report['operations']} operation(s): {s['add']} add, {s['set']} change, "
        f"{s['remove']} remove, {s['move']} move"
    )
    for group in report["paths"]:
        lines.append(f"  {group['path']}")
        for change in group["changes"]:
            entry = change["entry"] or "(settings)"
            lines.append(f"    {_SIGN[change['kind']]} {entry}")
            for k, ba in change["properties"].items():
                b, a = ba["before"], ba["after"]
                if change["kind"] == "add":
                    lines.append(f"        {k}={a}")
                elif change["kind"] == "remove":
                    lines.append(f"        {k}={b}")
                else:
                    lines.append(
                        f"        {k}: {b if b is not None else '(unset)'} -> "
                        f"{a if a is not None else '(unset)'}"
                    )
    return "\n".join(lines) + "\n"
