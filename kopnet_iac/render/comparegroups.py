"""``kopnet diff`` grouped by distinct change (text, markdown, JSON); see :mod:`.grouping`.

Each group shows one representative device's real diff, how many devices share the change
and which. When no two devices share a change, grouping adds nothing and the CLI prints the
per-device formats of :mod:`.compare` instead (:func:`worth_grouping`).
"""

from __future__ import annotations

from typing import Any

from kopnet_iac.render.compare import COMMENT_LIMIT, CompareReport, FileChange, code_fence
from kopnet_iac.render.grouping import ChangeGroup, ChangeItem, group_changes

#: GitHub refuses comments longer than this (characters)
MARKDOWN_LIMIT = COMMENT_LIMIT
#: devices named per group before "and N more"
LISTED = 40


def compare_groups(report: CompareReport) -> list[ChangeGroup]:
    """The report's devices grouped by their distinct changes, biggest group first."""
    items = [ChangeItem(c.village, c.host, c.path, c.diff) for c in report.changes]
    return group_changes(items, report.values)


def worth_grouping(groups: list[ChangeGroup]) -> bool:
    """At least two devices share a change."""
    return any(group.count > 1 for group in groups)


def _files(report: CompareReport, device: tuple[str, str]) -> list[FileChange]:
    return [c for c in report.changes if (c.village, c.host) == device]


def _names(group: ChangeGroup, limit: int = LISTED) -> str:
    names = [f"{village}/{host}" for village, host in group.members]
    if len(names) > limit:
        return ", ".join(names[:limit]) + f", and {len(names) - limit} more"
    return ", ".join(names)


def _headline(report: CompareReport, groups: list[ChangeGroup]) -> str:
    devices = sum(g.count for g in groups)
    return (
        f"{devices} device(s), {len(report.changes)} file(s) differ in {len(groups)} distinct "
        f"change(s) ({report.base} -> {report.head})"
    )


def format_text_grouped(report: CompareReport, groups: list[ChangeGroup]) -> str:
    """One section per distinct change: count, devices, the representative's diff."""
    parts = [_headline(report, groups) + "\n"]
    parts.append("devices in one group differ only in their own names, addresses, VLAN ids,\n")
    parts.append("SSIDs and frequencies; the diff shown is the first device's\n")
    for number, group in enumerate(groups, 1):
        village, host = group.representative
        parts.append(
            f"\n== change {number} of {len(groups)}: {group.count} device(s), shown for "
            f"{village}/{host}\n   devices: {_names(group)}\n"
        )
        files = _files(report, group.representative)
        for c in files:
            parts.append(f"   {c.status} {c.path} (+{c.added_lines} -{c.removed_lines})\n")
        for c in files:
            parts.append(c.diff)
    return "".join(parts)


def format_markdown_grouped(
    report: CompareReport,
    groups: list[ChangeGroup],
    *,
    limit: int = MARKDOWN_LIMIT,
    full_diff: str | None = None,
) -> str:
    """A PR comment of at most ``limit`` characters: a table of distinct changes, then one
    collapsible representative diff per change; diffs that do not fit are named, not cut."""
    head = (
        f"### KopNet: rendered configuration changes (`{report.base}` → `{report.head}`)\n\n"
        f"**{sum(g.count for g in groups)}** device(s), **{len(report.changes)}** file(s) in "
        f"**{len(groups)}** distinct change(s): devices in one change differ only in their "
        "own names, addresses, VLAN ids, SSIDs and frequencies.\n\n"
        "| # | Devices | Villages | Shown for | Lines |\n|---|---|---|---|---|\n"
    )
    rows: list[str] = []
    blocks: list[str] = []
    for number, group in enumerate(groups, 1):
        village, host = group.representative
        files = _files(report, group.representative)
        plus = sum(c.added_lines for c in files)
        minus = sum(c.removed_lines for c in files)
        rows.append(
            f"| {number} | {group.count} | {len(group.villages)} | {village}/{host} "
            f"| +{plus} -{minus} |\n"
        )
        body = "".join(c.diff for c in files)
        fence = code_fence(body)
        blocks.append(
            f"<details><summary>Change {number}: {group.count} device(s), shown for "
            f"<code>{village}/{host}</code></summary>\n\n"
            f"Devices: {_names(group, 20)}\n\n{fence}diff\n{body}{fence}\n\n</details>\n"
        )
    table = ""
    for number, row in enumerate(rows):
        if len(head) + len(table) + len(row) > limit // 2:
            table += f"| … | {len(rows) - number} more change(s) | | | |\n"
            break
        table += row
    out = head + table + "\n"
    shown = 0
    note_room = 300
    for block in blocks:
        if len(out) + len(block) + note_room > limit:
            break
        out += block
        shown += 1
    if shown < len(blocks):
        out += (
            f"\n**{len(blocks) - shown} of {len(blocks)} change diff(s) not shown**: a "
            f"comment holds at most {limit:,} characters. "
            + (
                f"The complete diff is in `{full_diff}`.\n"
                if full_diff
                else "Run `kopnet diff --format text` for all of them.\n"
            )
        )
    return out


def groups_json(groups: list[ChangeGroup]) -> list[dict[str, Any]]:
    """JSON-ready groups: count, devices, representative."""
    return [
        {
            "count": group.count,
            "representative": {"village": group.representative[0], "host": group.representative[1]},
            "devices": [{"village": v, "host": h} for v, h in group.members],
        }
        for group in groups
    ]


__all__ = [
    "compare_groups",
    "format_markdown_grouped",
    "format_text_grouped",
    "groups_json",
    "worth_grouping",
]
