"""Release store commands: ``kopnet history``, ``kopnet show``, ``kopnet lock list|break``.

Exit codes: 0 ok, 1 declined at the prompt, 2 usage, 3 unknown release, 4 the state database
cannot be used (damaged, newer schema, unreadable; the message names the file).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kopnet_iac.cli.context import EXIT_ERROR, echo_json
from kopnet_iac.errors import KopnetError, StateError
from kopnet_iac.state import (
    LockInfo,
    Release,
    ReleaseStore,
    StateMissingError,
    UnknownReleaseError,
    default_state_dir,
    mask_secrets,
)
from kopnet_iac.state.models import format_age, from_text, to_text, utcnow

if TYPE_CHECKING:
    from kopnet_iac.inventory.loader import Inventory

F = TypeVar("F", bound=Callable[..., Any])

EXIT_UNKNOWN_RELEASE = 3
EXIT_STATE_ERROR = 4


def state_option(func: F) -> F:
    """``--state DIR`` (env ``KOPNET_STATE``, default ``./.kopnet/state``)."""
    return click.option(
        "--state",
        "state_dir",
        metavar="DIR",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        envvar="KOPNET_STATE",
        help="State directory holding the release store (state.db). "
        "Env: KOPNET_STATE. Default: .kopnet/state",
    )(func)


@contextmanager
def state_errors() -> Iterator[None]:
    """Release store errors as a clean message and exit code (never a traceback)."""
    try:
        yield
    except UnknownReleaseError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_UNKNOWN_RELEASE)
    except StateError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_STATE_ERROR)


def _open(state_dir: Path | None) -> ReleaseStore | None:
    """The store, or None when nothing was ever recorded there (read commands create nothing)."""
    try:
        return ReleaseStore.open(state_dir, create=False)
    except StateMissingError:
        return None


def _where(state_dir: Path | None) -> Path:
    return state_dir if state_dir is not None else default_state_dir()


def columns(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain aligned columns (no truncation, no box drawing: fits terminals and CI logs).

    >>> print(columns(("a", "bb"), [("xyz", "1")]))
    a    bb
    xyz  1
    """
    widths = [max(len(str(cell)) for cell in col) for col in zip(headers, *rows, strict=True)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in (headers, *rows)
    ]
    return "\n".join(lines)


def _interactive() -> bool:
    return sys.stdin.isatty()


def _stamp(text: str | None) -> str:
    return "-" if not text else text[:19].replace("T", " ") + "Z"


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(history_cmd)
    group.add_command(show_cmd)
    group.add_command(lock_group)
    group.add_command(topology_cmd)


# --------------------------------------------------------------------------- kopnet history


@click.command("history")
@click.argument("village", required=False)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Newest N releases only.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@state_option
def history_cmd(
    village: str | None, limit: int | None, as_json: bool, state_dir: Path | None
) -> None:
    """Releases of VILLAGE (deploys, rollbacks, replacements), newest first; without VILLAGE,
    of every village."""
    with state_errors():
        store = _open(state_dir)
        rows = [] if store is None else store.history(village, limit=limit)
        if store is not None:
            store.close()
    if as_json:
        echo_json([row.as_dict() for row in rows])
        return
    if not rows:
        click.echo(f"no releases of {village or 'any village'} recorded in {_where(state_dir)}")
        return
    lines: list[tuple[str, ...]] = []
    for row in rows:
        took = format_age(row.duration) if row.duration is not None else "-"
        git = (row.git_revision or "-")[:12] + (" +dirty" if row.git_dirty else "")
        outcome = "IN-DOUBT" if row.finished is None else str(row.outcome)
        if row.source_release:
            outcome += f" (intent of {row.source_release})"
        lines.append(
            (
                row.id,
                row.kind,
                _stamp(to_text(row.started)),
                took,
                row.operator,
                git,
                str(row.devices),
                str(row.operations),
                outcome,
            )
        )
    headers = (
        "release",
        "kind",
        "started (UTC)",
        "took",
        "operator",
        "git",
        "devices",
        "ops",
        "outcome",
    )
    click.echo(columns(headers, lines))
    doubt = sum(1 for row in rows if row.in_doubt)
    if doubt:
        click.echo(
            f"{doubt} release(s) in doubt: the next deploy or rollback of "
            f"{village or 'their village'} reads the devices and records what really happened"
        )


# --------------------------------------------------------------------------- kopnet show


@click.command("show")
@click.argument("release_id", metavar="RELEASE")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--rendered", is_flag=True, help="Include the rendered configs (placeholders).")
@click.option("--plans/--no-plans", default=True, show_default=True, help="Per-device plans.")
@click.option(
    "--html",
    "html_file",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the release as one self-contained HTML page (topology, timeline, "
    "plans, checks) to FILE.",
)
@state_option
@click.pass_context
def show_cmd(
    ctx: click.Context,
    release_id: str,
    as_json: bool,
    rendered: bool,
    plans: bool,
    html_file: Path | None,
    state_dir: Path | None,
) -> None:
    """Outcome, timeline, devices, plans and verification of RELEASE (secrets masked)."""
    with state_errors():
        store = _open(state_dir)
        if store is None:
            raise UnknownReleaseError(
                f"unknown release {release_id!r}: no state database in {_where(state_dir)}"
            )
        try:
            release = store.get_release(release_id)
            if html_file is not None:
                _write_html(ctx, store, release_id, html_file)
        finally:
            store.close()
    if html_file is not None and not as_json:
        click.echo(f"report written to {html_file}", err=True)
    if as_json:
        data = release.as_dict(rendered=rendered)
        for device in data["devices"]:
            for key in ("running_before", "plan", "revert_plan"):
                if device[key] is not None:
                    device[key] = mask_secrets(device[key])
        echo_json(data)
        return
    _print_release(release, rendered=rendered, plans=plans)


def _write_html(ctx: click.Context, store: ReleaseStore, release_id: str, path: Path) -> None:
    from kopnet_iac.cli.context import app_context
    from kopnet_iac.report.release import write_release_report

    inventory = load_inventory_quietly(app_context(ctx).inventory_dir)
    try:
        write_release_report(store, release_id, path, inventory=inventory)
    except KopnetError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)


def load_inventory_quietly(inventory_dir: Path) -> Inventory | None:
    """The inventory for a drawing, or None when there is none here or it does not load
    (a report of the past must not depend on today's inventory being valid)."""
    from kopnet_iac.inventory.loader import load_inventory

    if not inventory_dir.is_dir():
        return None
    try:
        return load_inventory(inventory_dir)
    except KopnetError as exc:
        logging.getLogger(__name__).warning("no topology drawing: %s", exc)
        return None


def _print_release(release: Release, *, rendered: bool, plans: bool) -> None:
    outcome = "IN-DOUBT (never finished)" if release.finished is None else str(release.outcome)
    out = [f"release {release.id}: {release.kind} of {release.village}: {outcome}"]
    took = format_age(release.finished - release.started) if release.finished else "-"
    finished = _stamp(to_text(release.finished)) if release.finished else "-"
    facts = [
        ("operator", f"{release.operator} (controller {release.controller})"),
        ("started", _stamp(to_text(release.started))),
        ("finished", f"{finished} (took {took})"),
        ("git", (release.git_revision or "-") + (" (dirty tree)" if release.git_dirty else "")),
    ]
    if release.source_release:
        facts.append(("intent of", release.source_release))
    if release.error:
        facts.append(("error", release.error))
    out += [f"  {label:<10} {value}" for label, value in facts]

    out += ["", "timeline (journal, each entry written before its step):"]
    steps = [
        (
            str(e["seq"]),
            _stamp(e["at"]),
            f"+{(from_text(e['at']) - release.started).total_seconds():.1f}s",
            e["step"],
            e["host"] or "-",
            "" if e["detail"] is None else _compact(e["detail"]),
        )
        for e in release.journal
    ]
    out.append(
        _indent(columns(("#", "at (UTC)", "offset", "step", "host", "detail"), steps))
        if steps
        else "  (no journal entries)"
    )

    out += ["", "devices:"]
    devices = [
        (
            d["hostname"],
            d["platform"],
            d["outcome"] or "-",
            "-" if d["operations"] is None else str(d["operations"]),
            d["error"] or "",
        )
        for d in release.devices
    ]
    out.append(
        _indent(columns(("hostname", "platform", "outcome", "operations", "error"), devices))
        if devices
        else "  (no device recorded)"
    )

    out += ["", "verification:"]
    checks = [
        (
            v["host"] or "-",
            v["check"],
            "ok" if v["ok"] else "FAILED",
            "" if v["detail"] is None else _compact(v["detail"]),
        )
        for v in release.verification
    ]
    out.append(
        _indent(columns(("host", "check", "result", "detail"), checks))
        if checks
        else "  (no verification recorded)"
    )

    texts: list[tuple[str, str]] = []
    if plans:
        for device in release.devices:
            for key, title in (("plan", "plan"), ("revert_plan", "revert plan")):
                if device[key]:
                    texts.append((f"{title} of {device['hostname']}", device[key]))
    if rendered:
        texts += [(f"rendered {path}", text) for path, text in sorted(release.rendered.items())]
    for title, text in texts:
        out += ["", f"--- {title}", mask_secrets(text).rstrip("\n")]
    click.echo("\n".join(out))


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return " ".join(f"{k}={_compact(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ",".join(_compact(v) for v in value)
    return str(value)


# --------------------------------------------------------------------------- kopnet lock


@click.group("lock")
def lock_group() -> None:
    """Village locks: one deploy or rollback per village at a time."""


@lock_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@state_option
def lock_list_cmd(as_json: bool, state_dir: Path | None) -> None:
    """Villages locked now: who holds each lock, where, for how long, and whether it is stale."""
    with state_errors():
        store = _open(state_dir)
        held = [] if store is None else store.list_locks()
        if store is not None:
            store.close()
    now = utcnow()
    if as_json:
        echo_json([lock.as_dict(now) for lock in held])
        return
    if not held:
        click.echo(f"no village is locked ({_where(state_dir)})")
        return
    rows = [
        (
            lock.village,
            lock.operator,
            lock.host,
            str(lock.pid),
            lock.purpose,
            _stamp(to_text(lock.started)),
            format_age(lock.age(now)),
            "STALE (holder gone)" if lock.stale else "held",
        )
        for lock in held
    ]
    headers = ("village", "operator", "host", "pid", "purpose", "since (UTC)", "age", "state")
    click.echo(columns(headers, rows))
    if any(lock.stale for lock in held):
        click.echo("a stale lock stays until removed: kopnet lock break VILLAGE")


@lock_group.command("break")
@click.argument("village")
@click.option("--yes", is_flag=True, help="Do not ask (required when not on a terminal).")
@state_option
def lock_break_cmd(village: str, yes: bool, state_dir: Path | None) -> None:
    """Remove VILLAGE's lock, whoever holds it. Only when no deploy or rollback of it runs:
    a release it leaves unfinished is resolved by the next deploy or rollback."""
    with state_errors():
        store = _open(state_dir)
        holder: LockInfo | None = None if store is None else store.lock_of(village)
        if store is None or holder is None:
            click.echo(f"{village} is not locked")
            if store is not None:
                store.close()
            return
        try:
            click.echo(f"{village}: lock {holder.describe()}")
            if not yes:
                if not _interactive():
                    raise click.UsageError(
                        "not on a terminal: add --yes to break the lock",
                        ctx=click.get_current_context(),
                    )
                if not click.confirm(f"Break the lock of {village}?", default=False):
                    click.echo("left as it is")
                    sys.exit(1)
            broken = store.break_lock(village, only=holder)
        finally:
            store.close()
    if broken is None:
        click.echo(f"the lock of {village} changed meanwhile; nothing broken (run again)", err=True)
        sys.exit(1)
    click.echo(
        f"lock of {village} broken (was held by {broken.operator} on {broken.host}, "
        f"pid {broken.pid})"
    )


# --------------------------------------------------------------------------- kopnet topology


@click.command("topology")
@click.argument("village")
@click.option(
    "--svg",
    "svg_file",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Write the drawing to FILE (SVG; '-' for standard output).",
)
@state_option
@click.pass_context
def topology_cmd(ctx: click.Context, village: str, svg_file: Path, state_dir: Path | None) -> None:
    """Draw VILLAGE from the inventory: ISP edge and uplink, gateway, core router, radios,
    links with their ports, hamlets with VLANs and sectors; each device coloured by its
    outcome in the village's latest release."""
    from kopnet_iac.cli.context import app_context, cli_errors
    from kopnet_iac.inventory.loader import load_inventory
    from kopnet_iac.report.html import write_atomic
    from kopnet_iac.report.release import device_states
    from kopnet_iac.report.topology import render_topology_svg

    with cli_errors():
        inv = load_inventory(app_context(ctx).inventory_dir)
        if village not in inv.villages:
            known = ", ".join(sorted(inv.villages))
            raise KopnetError(f"unknown village {village!r} (known: {known})")
        states: dict[str, str] = {}
        with state_errors():
            store = _open(state_dir)
            if store is not None:
                try:
                    latest = store.releases(village, limit=1)
                finally:
                    store.close()
                if latest:
                    states = device_states(latest[0])
        svg = render_topology_svg(inv.villages[village], states, standalone=True)
        if str(svg_file) == "-":
            click.echo(svg)
        else:
            write_atomic(svg_file, svg + "\n")
            click.echo(f"topology of {village} written to {svg_file}", err=True)
