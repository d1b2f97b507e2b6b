"""Building blocks of the self-contained HTML pages: escaping, the page shell with its inline
style sheet, tables, state colours and an atomic file write.

Every page is one file: CSS and SVG inline, no script, no font, image or style sheet fetched
from anywhere, so a report opens from a USB stick in the field with no network at all.
"""

from __future__ import annotations

import html
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from kopnet_iac.errors import ReportError

#: outcome or state -> (fill, text) colours, shared by the topology, badges and tables
STATE_COLOURS: dict[str, tuple[str, str]] = {
    "confirmed": ("#d4edda", "#155724"),
    "compliant": ("#d4edda", "#155724"),
    "unchanged": ("#e8f5e9", "#1b5e20"),
    "no-change": ("#e8f5e9", "#1b5e20"),
    "planned": ("#e3f2fd", "#0d47a1"),
    "drifted": ("#fff3cd", "#856404"),
    "reverted": ("#fff3cd", "#856404"),
    "skipped": ("#eceff1", "#37474f"),
    "in-doubt": ("#f3e5f5", "#4a148c"),
    "never-deployed": ("#eceff1", "#37474f"),
    "unreachable": ("#f8d7da", "#721c24"),
    "failed": ("#f8d7da", "#721c24"),
}
UNKNOWN_COLOURS = ("#ffffff", "#333333")

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
background:#f6f7f9}
main{max-width:1200px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ccd;
padding-bottom:4px}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}
.facts dt{color:#667}.facts dd{margin:0}
table{border-collapse:collapse;background:#fff;margin:6px 0;font-size:13px}
th,td{border:1px solid #d8dbe2;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef0f4}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:13px}
pre{background:#fff;border:1px solid #d8dbe2;padding:8px;overflow-x:auto;font-size:12px;
margin:4px 0}
pre .add{color:#116329;background:#e6ffec}pre .del{color:#82071e;background:#ffebe9}
pre .hunk{color:#6639ba}
details{margin:4px 0}summary{cursor:pointer}
.error{background:#f8d7da;border:1px solid #e0a3a9;padding:6px 10px;color:#721c24}
.muted{color:#778}
svg{background:#fff;border:1px solid #d8dbe2;max-width:100%;height:auto}
footer{margin-top:32px;color:#889;font-size:12px}
"""


def esc(value: object) -> str:
    """Text for HTML and SVG (quotes escaped too)."""
    return html.escape("" if value is None else str(value), quote=True)


def colours(state: str | None) -> tuple[str, str]:
    return STATE_COLOURS.get(state or "", UNKNOWN_COLOURS)


def badge(state: str | None, label: str | None = None) -> str:
    """``state`` as a coloured pill (``label``: other text in the state's colours)."""
    fill, text = colours(state)
    label = label or state or "unknown"
    return f'<span class="badge" style="background:{fill};color:{text}">{esc(label)}</span>'


def table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], *, numeric: Sequence[int] = ()
) -> str:
    """A table; cells are already HTML (escape with :func:`esc`)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def code_block(text: str) -> str:
    """Preformatted text; unified-diff and plan lines coloured by their first character."""
    lines = []
    for line in text.rstrip("\n").splitlines():
        cls = ""
        if line.startswith(("+++", "---")):
            cls = ""
        elif line.startswith("+"):
            cls = "add"
        elif line.startswith("-"):
            cls = "del"
        elif line.startswith("@@"):
            cls = "hunk"
        lines.append(f'<span class="{cls}">{esc(line)}</span>' if cls else esc(line))
    return "<pre>" + "\n".join(lines) + "</pre>"


def page(title: str, body: str, *, generated: str = "", css: str = "") -> str:
    """The whole document: inline style sheet (plus ``css``), no script, no external
    reference."""
    footer = f"<footer>{esc(generated)}</footer>" if generated else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}{css}</style></head>"
        f"<body><main>{body}{footer}</main></body></html>\n"
    )


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder (never half a page)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ReportError(f"{path}: cannot write the report: {exc.strerror or exc}") from exc
