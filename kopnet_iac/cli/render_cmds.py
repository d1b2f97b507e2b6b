"""``kopnet render`` and ``kopnet diff``: intended configurations and what a change alters."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kopnet_iac.cli.context import AppContext, cli_errors, echo_json, pass_app
from kopnet_iac.errors import KopnetError, RenderError
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.render.compare import COMMENT_LIMIT, format_markdown, format_text
from kopnet_iac.render.diffgroups import (
    diff_groups,
    format_markdown_grouped,
    format_text_grouped,
    groups_json,
    worth_grouping,
)
from kopnet_iac.render.gitdiff import diff_revisions
from kopnet_iac.render.output import write_build
from kopnet_iac.render.parallel import render_villages_parallel
from kopnet_iac.render.policy import lint_artifacts
from kopnet_iac.render.renderer import Renderer, default_templates_dir

TEMPLATES_HELP = "Templates folder (default: templates/ beside the inventory, else the project's)."


@click.command("render")
@click.argument("villages", nargs=-1)
@click.option("--all", "all_villages", is_flag=True, help="Render every village of the fleet.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="build",
    show_default=True,
    help="Build folder; each village goes to OUT/<village>/<hostname>.<ext>.",
)
@click.option(
    "--templates",
    "templates_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=TEMPLATES_HELP,
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: CPU cores).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@click.option(
    "--lint",
    "run_lint",
    is_flag=True,
    help="Also lint the rendered RouterOS (with each village's own networks) and airOS files; "
    "exit 1 on any finding (printed as PATH:LINE: RULE: ...).",
)
@pass_app
def render_cmd(
    app: AppContext,
    villages: tuple[str, ...],
    all_villages: bool,
    out_dir: Path,
    templates_dir: Path | None,
    jobs: int | None,
    as_json: bool,
    run_lint: bool,
) -> None:
    """Render the intended device configurations of VILLAGE... (or --all).

    The output folder is replaced atomically: everything is rendered first, and on any
    error nothing under OUT changes. Secrets appear only as @@secret:NAME@@ placeholders.
    """
    with cli_errors():
        if all_villages == bool(villages):
            raise click.UsageError("give VILLAGE names or --all (not both)")
        inv = load_inventory(app.inventory_dir)
        unknown = [v for v in villages if v not in inv.villages]
        if unknown:
            raise RenderError(
                f"unknown village(s): {', '.join(unknown)} (known: {', '.join(sorted(inv.villages))})"
            )
        ids = sorted(inv.villages) if all_villages else list(dict.fromkeys(villages))
        renderer = Renderer(templates_dir or default_templates_dir(app.inventory_dir))
        from kopnet_iac.cli.progress import FleetProgress, wanted

        show = all_villages and wanted(as_json)
        with FleetProgress(len(ids), "render", show, unit="village") as bar:
            artifacts = render_villages_parallel(
                renderer, inv, ids, jobs, progress=lambda n: bar.advance("", steps=n)
            )
        write_build(out_dir, artifacts, villages=ids, complete=all_villages)
        findings = lint_artifacts(inv, artifacts) if run_lint else []
        if as_json:
            echo_json(
                {
                    "out": str(out_dir),
                    "villages": ids,
                    "findings": [vars(f) for f in findings],
                    "files": [
                        {
                            "path": a.path,
                            "village": a.village,
                            "host": a.host,
                            "bytes": len(a.text.encode()),
                        }
                        for a in artifacts
                    ],
                }
            )
        else:
            hosts = len({(a.village, a.host) for a in artifacts})
            click.echo(
                f"rendered {len(artifacts)} file(s) for {hosts} device(s) of {len(ids)} village(s) into {out_dir}"
            )
            for finding in findings:
                click.echo(f"{out_dir}/{finding}")
            if run_lint:
                click.echo(f"lint: {len(findings)} finding(s)", err=True)
    if findings:
        sys.exit(1)


@click.command("diff")
@click.option("--base", required=True, help="Git revision to compare against (e.g. origin/main).")
@click.option("--head", default=None, help="Git revision with the change (default: working tree).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
)
@click.option("--exit-code", is_flag=True, help="Exit 1 when a rendered configuration differs.")
@click.option(
    "--templates",
    "templates_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=TEMPLATES_HELP,
)
@click.option(
    "--group/--no-group",
    default=True,
    show_default=True,
    help="Group devices whose changes are the same up to their own names, addresses, VLAN "
    "ids, SSIDs and frequencies: one diff per distinct change, with its devices.",
)
@click.option(
    "--max-chars",
    type=click.IntRange(min=2000),
    default=COMMENT_LIMIT,
    show_default=True,
    help="Markdown: longest comment; beyond it the diffs that do not fit are summarised.",
)
@click.option(
    "--full-diff",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the complete diff (text) to this file, e.g. a CI artifact; a markdown "
    "comment that had to be shortened points to it.",
)
@pass_app
def diff_cmd(
    app: AppContext,
    base: str,
    head: str | None,
    fmt: str,
    exit_code: bool,
    templates_dir: Path | None,
    group: bool,
    max_chars: int,
    full_diff: Path | None,
) -> None:
    """Which device configurations a change alters, between two git revisions.

    Renders the inventory and templates of both revisions with the current code (no
    device is contacted) and lists, per device, added/removed/changed files with a unified
    diff. Markdown suits a pull-request comment; JSON suits machines. Devices sharing a
    change are grouped (one diff per distinct change; JSON adds "groups"); --no-group shows
    every device. Exit codes: 0 no difference (or no --exit-code), 1 differences with
    --exit-code, 2 usage, 3 errors (bad inventory, unknown revision, template error).
    """
    with cli_errors():
        report = diff_revisions(app.inventory_dir, base, head, templates_dir)
        if full_diff is not None:
            try:
                full_diff.write_text(format_text(report), encoding="utf-8")
            except OSError as exc:
                raise KopnetError(f"{full_diff}: cannot write: {exc.strerror}") from exc
        groups = diff_groups(report) if group else []
        if fmt == "json":
            echo_json(report.to_json() | ({"groups": groups_json(groups)} if group else {}))
        elif worth_grouping(groups):
            if fmt == "markdown":
                name = str(full_diff) if full_diff is not None else None
                text = format_markdown_grouped(report, groups, limit=max_chars, full_diff=name)
            else:
                text = format_text_grouped(report, groups)
            click.echo(text, nl=False)
        elif fmt == "markdown":
            name = str(full_diff) if full_diff is not None else None
            click.echo(format_markdown(report, limit=max_chars, full_diff=name), nl=False)
        else:
            click.echo(format_text(report), nl=False)
    if exit_code and report.changed:
        sys.exit(1)


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(render_cmd)
    group.add_command(diff_cmd)
