"""SSH console (interactive, as netmiko ``mikrotik_routeros`` drives it) and exec channels."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import asyncssh

from kopnet_iac.errors import ParseError
from kopnet_iac.lab.faults import Action
from kopnet_iac.lab.routeros.render import CRLF, render_reply
from kopnet_iac.lab.routeros.script import parse_commands, split_statements
from kopnet_iac.lab.routeros.store import RosError
from kopnet_iac.lab.wirestats import classify_routeros_console

if TYPE_CHECKING:
    from kopnet_iac.lab.routeros.device import RouterOSDevice

log = logging.getLogger(__name__)
BANNER = (
    "\r\n\r\n  MMM      MMM       KKK                          TTTTTTTTTTT      KKK\r\n"
    "  MikroTik RouterOS {version} (c) 1999-2024       https://www.mikrotik.com/\r\n\r\n"
)


class SSHServer(asyncssh.SSHServer):
    def __init__(self, device: RouterOSDevice) -> None:
        self.device = device

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.device.ssh_connections.add(conn)
        self.conn = conn

    def connection_lost(self, exc: Exception | None) -> None:
        self.device.ssh_connections.discard(self.conn)

    def begin_auth(self, username: str) -> bool:
        user = username.split("+", 1)[0]
        password = self.device.user_password(user)
        return not (password == "" and not self.device.faults.refuse_login)

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        user = username.split("+", 1)[0]
        if self.device.faults.refuse_login:
            return False
        expected = self.device.user_password(user)
        return expected is not None and password == expected


class Console:
    """One interactive or exec session."""

    def __init__(self, device: RouterOSDevice, process: asyncssh.SSHServerProcess[str]) -> None:
        self.device = device
        self.process = process
        self.user = (process.get_extra_info("username") or "admin").split("+", 1)[0]
        self.cwd: tuple[str, ...] = ()

    def prompt(self) -> str:
        where = "/" + " ".join(self.cwd) if self.cwd else ""
        return (
            f"[{self.user}@{self.device.router.identity()}] {where}> "
            if where
            else f"[{self.user}@{self.device.router.identity()}] > "
        )

    async def run(self) -> None:
        process = self.process
        try:
            if process.command is not None:
                output, _ = await self.execute(process.command)
                if output:
                    process.stdout.write(output.replace("\r\n", "\n").rstrip("\n") + "\n")
                process.exit(0)
                return
            process.stdout.write(BANNER.format(version=self.device.spec.version) + self.prompt())
            await self.interactive()
        except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged):
            pass
        except (BrokenPipeError, ConnectionError, asyncssh.Error):
            return
        with contextlib.suppress(Exception):
            process.exit(0)

    async def interactive(self) -> None:
        process = self.process
        line = ""
        skip_lf = False
        while True:
            chunk = await process.stdin.read(1024)
            if not chunk:
                return
            for ch in chunk:
                if skip_lf and ch == "\n":
                    skip_lf = False
                    continue
                skip_lf = False
                if ch in "\r\n":
                    skip_lf = ch == "\r"
                    process.stdout.write(CRLF)
                    output, keep = await self.execute(line)
                    line = ""
                    if output:
                        process.stdout.write(output.rstrip("\r\n") + CRLF)
                    if not keep:
                        process.stdout.write("interrupted" + CRLF)
                        return
                    process.stdout.write(self.prompt())
                elif ch == "\x03":
                    line = ""
                    process.stdout.write(CRLF + self.prompt())
                elif ch in "\x7f\x08":
                    if line:
                        line = line[:-1]
                        process.stdout.write("\x08 \x08")
                elif ch.isprintable() or ch == "\t":
                    line += ch
                    process.stdout.write(ch)

    async def execute(self, line: str) -> tuple[str, bool]:
        """Run one console line; returns (output, session continues)."""
        device = self.device
        text = line.strip()
        if not text:
            return "", True
        device.record(text)
        device.wire.stats.command(
            classify_routeros_console(text), self.process.get_extra_info("peername")
        )
        decision = await device.faults.before_command(text)
        if decision.action is Action.DROP:
            self.process.channel.get_connection().abort()
            return "", False
        if decision.action is Action.TRAP:
            return decision.message, True
        if text in ("quit", "/quit", "exit"):
            return "", False
        if text == "..":
            self.cwd = self.cwd[:-1]
            return "", True
        if text == "/":
            self.cwd = ()
            return "", True
        if not text.startswith((":", "/")):
            text = ("/" + " ".join(self.cwd) + " " + text) if self.cwd else "/" + text
        try:
            commands = parse_commands(split_statements(text), "console")
        except ParseError as exc:
            pos = exc.position
            return f"syntax error (line 1 column {pos.column if pos else 1})", True
        out: list[str] = []
        interpreter = device.router.interpreter
        assert interpreter is not None
        for cmd in commands:
            if cmd.verb == "" and not cmd.raw:
                if not device.router.known_menu(" ".join(cmd.path)):
                    out.append(f"bad command name {cmd.path[-1]} (line 1 column {cmd.column})")
                    break
                self.cwd = cmd.path
                continue
            try:
                reply = await interpreter.run_command(cmd, lenient=False, out=out)
            except RosError as exc:
                if exc.category == -1:
                    return "", False
                if exc.message == "no such command prefix":
                    out.append(
                        f"bad command name {cmd.path[-1] if cmd.path else cmd.verb} (line 1 column 2)"
                    )
                    break
                out.append(
                    exc.message
                    if exc.message.startswith(("failure", "syntax"))
                    else f"failure: {exc.message}"
                    if exc.category == 1
                    else exc.message
                )
                break
            finally:
                device.after_command()
            if reply is not None:
                path = " ".join(cmd.path)
                out.append(render_reply(cmd.verb, reply, device.router.is_singleton(path)))
        return CRLF.join(o for o in out if o), device.state == "running"


async def handle_process(device: RouterOSDevice, process: asyncssh.SSHServerProcess[str]) -> None:
    console = Console(device, process)
    try:
        await console.run()
    except asyncio.CancelledError:
        raise
    except Exception:  # never let one session take the device down
        log.exception("%s: console session failed", device.spec.hostname)
        with contextlib.suppress(Exception):
            process.exit(1)
