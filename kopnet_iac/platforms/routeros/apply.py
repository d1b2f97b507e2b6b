"""Model-level interpreter of plan scripts: ``apply_script(config, script) -> config``.

Executes exactly the subset documented in :mod:`kopnet_iac.platforms.routeros.planner` on a
:class:`RouterOSConfig` (a copy; the input is not changed). It exists to prove plans
(``apply(running, plan) == intended`` and ``apply(that, revert) == running``), so it is strict:
a ``remove`` or ``place-before`` that matches nothing, or any command outside the subset,
raises :class:`ApplyError` with the script line.
"""

from __future__ import annotations

import re
from dataclasses import replace

from kopnet_iac.errors import ApplyError
from kopnet_iac.platforms.routeros.model import (
    Command,
    Condition,
    Entry,
    RouterOSConfig,
    Selector,
    path_text,
)
from kopnet_iac.platforms.routeros.normalize import effective, norm_value, selector_ident
from kopnet_iac.platforms.routeros.parser import parse_script, parse_selector
from kopnet_iac.platforms.routeros.paths import PathSchema, Schema, load_schema


def _matches(schema: PathSchema, props: dict[str, str], conds: tuple[Condition, ...]) -> bool:
    for key, op, value in conds:
        actual = effective(schema, props, key)
        if op == "=":
            if actual != norm_value(schema, key, value):
                return False
        elif op == "!=":
            if actual == norm_value(schema, key, value):
                return False
        elif op == "":
            if actual in ("", "no"):
                return False
        elif op == "!":
            if actual not in ("", "no"):
                return False
        elif op == "~":
            if re.search(value, actual) is None:
                return False
        else:
            return False
    return True


def _update(props: dict[str, str], args: tuple[tuple[str, str], ...]) -> dict[str, str]:
    out = dict(props)
    for k, v in args:
        if k.startswith("!") and not v:
            out.pop(k[1:], None)
        else:
            out[k] = v
    return out


def _fail(cmd: Command, source: str, message: str) -> ApplyError:
    return ApplyError(f"{source}:{cmd.line}: {message}", step="apply")


def apply_commands(
    config: RouterOSConfig,
    commands: list[Command],
    *,
    schema: Schema | None = None,
    source: str = "<plan>",
) -> RouterOSConfig:
    """Apply parsed plan commands to a copy of ``config``."""
    schema = schema or load_schema()
    sections = {p: list(e) for p, e in config.sections.items()}
    for cmd in commands:
        if cmd.verb == "":
            continue
        if cmd.raw or cmd.verb not in ("add", "set", "remove"):
            raise _fail(cmd, source, f"'{cmd.verb}' is not a plan command")
        ps = schema.get(cmd.path)
        entries = sections.setdefault(cmd.path, [])
        where = path_text(cmd.path)
        if cmd.verb == "add":
            props = {k: v for k, v in cmd.args if k != "place-before"}
            entry = Entry("add", props)
            before = cmd.arg("place-before")
            if before is None:
                entries.append(entry)
                continue
            sel = parse_selector(before)
            hits = [
                i for i, e in enumerate(entries)
                if e.verb == "add" and _matches(ps, e.props, sel.conditions)
            ]  # fmt: skip
            if len(hits) != 1:
                raise _fail(cmd, source, f"{where}: place-before matches {len(hits)} entries")
            entries.insert(hits[0], entry)
        elif cmd.verb == "remove":
            if cmd.selector is None:
                raise _fail(cmd, source, f"{where}: remove needs [ find where ... ]")
            conds = cmd.selector.conditions
            keep = [e for e in entries if not (e.verb == "add" and _matches(ps, e.props, conds))]
            if len(keep) == len(entries):
                raise _fail(cmd, source, f"{where}: remove matches nothing")
            sections[cmd.path] = keep
        else:
            _apply_set(cmd, ps, entries)
            sections[cmd.path] = [e for e in entries if e.verb == "add" or e.props]
    out = RouterOSConfig(config.header, {}, config.managed, config.source)
    out.sections = {p: e for p, e in sections.items() if e}
    return out


def _apply_set(cmd: Command, ps: PathSchema, entries: list[Entry]) -> None:
    if cmd.selector is None and cmd.target is None:
        for i, e in enumerate(entries):
            if e.verb == "set" and e.selector is None and e.target is None:
                entries[i] = replace(e, props=_update(e.props, cmd.args))
                return
        entries.append(Entry("set", _update({}, cmd.args)))
        return
    probe = Entry("set", {}, cmd.selector, cmd.target)
    ident = selector_ident(probe)[0]
    done = False
    for i, e in enumerate(entries):
        is_item_set = e.verb == "set" and (e.selector is not None or e.target is not None)
        if is_item_set and selector_ident(e)[0] == ident:
            entries[i] = replace(e, props=_update(e.props, cmd.args))
            done = True
    if done:
        return
    numeric = cmd.target is not None and cmd.target.isdigit()
    if numeric:
        entries.append(Entry("set", _update({}, cmd.args), None, cmd.target))
        return
    if cmd.selector is not None:
        selector = cmd.selector
    else:
        selector = Selector((("name", "=", cmd.target or ""),))
    for i, e in enumerate(entries):
        if e.verb == "add" and _matches(ps, e.props, selector.conditions):
            entries[i] = replace(e, props=_update(e.props, cmd.args))
            done = True
    if not done:
        # A built-in item the export does not show yet: record the change as an overlay.
        entries.append(Entry("set", _update({}, cmd.args), selector))


def apply_script(
    config: RouterOSConfig, script: str, *, schema: Schema | None = None, source: str = "<plan>"
) -> RouterOSConfig:
    """Parse ``script`` (plan subset) and apply it to a copy of ``config``."""
    return apply_commands(config, parse_script(script, source), schema=schema, source=source)
