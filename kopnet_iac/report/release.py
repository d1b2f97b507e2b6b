"""The HTML report of one release: outcome, the village topology coloured by each device's
outcome, a timeline of the journal per device, per-device plans (secrets masked),
verification results and, where the release recorded it, the wire cost.

One self-contained file (see :mod:`kopnet_iac.report.html`). ``kopnet show RELEASE --html``
writes it on demand and every deploy writes ``<state>/reports/<release>.html``.

Wire cost: the configuration operations of each device are always shown; a journal entry
whose detail holds ``round_trips`` (and optionally ``connections``, ``bytes_to_device``,
``bytes_from_device``) is shown as that host's wire cost.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kopnet_iac.report.html import badge, code_block, esc, page, table, write_atomic
from kopnet_iac.report.topology import render_topology_svg
from kopnet_iac.state.models import Release, format_age, from_text, to_text
from kopnet_iac.state.redact import mask_secrets

if TYPE_CHECKING:
    from kopnet_iac.inventory.loader import Inventory
    from kopnet_iac.inventory.models import Village
    from kopnet_iac.state import ReleaseStore

log = logging.getLogger(__name__)

WIRE_KEYS = ("connections", "round_trips", "bytes_to_device", "bytes_from_device")
STEP_COLOURS = {
    "apply": "#1565c0",
    "arm": "#6a1b9a",
    "confirm": "#2e7d32",
    "revert": "#c62828",
    "verify": "#ef6c00",
    "finish": "#37474f",
}


def _stamp(moment: datetime | None) -> str:
    return "-" if moment is None else to_text(moment)[:19].replace("T", " ") + "Z"


def _detail(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return " ".join(f"{k}={_detail(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_detail(v) for v in value)
    return str(value)


def _offset(release: Release, at: str) -> float:
    return (from_text(at) - release.started).total_seconds()


def timeline_svg(release: Release) -> str:
    """One row per device (and one for the village), a mark per journal step at its time."""
    entries = release.journal
    if not entries:
        return '<p class="muted">no journal entries</p>'
    hosts: list[str] = []
    for entry in entries:
        name = entry["host"] or "(village)"
        if name not in hosts:
            hosts.append(name)
    end = max(_offset(release, e["at"]) for e in entries)
    if release.finished is not None:
        end = max(end, (release.finished - release.started).total_seconds())
    end = max(end, 0.001)
    left, right, row_h, width = 170, 30, 38, 1000
    height = 40 + row_h * len(hosts)
    scale = (width - left - right) / end
    digits = 0 if end >= 100 else 1 if end >= 2 else 2
    out = [
        f'<svg class="timeline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="system-ui,sans-serif" font-size="11">'
    ]
    for tick in range(5):
        x = left + (width - left - right) * tick / 4
        out.append(
            f'<line x1="{x:.1f}" y1="18" x2="{x:.1f}" y2="{height - 6}" stroke="#e3e6ea"/>'
            f'<text x="{x:.1f}" y="12" text-anchor="middle" fill="#667">'
            f"+{end * tick / 4:.{digits}f}s</text>"
        )
    for i, host in enumerate(hosts):
        y = 34 + i * row_h
        mine = [e for e in entries if (e["host"] or "(village)") == host]
        xs = [left + _offset(release, e["at"]) * scale for e in mine]
        out.append(
            f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" font-weight="600">'
            f"{esc(host)}</text>"
            f'<line x1="{min(xs):.1f}" y1="{y}" x2="{max(xs):.1f}" y2="{y}" stroke="#b0bec5" '
            'stroke-width="3"/>'
        )
        for j, (entry, x) in enumerate(zip(mine, xs, strict=True)):
            colour = STEP_COLOURS.get(entry["step"], "#546e7a")
            label_y = y - 7 if j % 2 == 0 else y + 15
            out.append(
                f'<g class="step"><title>{esc(entry["step"])} at '
                f"+{_offset(release, entry['at']):.2f}s {esc(_detail(entry['detail']))}</title>"
                f'<circle cx="{x:.1f}" cy="{y}" r="5" fill="{colour}"/>'
                f'<text x="{x + 6:.1f}" y="{label_y}" fill="{colour}">{esc(entry["step"])}</text>'
                "</g>"
            )
    out.append("</svg>")
    return "".join(out)


def _facts(release: Release) -> str:
    took = format_age(release.finished - release.started) if release.finished else "-"
    git = (release.git_revision or "-") + (" (dirty tree)" if release.git_dirty else "")
    rows = [
        ("village", release.village),
        ("kind", release.kind),
        ("operator", f"{release.operator} (controller {release.controller})"),
        ("started", _stamp(release.started)),
        ("finished", f"{_stamp(release.finished)} (took {took})"),
        ("git revision", git),
    ]
    if release.source_release:
        rows.append(("intent of", release.source_release))
    return (
        '<dl class="facts">'
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
        + "</dl>"
    )


def _outcome(release: Release) -> str:
    return "in-doubt" if release.finished is None else str(release.outcome)


def _wire(release: Release) -> str:
    rows = []
    for entry in release.journal:
        detail = entry["detail"]
        if isinstance(detail, dict) and "round_trips" in detail:
            rows.append(
                [esc(entry["host"] or "(village)"), esc(entry["step"])]
                + [esc(detail.get(key, "-")) for key in WIRE_KEYS]
            )
    if not rows:
        return '<p class="muted">no wire statistics recorded for this release</p>'
    return table(("host", "step", *WIRE_KEYS), rows, numeric=(2, 3, 4, 5))


def _devices(release: Release) -> str:
    rows = [
        [
            f'<a href="#device-{esc(d["hostname"])}">{esc(d["hostname"])}</a>',
            esc(d["platform"]),
            badge(d["outcome"]),
            esc("-" if d["operations"] is None else d["operations"]),
            esc(mask_secrets(d["error"] or "")),
        ]
        for d in release.devices
    ]
    if not rows:
        return '<p class="muted">no device recorded</p>'
    return table(("device", "platform", "outcome", "operations", "error"), rows, numeric=(3,))


def _verification(release: Release) -> str:
    checks = sorted(
        release.verification, key=lambda v: (bool(v["ok"]), v["host"] or "", v["check"])
    )
    if not checks:
        return '<p class="muted">no verification recorded</p>'
    failed = sum(1 for v in checks if not v["ok"])
    rows = [
        [
            esc(v["host"] or "-"),
            esc(v["check"]),
            badge("confirmed" if v["ok"] else "failed", "ok" if v["ok"] else "FAILED"),
            esc(mask_secrets(_detail(v["detail"]))),
        ]
        for v in checks
    ]
    summary = f"<p>{len(checks)} check(s), <strong>{failed} failed</strong></p>"
    return summary + table(("host", "check", "result", "detail"), rows)


def _device_sections(release: Release) -> str:
    parts = []
    for device in release.devices:
        host = device["hostname"]
        parts.append(f'<h3 id="device-{esc(host)}">{esc(host)} {badge(device["outcome"])}</h3>')
        if device["error"]:
            parts.append(f'<p class="error">{esc(mask_secrets(device["error"]))}</p>')
        plan = device["plan"]
        if plan:
            parts.append("<p>plan (secrets masked):</p>" + code_block(mask_secrets(plan)))
        else:
            parts.append('<p class="muted">no change planned</p>')
        if device["revert_plan"]:
            parts.append(
                "<details><summary>revert plan</summary>"
                + code_block(mask_secrets(device["revert_plan"]))
                + "</details>"
            )
        if device["running_before"]:
            parts.append(
                "<details><summary>running configuration before (secrets masked)</summary>"
                + code_block(mask_secrets(device["running_before"]))
                + "</details>"
            )
    return "".join(parts)


def device_states(release: Release) -> dict[str, str]:
    """hostname -> the release's outcome for it (``in-doubt`` for an unfinished release)."""
    if release.finished is None:
        return {d["hostname"]: "in-doubt" for d in release.devices}
    return {d["hostname"]: d["outcome"] for d in release.devices if d["outcome"]}


def render_release_report(release: Release, village: Village | None = None) -> str:
    """The whole page; ``village`` (its inventory entry) adds the topology drawing."""
    outcome = _outcome(release)
    body = [f"<h1>Release {esc(release.id)} {badge(outcome)}</h1>", _facts(release)]
    if release.error:
        body.append(f'<p class="error">{esc(mask_secrets(release.error))}</p>')
    body.append("<h2>Topology</h2>")
    if village is not None:
        body.append(render_topology_svg(village, device_states(release)))
    else:
        body.append('<p class="muted">the village is not in the inventory at hand</p>')
    body += ["<h2>Devices</h2>", _devices(release)]
    body += ["<h2>Verification</h2>", _verification(release)]
    body += ["<h2>Timeline</h2>", timeline_svg(release)]
    journal_rows = [
        [
            esc(e["seq"]),
            esc(_stamp(from_text(e["at"]))),
            f"+{_offset(release, e['at']):.2f}s",
            esc(e["step"]),
            esc(e["host"] or "-"),
            esc(mask_secrets(_detail(e["detail"]))),
        ]
        for e in release.journal
    ]
    body.append(
        "<details><summary>journal (each entry written before its step)</summary>"
        + table(("#", "at (UTC)", "offset", "step", "host", "detail"), journal_rows, numeric=(0,))
        + "</details>"
    )
    body += ["<h2>Wire cost</h2>", _wire(release)]
    body += ["<h2>Changes per device</h2>", _device_sections(release)]
    title = f"{release.village}: {release.kind} {release.id} ({outcome})"
    return page(title, "".join(body), generated=f"KopNet release report {release.id}")


def write_release_report(
    store: ReleaseStore,
    release_id: str,
    path: Path,
    *,
    inventory: Inventory | None = None,
) -> Path:
    """Write the report of ``release_id`` to ``path`` (atomically); ``inventory`` adds the
    village topology. Raises UnknownReleaseError, ReportError."""
    release = store.get_release(release_id)
    village = None
    if inventory is not None:
        village = inventory.villages.get(release.village)
    write_atomic(Path(path), render_release_report(release, village))
    log.info("%s: release report written to %s", release.village, path)
    return Path(path)


__all__ = [
    "device_states",
    "render_release_report",
    "timeline_svg",
    "write_release_report",
]
