"""The fleet compliance page of ``kopnet drift --all --html FILE``: every device's state
against its last confirmed release, worst villages first.

Input rows (one per device): ``{"village", "hostname", "status", "plan"}``, status one of
:data:`STATUSES`, ``plan`` the plan that would restore a drifted device (secrets are masked
here again). The page stays small for a large fleet: one table row per village (compliant
devices only by name), plans of drifted devices in closed ``<details>`` and cut at
:data:`PLAN_LINES` lines, styles as classes in one style sheet, no script.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kopnet_iac.errors import ReportError
from kopnet_iac.report.html import STATE_COLOURS, code_block, esc, page, write_atomic
from kopnet_iac.state.redact import mask_secrets

#: worst first: the order of the summary and of a village's devices
STATUSES = ("unreachable", "drifted", "never-deployed", "compliant")
#: lines of a plan shown on the page (the rest: kopnet drift VILLAGE)
PLAN_LINES = 60

_CSS = "".join(
    f".s-{s}{{background:{STATE_COLOURS[s][0]};color:{STATE_COLOURS[s][1]}}}" for s in STATUSES
) + (
    ".bar{display:flex;height:18px;border:1px solid #ccd;margin:6px 0 12px}"
    ".bar span{display:block;height:100%}"
    "td.h{font-size:12px;color:#445}td.v{white-space:nowrap}a.badge{text-decoration:none}"
)


def _check(row: Mapping[str, Any], index: int) -> tuple[str, str, str, str]:
    try:
        village, host, status = str(row["village"]), str(row["hostname"]), str(row["status"])
    except KeyError as exc:
        raise ReportError(f"compliance row {index}: missing {exc.args[0]!r}") from exc
    if status not in STATUSES:
        raise ReportError(
            f"compliance row {index}: {village}/{host}: status {status!r} is not one of "
            f"{', '.join(STATUSES)}",
            village=village,
            host=host,
        )
    return village, host, status, str(row.get("plan") or "")


def village_order(rows: Iterable[tuple[str, str, str, str]]) -> list[tuple[str, Counter[str]]]:
    """Villages with their status counts, worst first: most unreachable, then most drifted,
    then most never deployed, then by name."""
    counts: dict[str, Counter[str]] = {}
    for village, _, status, _ in rows:
        counts.setdefault(village, Counter())[status] += 1
    return sorted(
        counts.items(),
        key=lambda item: (
            -(item[1]["unreachable"] + item[1]["drifted"] + item[1]["never-deployed"]),
            -item[1]["unreachable"],
            -item[1]["drifted"],
            item[0],
        ),
    )


def _plan(text: str) -> str:
    lines = mask_secrets(text).rstrip("\n").splitlines()
    more = len(lines) - PLAN_LINES
    shown = "\n".join(lines[:PLAN_LINES])
    note = f"\n… {more} more line(s): kopnet drift VILLAGE" if more > 0 else ""
    return code_block(shown + note)


def _summary(total: Counter[str], villages: int, bad_villages: int) -> str:
    devices = sum(total.values())
    cells = "".join(f'<td class="n s-{s}">{total[s]}</td>' for s in STATUSES)
    bar = "".join(
        f'<span class="s-{s}" style="width:{100 * total[s] / devices:.2f}%" '
        f'title="{s}: {total[s]}"></span>'
        for s in STATUSES
        if devices and total[s]
    )
    head = "".join(f"<th>{s}</th>" for s in STATUSES)
    return (
        f"<p><strong>{devices}</strong> device(s) in <strong>{villages}</strong> village(s); "
        f"<strong>{bad_villages}</strong> village(s) not fully compliant.</p>"
        f'<div class="bar">{bar}</div>'
        f"<table><thead><tr>{head}</tr></thead><tbody><tr>{cells}</tr></tbody></table>"
    )


def compliance_html(
    results: Iterable[Mapping[str, Any]], *, title: str = "Fleet compliance", generated: str = ""
) -> str:
    """The page as text (see the module docstring)."""
    rows = [_check(row, i) for i, row in enumerate(results)]
    by_village: dict[str, list[tuple[str, str, str]]] = {}
    for village, host, status, plan in rows:
        by_village.setdefault(village, []).append((host, status, plan))
    order = village_order(rows)
    total: Counter[str] = Counter(status for _, _, status, _ in rows)
    bad = sum(1 for _, c in order if c["compliant"] < sum(c.values()))
    parts = [
        f"<h1>{esc(title)}</h1>",
        _summary(total, len(order), bad),
        "<h2>Villages, worst first</h2>",
        "<table><thead><tr><th>village</th>"
        + "".join(f"<th>{s}</th>" for s in STATUSES)
        + "<th>devices</th></tr></thead><tbody>",
    ]
    details: list[str] = []
    for village, counts in order:
        devices = sorted(by_village[village], key=lambda d: (STATUSES.index(d[1]), d[0]))
        names = []
        for host, status, plan in devices:
            if status == "compliant":
                names.append(esc(host))
            elif status == "drifted" and plan:
                names.append(
                    f'<a class="badge s-{status}" href="#{esc(village)}--{esc(host)}">'
                    f"{esc(host)}: {status}</a>"
                )
            else:
                names.append(f'<span class="badge s-{status}">{esc(host)}: {status}</span>')
            if status == "drifted" and plan:
                details.append(
                    f'<details id="{esc(village)}--{esc(host)}"><summary>{esc(village)}/'
                    f"{esc(host)}: plan that restores it</summary>{_plan(plan)}</details>"
                )
        cells = "".join(
            f'<td class="n{" s-" + s if counts[s] and s != "compliant" else ""}">{counts[s]}</td>'
            for s in STATUSES
        )
        parts.append(
            f'<tr id="v-{esc(village)}"><td class="v">{esc(village)}</td>{cells}'
            f'<td class="h">{" ".join(names)}</td></tr>'
        )
    parts.append("</tbody></table>")
    if details:
        parts += ["<h2>Drifted devices: the plans that restore them</h2>", *details]
    return page(title, "".join(parts), generated=generated, css=_CSS)


def render_compliance_page(
    results: Iterable[Mapping[str, Any]],
    path: Path,
    *,
    title: str = "Fleet compliance",
) -> Path:
    """Write the fleet compliance page to ``path`` (atomically). ``results``: one dict per
    device ``{"village", "hostname", "status", "plan"}``. Raises ReportError on a row
    without those keys or with an unknown status, or when the file cannot be written."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    text = compliance_html(results, title=title, generated=f"KopNet {title.lower()}, {stamp}")
    write_atomic(Path(path), text)
    return Path(path)


__all__ = [
    "PLAN_LINES",
    "STATUSES",
    "compliance_html",
    "render_compliance_page",
    "village_order",
]
