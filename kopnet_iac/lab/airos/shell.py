"""airOS BusyBox-like shell over SSH: interactive sessions and exec channels.

Supports what automation uses (the builtins are in :mod:`kopnet_iac.lab.airos.busybox`):
``cat`` (files, stdin, ``cat > file``), ``echo``, ``cp``/``mv``/``rm``/``cmp``/``test``, heredocs,
pipes to ``grep``, ``;``/newline/``&&``/``||``, background jobs with ``&`` (``nohup``/``setsid``,
``sh -c``, ``sleep``, ``kill``, ``$!``), ``set -e``, ``$(...)``, ``cfgmtd -w|-r -p /etc/ [-f
file]``, ``/usr/etc/rc.d/rc.softrestart [save]``, ``reboot``, ``mca-status``, ``passwd``, ...

Background jobs run on the device, not in the SSH session: a job started with ``nohup`` or
``setsid`` survives the end (or the drop) of the session that started it; a plain ``cmd &``
gets the hangup when its session ends. A reboot ends every job.

Every command line is logged and passed through the device's fault hook first.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import asyncssh

from kopnet_iac.errors import KopnetError
from kopnet_iac.lab.airos.config import FIRMWARE
from kopnet_iac.lab.airos.shellparse import (
    HEREDOC_RE,
    Command,
    Pipeline,
    ShellSyntaxError,
    and_or_lists,
    expand_word,
    has_expansion,
    parse_line,
    split_heredoc,
)
from kopnet_iac.lab.faults import Action
from kopnet_iac.lab.wirestats import classify_airos_shell

if TYPE_CHECKING:
    from kopnet_iac.lab.airos.device import AirOSDevice

__all__ = [
    "Context",
    "Shell",
    "ShellResult",
    "ShellSyntaxError",
    "handle_process",
    "make_ssh_server",
    "parse_line",
    "split_heredoc",
]

logger = logging.getLogger(__name__)

StdinReader = Callable[[], Awaitable[str]]
_HEREDOC = HEREDOC_RE
DETACHING = ("nohup", "setsid")


@dataclass
class ShellResult:
    stdout: str = ""
    stderr: str = ""
    status: int = 0
    exit: bool = False  # end the session normally
    drop: bool = False  # abort the connection (fault injection)


@dataclass
class Context:
    """State of one shell process: its pid, variables, ``set -e``, last statuses."""

    pid: int
    variables: dict[str, str] = field(default_factory=dict)
    errexit: bool = False
    last_status: int = 0
    last_background: int | None = None

    def child(self, pid: int) -> Context:
        """A subshell or ``sh -c`` process: a copy of the variables, its own pid."""
        return Context(pid=pid, variables=dict(self.variables))

    def lookup(self) -> dict[str, str]:
        values = dict(self.variables)
        values["$"] = str(self.pid)
        values["?"] = str(self.last_status)
        if self.last_background is not None:
            values["!"] = str(self.last_background)
        return values


def _constant(text: str) -> StdinReader:
    async def read() -> str:
        return text

    return read


class Shell:
    """Runs command lines against one device (one instance per SSH session)."""

    def __init__(self, device: AirOSDevice, peer: object = None) -> None:
        self.device = device
        self.peer = peer  # the client's address as the device sees it (wire stats)
        self.context = Context(pid=device.new_pid())
        self.attached_jobs: set[int] = set()  # jobs that get the hangup with this session

    async def run(self, text: str, stdin: StdinReader | None) -> ShellResult:
        """Run one command line (possibly with a heredoc body) and collect its output."""
        device = self.device
        device.log_command(text.split("\n", 1)[0] if "<<" in text else text)
        device.wire.stats.command(classify_airos_shell(text), self.peer)
        decision = await device.faults.before_command(text)
        if decision.action is Action.DROP:
            return ShellResult(drop=True)
        if decision.action is Action.TRAP:
            return ShellResult(stderr=f"-sh: {decision.message}\n", status=1)
        return await self.execute(text, stdin, self.context)

    def hang_up(self) -> None:
        """The session ended: jobs not detached with nohup/setsid die with it."""
        for pid in self.attached_jobs:
            self.device.kill_job(pid)
        self.attached_jobs.clear()

    async def execute(self, text: str, stdin: StdinReader | None, ctx: Context) -> ShellResult:
        """Run a script (one or more lines) in the shell process ``ctx``."""
        command, body = split_heredoc(text)
        if body is not None:
            stdin = _constant(body)
        try:
            pipelines = parse_line(command)
        except ShellSyntaxError as exc:
            return ShellResult(stderr=f"-sh: {exc.message}\n", status=2)
        result = ShellResult()
        for group in and_or_lists(pipelines):
            if group[0].background:
                ctx.last_background = self._spawn(group, ctx)
                result.status = ctx.last_status = 0
                continue
            ran_last = await self._run_group(group, stdin, ctx, result)
            if result.exit or result.drop:
                return result
            if ctx.errexit and result.status != 0 and ran_last:
                return result
        return result

    async def _run_group(
        self, group: list[Pipeline], stdin: StdinReader | None, ctx: Context, result: ShellResult
    ) -> bool:
        """Run an and-or list; True when its last pipeline ran (``set -e`` looks at that)."""
        ran_last = False
        for index, pipeline in enumerate(group):
            if pipeline.connector == "&&" and result.status != 0:
                continue
            if pipeline.connector == "||" and result.status == 0:
                continue
            await self._run_pipeline(pipeline, stdin, ctx, result)
            ctx.last_status = result.status
            ran_last = index == len(group) - 1
            if result.exit:
                break
        return ran_last

    async def _run_pipeline(
        self, pipeline: Pipeline, stdin: StdinReader | None, ctx: Context, result: ShellResult
    ) -> None:
        feed = stdin
        for command in pipeline.commands:
            out, err, status, flag = await self.run_command(command, feed, ctx)
            result.stderr += err
            result.status = status
            if command is not pipeline.commands[-1]:
                feed = _constant(out)
            else:
                result.stdout += out
            if flag:
                result.exit = True
                return

    def _spawn(self, group: list[Pipeline], ctx: Context) -> int:
        first = group[0].commands[0].argv
        detached = bool(first) and first[0] in DETACHING
        child = ctx.child(self.device.new_pid())
        child.errexit = False

        async def job() -> None:
            await self._run_group(group, None, child, ShellResult())

        pid = self.device.spawn_job(job, child.pid)
        if not detached:
            self.attached_jobs.add(pid)
        return pid

    async def expand(self, command: Command, ctx: Context) -> list[str]:
        values = ctx.lookup()

        async def substitute(inner: str) -> str:
            sub = ctx.child(ctx.pid)
            return (await self.execute(inner, None, sub)).stdout

        argv = []
        for word in command.argv:
            value = await expand_word(word, values, substitute)
            if value or not has_expansion(word):
                argv.append(value)
        return argv

    async def run_command(
        self, command: Command, stdin: StdinReader | None, ctx: Context
    ) -> tuple[str, str, int, bool]:
        """Expand, run a builtin, apply the redirections: (stdout, stderr, status, exit)."""
        from kopnet_iac.lab.airos.busybox import run_builtin

        try:
            argv = await self.expand(command, ctx)
        except ShellSyntaxError as exc:
            return "", f"-sh: {exc.message}\n", 2, False
        if not argv:
            return "", "", 0, False
        if len(argv) == 1 and _is_assignment(argv[0]) and not command.redirect:
            name, _, value = argv[0].partition("=")
            ctx.variables[name] = value
            return "", "", 0, False
        try:
            out, err, status, flag = await run_builtin(self, ctx, argv, stdin)
        except KopnetError as exc:
            out, err, status, flag = "", f"{argv[0]}: {exc.message}\n", 1, False
        if command.stderr is not None:
            target, append = command.stderr
            if target == "&1":
                out, err = out + err, ""
            elif target == "/dev/null":
                err = ""
            else:
                try:
                    previous = self.device.files.get(target, "") if append else ""
                    self.device.write_file(target, previous + err)
                    err = ""
                except KopnetError as exc:
                    return out, f"-sh: {exc.message}\n", 1, flag
        if command.redirect is not None and status == 0:
            path, append = command.redirect
            if path == "/dev/null":
                return "", err, status, flag
            try:
                previous = self.device.files.get(path, "") if append else ""
                self.device.write_file(path, previous + out)
            except KopnetError as exc:
                return "", err + f"-sh: {exc.message}\n", 1, flag
            out = ""
        elif command.redirect is not None:
            out = ""
        return out, err, status, flag


def _is_assignment(word: str) -> bool:
    name, sep, _ = word.partition("=")
    return bool(sep) and name.isidentifier()


class _SSHServer(asyncssh.SSHServer):
    def __init__(self, device: AirOSDevice) -> None:
        self.device = device
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.device.connection_made(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.device.connection_lost(self.conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        # like dropbear on a radio: sshd.auth.passwd=disabled leaves public keys only
        return self.device.password_login_allowed()

    def validate_password(self, username: str, password: str) -> bool:
        self.device.log_command(f"ssh login {username}")
        if not self.device.password_login_allowed():
            return False
        return self.device.authenticate(username, password)

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        self.device.log_command(f"ssh key login {username}")
        parts = key.export_public_key("openssh").decode().split()
        return self.device.authenticate_key(username, parts[0], parts[1])


def make_ssh_server(device: AirOSDevice) -> asyncssh.SSHServer:
    return _SSHServer(device)


async def handle_process(device: AirOSDevice, process: asyncssh.SSHServerProcess[str]) -> None:
    """Serve one SSH session: an exec command or an interactive shell."""
    shell = Shell(device, process.get_extra_info("peername"))
    try:
        if process.command is not None:
            await _exec(shell, process, process.command)
        else:
            await _interactive(shell, process)
    except (asyncssh.Error, ConnectionError, BrokenPipeError):
        pass
    except Exception:  # a bug in the emulator must not kill the lab
        logger.exception("%s: shell session failed", device.spec.hostname)
        with contextlib.suppress(Exception):
            process.exit(1)
    finally:
        shell.hang_up()


async def _exec(shell: Shell, process: asyncssh.SSHServerProcess[str], command: str) -> None:
    async def read_stdin() -> str:
        return await process.stdin.read()

    result = await shell.run(command, read_stdin)
    if result.drop:
        process.channel.get_connection().abort()
        return
    process.stdout.write(result.stdout)
    process.stderr.write(result.stderr)
    process.exit(result.status)


async def _interactive(shell: Shell, process: asyncssh.SSHServerProcess[str]) -> None:
    device = shell.device
    process.stdout.write(f"\nBusyBox v1.19.4 (airOS {FIRMWARE}) built-in shell (ash)\n\n")
    while True:
        process.stdout.write(device.prompt)
        try:
            line = await process.stdin.readline()
        except (asyncssh.TerminalSizeChanged, asyncssh.BreakReceived):
            continue
        if not line:
            break
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        match = _HEREDOC.search(line)
        if match:
            body = [line]
            while True:
                process.stdout.write("> ")
                more = await process.stdin.readline()
                if not more:
                    break
                body.append(more.rstrip("\r\n"))
                if more.strip() == match.group(2):
                    break
            line = "\n".join(body)
        stdin = None
        if line.split()[0] == "passwd":
            stdin = await _ask_passwords(process)
        result = await shell.run(line, stdin)
        if result.drop:
            process.channel.get_connection().abort()
            return
        process.stdout.write(result.stdout)
        process.stdout.write(result.stderr)
        if result.exit:
            break
    process.exit(0)


async def _ask_passwords(process: asyncssh.SSHServerProcess[str]) -> StdinReader:
    set_echo = getattr(process.channel, "set_echo", None)
    if set_echo is not None:
        set_echo(False)
    try:
        process.stdout.write("New password: ")
        first = (await process.stdin.readline()).rstrip("\r\n")
        process.stdout.write("\nRetype password: ")
        second = (await process.stdin.readline()).rstrip("\r\n")
        process.stdout.write("\n")
    finally:
        if set_echo is not None:
            set_echo(True)
    text = f"{first}\n{second}\n"

    async def answer() -> str:
        return text

    return answer
