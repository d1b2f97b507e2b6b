"""airOS BusyBox-like shell over SSH: interactive sessions and exec channels.

Supports what automation uses: ``cat`` (files, stdin, ``cat > file``), ``echo`` with ``>``/``>>``,
heredocs (``cat > /tmp/system.cfg <<EOF``), pipes to ``grep``, ``;``/``&&``/``||``,
``cfgmtd -w|-r -p /etc/``, ``/usr/etc/rc.d/rc.softrestart save`` (persist + apply), ``reboot``,
``mca-status``/``ubntbox mca-status``, ``passwd``, ``hostname``, ``uptime``, ``exit``.
Every command line is logged and passed through the device's fault hook first.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import asyncssh

from kopnet_iac.errors import KopnetError
from kopnet_iac.lab.airos.config import FIRMWARE
from kopnet_iac.lab.faults import Action
from kopnet_iac.lab.wirestats import classify_airos_shell

if TYPE_CHECKING:
    from kopnet_iac.lab.airos.device import AirOSDevice

StdinReader = Callable[[], Awaitable[str]]
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
_OPERATORS = {";", "&&", "||", "|"}


@dataclass
class ShellResult:
    stdout: str = ""
    stderr: str = ""
    status: int = 0
    exit: bool = False  # end the session normally
    drop: bool = False  # abort the connection (fault injection)


@dataclass
class _Command:
    argv: list[str]
    redirect: tuple[str, bool] | None = None  # (path, append)


@dataclass
class _Pipeline:
    connector: str  # how it joins the previous one: ";", "&&", "||"
    commands: list[_Command] = field(default_factory=list)


class ShellSyntaxError(KopnetError):
    """A command line the shell cannot parse."""


def split_heredoc(text: str) -> tuple[str, str | None]:
    """Split ``cmd <<EOF\\nbody\\nEOF`` into the command and the heredoc body (or None)."""
    first, _, rest = text.partition("\n")
    match = _HEREDOC.search(first)
    if match is None:
        return text, None
    command = first[: match.start()] + first[match.end() :]
    body_lines = []
    for line in rest.split("\n"):
        if line.strip() == match.group(2):
            break
        body_lines.append(line)
    return command.strip(), "".join(f"{line}\n" for line in body_lines)


def parse_line(line: str) -> list[_Pipeline]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError as exc:
        raise ShellSyntaxError(f"syntax error: {exc}") from exc
    pipelines = [_Pipeline(";")]
    current = _Command([])
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token in (">", ">>"):
            if index + 1 >= len(tokens) or tokens[index + 1] in _OPERATORS:
                raise ShellSyntaxError("syntax error: unexpected redirection")
            current.redirect = (tokens[index + 1], token == ">>")
            index += 2
            continue
        if token in _OPERATORS:
            if not current.argv:
                raise ShellSyntaxError(f"syntax error: unexpected {token!r}")
            pipelines[-1].commands.append(current)
            current = _Command([])
            if token != "|":
                pipelines.append(_Pipeline(token))
        elif token in ("&", "<", "&&&") or set(token) <= set(";&|<>"):
            raise ShellSyntaxError(f"syntax error: unexpected {token!r}")
        else:
            current.argv.append(token)
        index += 1
    if current.argv:
        pipelines[-1].commands.append(current)
    elif tokens and tokens[-1] in ("&&", "||", "|"):
        raise ShellSyntaxError("syntax error: unexpected end of line")
    return [p for p in pipelines if p.commands]


class Shell:
    """Runs command lines against one device."""

    def __init__(self, device: AirOSDevice, peer: object = None) -> None:
        self.device = device
        self.peer = peer  # the client's address as the device sees it (wire stats)

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
        command, body = split_heredoc(text)
        if body is not None:
            content = body

            async def heredoc() -> str:
                return content

            stdin = heredoc
        try:
            pipelines = parse_line(command)
        except ShellSyntaxError as exc:
            return ShellResult(stderr=f"-sh: {exc.message}\n", status=2)
        result = ShellResult()
        for pipeline in pipelines:
            if pipeline.connector == "&&" and result.status != 0:
                continue
            if pipeline.connector == "||" and result.status == 0:
                continue
            feed = stdin
            for command_ in pipeline.commands:
                out, err, status, flag = await self._run_command(command_, feed)
                result.stderr += err
                result.status = status
                if command_ is not pipeline.commands[-1]:
                    piped = out

                    async def pipe(value: str = piped) -> str:
                        return value

                    feed = pipe
                else:
                    result.stdout += out
                if flag:
                    result.exit = True
                    return result
        return result

    async def _run_command(
        self, command: _Command, stdin: StdinReader | None
    ) -> tuple[str, str, int, bool]:
        try:
            out, err, status, flag = await self._builtin(command.argv, stdin)
        except KopnetError as exc:
            return "", f"{command.argv[0]}: {exc.message}\n", 1, False
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
        return out, err, status, flag

    async def _builtin(
        self, argv: list[str], stdin: StdinReader | None
    ) -> tuple[str, str, int, bool]:
        device = self.device
        name, args = argv[0], argv[1:]
        if name == "ubntbox" and args:
            name, args = args[0], args[1:]
        if name in ("exit", "logout"):
            return "", "", 0, True
        if name == "cat":
            if not args:
                return (await stdin() if stdin else ""), "", 0, False
            out, err, status = [], "", 0
            for path in args:
                if path in device.files:
                    out.append(device.files[path])
                else:
                    err += f"cat: can't open '{path}': No such file or directory\n"
                    status = 1
            return "".join(out), err, status, False
        if name == "echo":
            newline = "\n"
            if args and args[0] == "-n":
                newline, args = "", args[1:]
            return " ".join(args) + newline, "", 0, False
        if name == "grep":
            return await self._grep(args, stdin)
        if name == "cfgmtd":
            if "-w" in args:
                source = args[args.index("-f") + 1] if "-f" in args[:-1] else "/tmp/system.cfg"
                device.persist(source)
                return "", "", 0, False
            if "-r" in args:
                device.reload_from_flash()
                return "", "", 0, False
            return "", "Usage: cfgmtd -w|-r -p /etc/ [-f file]\n", 1, False
        if name in ("/usr/etc/rc.d/rc.softrestart", "rc.softrestart"):
            if args[:1] == ["save"]:
                device.persist()
            device.apply()
            return "", "", 0, False
        if name in ("reboot", "/sbin/reboot"):
            device.schedule_reboot()
            return "", "", 0, True
        if name == "mca-status":
            return self._mca_status(), "", 0, False
        if name == "hostname":
            return device.status()["host"]["hostname"] + "\n", "", 0, False
        if name == "uptime":
            return f" up {device.uptime // 60} min,  load average: 0.01, 0.02, 0.00\n", "", 0, False
        if name in ("true", ":", "sync"):
            return "", "", 0, False
        if name == "false":
            return "", "", 1, False
        if name == "sleep" and args:
            with contextlib.suppress(ValueError):
                await asyncio.sleep(min(float(args[0]), 60.0))
            return "", "", 0, False
        if name == "passwd":
            return await self._passwd(args, stdin)
        if name == "uname":
            return (
                f"Linux {device.spec.hostname} 4.4.153 #1 {FIRMWARE} mips GNU/Linux\n",
                "",
                0,
                False,
            )
        return "", f"-sh: {name}: not found\n", 127, False

    async def _grep(self, args: list[str], stdin: StdinReader | None) -> tuple[str, str, int, bool]:
        invert = "-v" in args
        rest = [a for a in args if not a.startswith("-")]
        if not rest:
            return "", "Usage: grep [-v] PATTERN [FILE]\n", 2, False
        try:
            pattern = re.compile(rest[0])
        except re.error:
            return "", "grep: bad regex\n", 2, False
        if len(rest) > 1:
            text = self.device.files.get(rest[1])
            if text is None:
                return "", f"grep: {rest[1]}: No such file or directory\n", 2, False
        else:
            text = await stdin() if stdin else ""
        lines = [ln for ln in text.splitlines() if bool(pattern.search(ln)) != invert]
        return "".join(f"{ln}\n" for ln in lines), "", 0 if lines else 1, False

    async def _passwd(
        self, args: list[str], stdin: StdinReader | None
    ) -> tuple[str, str, int, bool]:
        user = args[0] if args else self.device.username
        lines = (await stdin()).splitlines() if stdin else []
        if len(lines) < 2 or lines[0] != lines[1]:
            return "", "passwd: password for user unchanged\n", 1, False
        self.device.change_password(user, lines[0])
        return "Password for '" + user + "' changed\n", "", 0, False

    def _mca_status(self) -> str:
        status = self.device.status()
        wireless = status["wireless"]
        signal = wireless["sta"][0]["signal"] if wireless["sta"] else 0
        head = (
            f"deviceName={status['host']['hostname']},deviceId={self.device.status_mac()},"
            f"firmwareVersion={self.device.prompt[:2]}.ar934x.{FIRMWARE},"
            f"platform={status['host']['devmodel']},deviceIp="
            f"{(self.device.configured_addresses() or ['0.0.0.0'])[0]}"
        )
        fields = {
            "date": "",
            "uptime": status["host"]["uptime"],
            "wlanOpmode": wireless["mode"],
            "essid": wireless["essid"],
            "freq": wireless["frequency"],
            "chanbw": wireless["chanbw"],
            "signal": signal,
            "wlanConnections": wireless["count"],
            "wlanPolling": 1,
        }
        return head + "\n" + "".join(f"{k}={v}\n" for k, v in fields.items())


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
        return True

    def validate_password(self, username: str, password: str) -> bool:
        self.device.log_command(f"ssh login {username}")
        return self.device.authenticate(username, password)


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
        import logging

        logging.getLogger(__name__).exception("%s: shell session failed", device.spec.hostname)
        with contextlib.suppress(Exception):
            process.exit(1)


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
