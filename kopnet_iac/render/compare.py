"""Compare two sets of rendered artifacts and present the result (text, markdown, JSON)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from kopnet_iac.render.renderer import Artifact

if TYPE_CHECKING:
    from kopnet_iac.render.grouping import VillageValues

Status = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class FileChange:
    """One rendered file that differs between the two sides."""

    village: str
    host: str
    path: str
    status: Status
    diff: str
    added_lines: int
    removed_lines: int


@dataclass(frozen=True)
class CompareReport:
    """What a change alters, per device, in the intended configurations."""

    base: str
    head: str
    scope: str
    rendered_villages: int
    changes: list[FileChange] = field(default_factory=list)
    #: per changed village, its own values (to group devices by their distinct changes)
    values: dict[str, VillageValues] = field(default_factory=dict, compare=False, repr=False)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def devices(self) -> list[tuple[str, str, list[FileChange]]]:
        """(village, host, changes) sorted by village then host."""
        grouped: dict[tuple[str, str], list[FileChange]] = {}
        for change in self.changes:
            grouped.setdefault((change.village, change.host), []).append(change)
        return [(v, h, grouped[(v, h)]) for v, h in sorted(grouped)]

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "head": self.head,
            "scope": self.scope,
            "rendered_villages": self.rendered_villages,
            "changed": self.changed,
            "summary": {
                "devices": len(self.devices()),
                "files": len(self.changes),
                "added": sum(1 for c in self.changes if c.status == "added"),
                "removed": sum(1 for c in self.changes if c.status == "removed"),
                "changed": sum(1 for c in self.changes if c.status == "changed"),
            },
            "devices": [
                {
                    "village": village,
                    "host": host,
                    "files": [
                        {
                            "path": c.path,
                            "status": c.status,
                            "added_lines": c.added_lines,
                            "removed_lines": c.removed_lines,
                            "diff": c.diff,
                        }
                        for c in changes
                    ],
                }
                for village, host, changes in self.devices()
            ],
        }


def unified(path: str, old: str, new: str) -> tuple[str, int, int]:
    """Unified diff of one file with ``a/``/``b/`` names; also counts +/- lines."""
    lines = list(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{path}" if old else "/dev/null",
            tofile=f"b/{path}" if new else "/dev/null",
            n=3,
        )
    )
    added = removed = 0
    out: list[str] = []
    for line in lines:
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
        out.append(line)
    return "".join(out), added, removed


def compare_artifacts(
    old: list[Artifact], new: list[Artifact], *, base: str, head: str, scope: str, villages: int
) -> CompareReport:
    """Added, removed and changed files between two renders."""
    before = {a.path: a for a in old}
    after = {a.path: a for a in new}
    changes: list[FileChange] = []
    for path in sorted(before.keys() | after.keys()):
        a = before.get(path)
        b = after.get(path)
        if a is not None and b is not None and a.text == b.text:
            continue
        owner = b if b is not None else a
        assert owner is not None
        status: Status = "added" if a is None else "removed" if b is None else "changed"
        diff, plus, minus = unified(path, a.text if a else "", b.text if b else "")
        changes.append(
            FileChange(
                village=owner.village,
                host=owner.host,
                path=path,
                status=status,
                diff=diff,
                added_lines=plus,
                removed_lines=minus,
            )
        )
    return CompareReport(
        base=base, head=head, scope=scope, rendered_villages=villages, changes=changes
    )


def format_text(report: CompareReport) -> str:
    if not report.changed:
        return f"no changes in rendered configurations ({report.base} -> {report.head})\n"
    parts = [
        f"{len(report.devices())} device(s), {len(report.changes)} file(s) differ "
        f"({report.base} -> {report.head})\n"
    ]
    for village, host, changes in report.devices():
        parts.append(f"\n== {village}/{host}\n")
        for c in changes:
            parts.append(f"   {c.status} {c.path} (+{c.added_lines} -{c.removed_lines})\n")
        for c in changes:
            parts.append(c.diff)
    return "".join(parts)


def code_fence(text: str) -> str:
    """A code fence longer than any backtick run in the text."""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


#: GitHub refuses issue and pull-request comments longer than this (characters)
COMMENT_LIMIT = 65_536


def format_markdown(
    report: CompareReport, *, limit: int = COMMENT_LIMIT, full_diff: str | None = None
) -> str:
    """A PR comment: summary table, then one collapsible diff per file, at most ``limit``
    characters (GitHub's comment limit). What does not fit is summarised: the table stops with
    a count, the diffs that do not fit are listed by name, and the comment says where the
    complete diff is (``full_diff``: e.g. a CI artifact written with ``--full-diff``)."""
    head = f"### KopNet: rendered configuration changes (`{report.base}` → `{report.head}`)\n\n"
    if not report.changed:
        return head + "No device configuration changes.\n"
    intro = f"**{len(report.devices())}** device(s), **{len(report.changes)}** file(s).\n\n"
    rows: list[str] = []
    for village, host, changes in report.devices():
        for c in changes:
            name = c.path.rsplit("/", 1)[-1]
            rows.append(
                f"| {village} | {host} | `{name}` | {c.status} | +{c.added_lines} -{c.removed_lines} |\n"
            )
    table_head = "| Village | Device | File | Change | Lines |\n|---|---|---|---|---|\n"
    blocks: list[str] = []
    for c in report.changes:
        fence = code_fence(c.diff)
        blocks.append(
            f"<details><summary><code>{c.path}</code> ({c.status}, "
            f"+{c.added_lines} -{c.removed_lines})</summary>\n\n"
            f"{fence}diff\n{c.diff}{fence}\n\n</details>\n"
        )
    full = head + intro + table_head + "".join(rows) + "\n" + "".join(blocks)
    if len(full) <= limit:
        return full
    where = (
        f"The complete diff is in `{full_diff}`."
        if full_diff
        else "Run `kopnet diff --format text` (or pass `--full-diff FILE` in CI and attach the "
        "file) for the complete diff."
    )
    # room for the closing note, whatever counts it ends up naming
    note_room = 400 + len(where)
    budget = limit - len(head) - len(intro) - note_room
    out = [head, intro]
    used = 0
    shown_rows = 0
    if len(table_head) <= budget:
        out.append(table_head)
        used += len(table_head)
        for row in rows:
            if used + len(row) > budget // 2:  # the table takes at most half
                break
            out.append(row)
            used += len(row)
            shown_rows += 1
    if shown_rows < len(rows):
        out.append(f"| … | {len(rows) - shown_rows} more file(s) | | | |\n")
    out.append("\n")
    shown_blocks = 0
    for block in blocks:
        if used + len(block) > budget:
            break
        out.append(block)
        used += len(block)
        shown_blocks += 1
    hidden = report.changes[shown_blocks:]
    note = (
        f"\n**{len(hidden)} of {len(blocks)} file diff(s) not shown** "
        f"(+{sum(c.added_lines for c in hidden)} -{sum(c.removed_lines for c in hidden)} lines): "
        f"a pull-request comment holds at most {limit:,} characters. {where}\n"
    )
    return "".join(out) + note
