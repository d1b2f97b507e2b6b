"""Reading a RouterOS device in one round trip: managed paths, facts, revert-path health.

:func:`read_sentences` builds one pipelined batch; :func:`device_state` turns its replies into
a :class:`DeviceState`. Only the managed menus are exported (one ``/execute`` whose script
exports each top menu, terse, secrets shown), so a read costs one round trip and only the
bytes of what is managed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kopnet_iac.drivers.routeros.errors import DeviceConnectError
from kopnet_iac.drivers.routeros.session import Reply, Sentence
from kopnet_iac.drivers.routeros.transaction import JOB, REVERT_FILE, export_script
from kopnet_iac.errors import ParseError
from kopnet_iac.platforms.routeros import RouterOSConfig, parse_export
from kopnet_iac.platforms.routeros.model import Path, path_text


@dataclass
class DeviceState:
    """What one read learned about the device."""

    running: RouterOSConfig
    board: str = ""
    free_disk: int | None = None
    uptime: str = ""
    scheduler_allowed: bool = True
    pending_job: bool = False
    revert_file: bool = False
    users: list[dict[str, str]] = field(default_factory=list)
    keys: list[dict[str, str]] = field(default_factory=list)


def export_roots(paths: set[Path]) -> list[str]:
    """Top menus to export: a menu's export includes its sub-menus, so a path under another
    listed path is left out (``/interface bridge`` covers ``/interface bridge port``)."""
    roots = []
    for path in sorted(paths):
        if any(path[:n] in paths for n in range(1, len(path))):
            continue
        roots.append(path_text(path))
    return roots


def export_sentence(paths: set[Path]) -> Sentence:
    """The export of ``paths`` (everything when empty) as one ``/execute``."""
    return ("/execute", {"script": export_script(export_roots(paths)), "as-string": ""})


def parse_running(reply: Reply, paths: set[Path], host: str) -> RouterOSConfig:
    """The managed part of the export an :func:`export_sentence` answered."""
    if reply.trap is not None:
        raise DeviceConnectError(
            f"cannot export the configuration: {reply.trap} (needs RouterOS 7 with "
            "/execute as-string)",
            host=host,
            step="read",
        )
    text = reply.ret.replace("\r\n", "\n")
    try:
        config = parse_export(text, f"{host} running")
    except ParseError as exc:
        raise DeviceConnectError(
            f"the device's export does not parse: {exc}", host=host, step="read"
        ) from exc
    if paths:
        config.sections = {p: e for p, e in config.sections.items() if p in paths}
    return config


def read_sentences(paths: set[Path], *, users: bool, keys: bool) -> list[Sentence]:
    """The read batch: export of ``paths`` (everything when empty), facts, scheduler state."""
    sentences: list[Sentence] = [
        export_sentence(paths),
        ("/system/resource/print", {".proplist": "board-name,free-hdd-space,uptime,version"}),
        ("/system/device-mode/print", {}),
        ("/system/scheduler/print", {"?name": JOB, ".proplist": "name"}),
        ("/file/print", {"?name": REVERT_FILE, ".proplist": "name"}),
    ]
    if users:
        sentences.append(("/user/print", {".proplist": "name,group,address,disabled,comment"}))
    if keys:
        sentences.append(("/user/ssh-keys/print", {}))
    return sentences


def device_state(
    replies: list[Reply], paths: set[Path], *, users: bool, keys: bool, host: str
) -> DeviceState:
    """Interpret the replies of :func:`read_sentences` (same flags)."""
    export, resource, mode, job, revert = replies[:5]
    config = parse_running(export, paths, host)
    row = resource.rows[0] if resource.rows else {}
    free = row.get("free-hdd-space", "")
    mode_row = mode.rows[0] if mode.ok and mode.rows else {}
    state = DeviceState(
        running=config,
        board=row.get("board-name", ""),
        free_disk=int(free) if free.isdigit() else None,
        uptime=row.get("uptime", ""),
        scheduler_allowed=mode_row.get("scheduler", "yes") not in ("no", "false"),
        pending_job=bool(job.rows),
        revert_file=bool(revert.rows),
    )
    rest = replies[5:]
    if users:
        state.users = rest.pop(0).rows
    if keys:
        state.keys = rest.pop(0).rows
    return state
