"""Console text for command replies (print tables, singleton property lists)."""

from __future__ import annotations

from kopnet_iac.lab.routeros.store import Reply

CRLF = "\r\n"


def format_rows(rows: list[dict[str, str]], singleton: bool) -> str:
    """Rows as ``print`` shows them: ``key: value`` lines for singletons, numbered items else."""
    if singleton:
        width = max((len(k) for row in rows for k in row), default=0)
        return CRLF.join(f"{k.rjust(width + 2)}: {v}" for row in rows for k, v in row.items())
    lines = ["Flags: X - disabled"]
    for index, row in enumerate(rows):
        flag = "X" if row.get("disabled") == "true" else " "
        props = " ".join(
            f'{k}="{v}"' if " " in v or not v else f"{k}={v}"
            for k, v in row.items()
            if k not in (".id", "disabled")
        )
        lines.append(f"{index:>2} {flag} {props}")
    return CRLF.join(lines)


def render_reply(verb: str, reply: Reply, singleton: bool) -> str:
    if reply.text is not None:
        return reply.text.replace("\r\n", "\n").replace("\n", CRLF)
    if verb in ("print", "getall"):
        return format_rows(reply.rows, singleton)
    return ""
