"""Run the gateway playbooks through ansible-runner and read its event stream.

Nothing here parses terminal output: every task result comes from runner events
(``runner_on_ok``, ``runner_on_failed``, ...). The result is a list of :class:`TaskResult`
(host, task, status, message, diff) that the CLI renders and the deploy pipeline can record.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from kopnet_iac import resources
from kopnet_iac.errors import ApplyError

log = logging.getLogger(__name__)

# The checkout's folders when running from one, else the copies shipped in the package.
PLAYBOOKS_DIR = resources.playbooks_dir()
ROLES_DIR = resources.roles_dir()
PLUGINS_DIR = resources.ansible_plugins_dir()

_STATUS_OF_EVENT = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "unreachable",
}


@dataclass(frozen=True)
class TaskResult:
    """One task on one host: ``status`` is ok|changed|failed|skipped|unreachable."""

    host: str
    task: str
    status: str
    action: str = ""
    handler: bool = False
    message: str = ""
    diff: str = ""

    @property
    def changed(self) -> bool:
        return self.status == "changed"

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "unreachable")


@dataclass
class PlaybookRun:
    """Outcome of one playbook run: task results in event order, runner status and rc."""

    playbook: str
    status: str = "unknown"
    rc: int | None = None
    tasks: list[TaskResult] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0 and not self.failures

    @property
    def failures(self) -> list[TaskResult]:
        return [t for t in self.tasks if t.failed]

    @property
    def changes(self) -> list[TaskResult]:
        return [t for t in self.tasks if t.changed]


def new_run_folder(parent: Path) -> Path:
    """A new folder under ``parent`` for one run's rendered files and Ansible artifacts, named
    after the time (UTC) and unique even when another run of the same village (another process,
    another state folder) starts in the same second: runs never share files."""
    parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return Path(tempfile.mkdtemp(prefix=f"{stamp}-", dir=parent)).absolute()


def format_diff(diff: Any) -> str:
    """Unified diff text from an Ansible ``diff`` result (a dict or a list of dicts)."""
    items = diff if isinstance(diff, list) else [diff]
    chunks: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if "prepared" in item:
            chunks.append(str(item["prepared"]))
            continue
        before = item.get("before", "")
        after = item.get("after", "")
        if not isinstance(before, str) or not isinstance(after, str) or before == after:
            continue
        lines = difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=str(item.get("before_header", "before")),
            tofile=str(item.get("after_header", "after")),
        )
        chunks.append("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    return "".join(chunks)


def _message(res: dict[str, Any]) -> str:
    parts = []
    items = res.get("results")
    if isinstance(items, list):  # a loop: the failed items carry the reason
        for item in items:
            if isinstance(item, dict) and (item.get("failed") or item.get("unreachable")):
                parts.append(_message(item))
        if parts:
            return "\n".join(dict.fromkeys(parts))[:2000]
    msg = res.get("msg")
    if msg:
        parts.append(str(msg).strip())
    for key in ("stderr", "module_stderr"):
        text = str(res.get(key) or "").strip()
        if text and text not in parts:
            parts.append(text)
    if not parts and res.get("stdout"):
        parts.append(str(res["stdout"]).strip())
    return "\n".join(parts)[:2000]


def task_result(event: dict[str, Any]) -> TaskResult | None:
    """A :class:`TaskResult` from one runner event, None for events that are not results."""
    kind = str(event.get("event", ""))
    if kind not in _STATUS_OF_EVENT:
        return None
    data = event.get("event_data") or {}
    res = data.get("res") or {}
    status = _STATUS_OF_EVENT[kind]
    if kind == "runner_on_ok" and res.get("changed"):
        status = "changed"
    if kind == "runner_on_failed" and data.get("ignore_errors"):
        status = "ok"
    diff = format_diff(res["diff"]) if res.get("diff") else ""
    if not diff and isinstance(res.get("results"), list):
        diff = "".join(format_diff(r["diff"]) for r in res["results"] if r.get("diff"))
    message = _message(res) if status in ("failed", "unreachable") else ""
    if status == "changed" and res.get("changed_files"):
        message = "files: " + ", ".join(str(f) for f in res["changed_files"])
    return TaskResult(
        host=str(data.get("host", "")),
        task=str(data.get("task", "")),
        status=status,
        action=str(data.get("task_action", "")),
        handler="/handlers/" in str(data.get("task_path", "")),
        message=message,
        diff=diff,
    )


def runner_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for ansible-playbook: KopNet's roles and plugins, fast SSH, no colours."""
    env = {
        "ANSIBLE_ROLES_PATH": str(ROLES_DIR),
        "ANSIBLE_LOOKUP_PLUGINS": str(PLUGINS_DIR / "lookup"),
        "ANSIBLE_INVENTORY_PLUGINS": str(PLUGINS_DIR / "inventory"),
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=5s",
        "ANSIBLE_TIMEOUT": "15",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "True",
        "ANSIBLE_FORCE_COLOR": "False",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        # task arguments (rendered file contents) never go to stdout or runner events
        "ANSIBLE_DISPLAY_ARGS_TO_STDOUT": "False",
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    if extra:
        env.update(extra)
    return env


def run_playbook(
    playbook: str,
    inventory: dict[str, Any],
    *,
    extravars: dict[str, Any] | None = None,
    check: bool = False,
    diff: bool = True,
    limit: str | None = None,
    forks: int = 10,
    workdir: Path | None = None,
    timeout: int = 600,
    keep_artifacts: bool = False,
) -> PlaybookRun:
    """Run ``playbooks/<playbook>`` against ``inventory`` (YAML-shaped dict) and collect events.

    ``workdir`` holds runner's private data (inventory, extra vars); by default a temporary
    folder is used and removed afterwards. Runner's ``artifacts/`` (the event stream and
    stdout, which carry diffs of configuration files) are read in memory and deleted after
    the run unless ``keep_artifacts`` (debugging): nothing of a file's content stays on disk.
    """
    import ansible_runner

    own_dir = workdir is None
    private = Path(tempfile.mkdtemp(prefix="kopnet-ansible-")) if workdir is None else workdir
    private.mkdir(parents=True, exist_ok=True)
    os.chmod(private, 0o700)
    result = PlaybookRun(playbook=playbook)
    cmdline = []
    if check:
        cmdline.append("--check")
    if diff:
        cmdline.append("--diff")

    def on_event(event: dict[str, Any]) -> bool:
        task = task_result(event)
        if task is not None:
            result.tasks.append(task)
            log.debug("%s: %s: %s", task.host, task.task, task.status)
        return True

    # ansible-runner installs its own SIGTERM/SIGINT handlers in the calling process and
    # leaves them there; library code must not change process-wide state, so put them back.
    saved_signals = _current_signal_handlers()
    # SSH connection sharing stays inside this run: a master connection left by an earlier run
    # (ControlPersist) would let a run with other credentials, or to a replaced box at the
    # same address, reuse an authenticated session.
    control_dir = Path(tempfile.mkdtemp(prefix="kcp-"))
    try:
        runner = ansible_runner.run(
            private_data_dir=str(private),
            project_dir=str(PLAYBOOKS_DIR),
            playbook=str(PLAYBOOKS_DIR / playbook),
            inventory=inventory,
            extravars=extravars or {},
            envvars=runner_env({"ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_dir)}),
            cmdline=" ".join(cmdline) or None,
            limit=limit,
            forks=forks,
            quiet=True,
            event_handler=on_event,
            timeout=timeout,
            suppress_env_files=True,
        )
        result.status = str(runner.status)
        result.rc = runner.rc
        if not result.ok and not result.failures:
            # Ansible stopped before any task (bad playbook, inventory, ...): its own words.
            out = runner.stdout.read() if runner.stdout is not None else ""
            lines = [line for line in str(out).splitlines() if line.strip()]
            result.error = "\n".join(lines[-15:])
    except Exception as exc:  # runner itself failed (missing binary, bad private dir)
        raise ApplyError(f"ansible-runner failed to run {playbook}: {exc}") from exc
    finally:
        _restore_signal_handlers(saved_signals)
        shutil.rmtree(control_dir, ignore_errors=True)
        if own_dir:
            shutil.rmtree(private, ignore_errors=True)
        elif keep_artifacts:
            scrub_runner_env(private)
        else:
            shutil.rmtree(private / "artifacts", ignore_errors=True)
    return result


# Environment values worth keeping in a kept artifact folder (for debugging a run).
_SHOWN_ENV = re.compile(r"(ANSIBLE_[A-Z_]+|PATH|HOME|LANG|LC_[A-Z]+|PWD|USER|SHELL)\Z")


def scrub_runner_env(private: Path) -> None:
    """ansible-runner records the whole process environment (secrets from
    ``KOPNET_SECRET_*``, the vault password) in ``artifacts/*/command``: keep the command, the
    names of the variables and only harmless values."""
    for command_file in private.glob("artifacts/*/command"):
        try:
            data = json.loads(command_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            command_file.unlink(missing_ok=True)
            continue
        env = data.get("env") if isinstance(data, dict) else None
        if isinstance(env, dict):
            data["env"] = {
                k: (v if _SHOWN_ENV.match(str(k)) else "********") for k, v in env.items()
            }
        tmp = command_file.with_name("command.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
        tmp.replace(command_file)


_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def _current_signal_handlers() -> dict[signal.Signals, _Handler]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}


def _restore_signal_handlers(saved: dict[signal.Signals, _Handler]) -> None:
    for sig, handler in saved.items():
        if handler is not None:
            signal.signal(sig, handler)
