"""Builtin commands of the emulated airOS BusyBox shell.

Each builtin is ``async (shell, ctx, args, stdin) -> (stdout, stderr, status, exit_session)``;
:data:`BUILTINS` maps command names (and the paths automation uses) to them. File commands work
on the device's RAM disk (``/tmp``, ``/etc/persistent``); ``cfgmtd`` and ``rc.softrestart`` are
the configuration tools of the real firmware.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from kopnet_iac.lab.airos.config import FIRMWARE

if TYPE_CHECKING:
    from kopnet_iac.lab.airos.shell import Context, Shell, StdinReader

Outcome = tuple[str, str, int, bool]
Builtin = Callable[["Shell", "Context", list[str], "StdinReader | None"], Awaitable[Outcome]]

MAX_SLEEP = 86400.0


def _ok(out: str = "") -> Outcome:
    return out, "", 0, False


def _fail(err: str, status: int = 1) -> Outcome:
    return "", err, status, False


async def _exit(shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None) -> Outcome:
    return "", "", 0, True


async def _cat(shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None) -> Outcome:
    files = shell.device.files
    if not args or args == ["-"]:
        return _ok(await stdin() if stdin else "")
    out, err, status = [], "", 0
    for path in args:
        if path in files:
            out.append(files[path])
        else:
            err += f"cat: can't open '{path}': No such file or directory\n"
            status = 1
    return "".join(out), err, status, False


async def _echo(shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None) -> Outcome:
    newline = "\n"
    if args and args[0] == "-n":
        newline, args = "", args[1:]
    return _ok(" ".join(args) + newline)


async def _grep(shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None) -> Outcome:
    invert = "-v" in args
    rest = [a for a in args if not a.startswith("-")]
    if not rest:
        return _fail("Usage: grep [-v] PATTERN [FILE]\n", 2)
    try:
        pattern = re.compile(rest[0])
    except re.error:
        return _fail("grep: bad regex\n", 2)
    if len(rest) > 1:
        text = shell.device.files.get(rest[1])
        if text is None:
            return _fail(f"grep: {rest[1]}: No such file or directory\n", 2)
    else:
        text = await stdin() if stdin else ""
    lines = [ln for ln in text.splitlines() if bool(pattern.search(ln)) != invert]
    return "".join(f"{ln}\n" for ln in lines), "", 0 if lines else 1, False


async def _cp(shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None) -> Outcome:
    paths = [a for a in args if not a.startswith("-")]
    if len(paths) != 2:
        return _fail("Usage: cp SOURCE DEST\n")
    source, target = paths
    text = shell.device.files.get(source)
    if text is None:
        return _fail(f"cp: can't stat '{source}': No such file or directory\n")
    shell.device.write_file(target, text)
    return _ok()


async def _mv(shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None) -> Outcome:
    out, err, status, flag = await _cp(shell, ctx, args, stdin)
    if status == 0:
        shell.device.delete_file(next(a for a in args if not a.startswith("-")))
    return out, err.replace("cp:", "mv:"), status, flag


async def _rm(shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None) -> Outcome:
    force = any(a.startswith("-") and "f" in a for a in args)
    err, status = "", 0
    for path in (a for a in args if not a.startswith("-")):
        if path not in shell.device.files:
            if not force:
                err += f"rm: can't remove '{path}': No such file or directory\n"
                status = 1
            continue
        shell.device.delete_file(path)
    return "", err, status, False


async def _cmp(shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None) -> Outcome:
    silent = "-s" in args
    paths = [a for a in args if not a.startswith("-")]
    if len(paths) != 2:
        return _fail("Usage: cmp [-s] FILE1 FILE2\n", 2)
    texts = [shell.device.files.get(p) for p in paths]
    for path, text in zip(paths, texts, strict=True):
        if text is None:
            return _fail("" if silent else f"cmp: can't open '{path}'\n", 2)
    if texts[0] == texts[1]:
        return _ok()
    return ("" if silent else f"{paths[0]} {paths[1]} differ\n"), "", 1, False


async def _test(shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None) -> Outcome:
    if args and args[-1] == "]":
        args = args[:-1]
    negate = bool(args) and args[0] == "!"
    if negate:
        args = args[1:]
    files = shell.device.files
    if len(args) == 2 and args[0] in ("-e", "-f", "-s", "-n", "-z"):
        flag, value = args
        if flag in ("-e", "-f"):
            verdict = value in files
        elif flag == "-s":
            verdict = bool(files.get(value))
        else:
            verdict = bool(value) == (flag == "-n")
    elif len(args) == 3 and args[1] in ("=", "!="):
        verdict = (args[0] == args[2]) == (args[1] == "=")
    elif len(args) == 1:
        verdict = bool(args[0])
    else:
        return _fail("test: syntax error\n", 2)
    return "", "", 0 if verdict != negate else 1, False


async def _kill(shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None) -> Outcome:
    probe = "-0" in args
    pids = [a for a in args if not a.startswith("-")]
    if not pids:
        return _fail("Usage: kill [-SIGNAL] PID...\n")
    err, status = "", 0
    for text in pids:
        try:
            pid = int(text)
        except ValueError:
            err += f"kill: bad pid '{text}'\n"
            status = 1
            continue
        alive = shell.device.job_alive(pid) if probe else shell.device.kill_job(pid)
        if not alive:
            err += f"kill: can't kill pid {pid}: No such process\n"
            status = 1
    return "", err, status, False


async def _detach(
    shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None
) -> Outcome:
    """``nohup``/``setsid``: run the command; being detached is decided when it is spawned."""
    if not args:
        return _fail("Usage: nohup PROG ARGS\n")
    return await run_builtin(shell, ctx, args, stdin)


async def _sh(shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None) -> Outcome:
    if len(args) < 2 or args[0] != "-c":
        return _fail("sh: only 'sh -c SCRIPT' is supported here\n", 2)
    child = ctx.child(shell.device.new_pid())
    result = await shell.execute(args[1], stdin, child)
    return result.stdout, result.stderr, result.status, False


async def _set(shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None) -> Outcome:
    for arg in args:
        if arg in ("-e", "+e"):
            ctx.errexit = arg == "-e"
    return _ok()


async def _sleep(shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None) -> Outcome:
    if args:
        with contextlib.suppress(ValueError):
            await asyncio.sleep(min(max(float(args[0]), 0.0), MAX_SLEEP))
    return _ok()


async def _cfgmtd(
    shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None
) -> Outcome:
    device = shell.device
    target = args[args.index("-f") + 1] if "-f" in args[:-1] else None
    if "-w" in args:
        device.persist(target or "/tmp/system.cfg")
        return _ok()
    if "-r" in args:
        device.reload_from_flash(target or "/tmp/system.cfg")
        return _ok()
    return _fail("Usage: cfgmtd -w|-r -p /etc/ [-f file]\n")


async def _softrestart(
    shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None
) -> Outcome:
    if args[:1] == ["save"]:
        shell.device.persist()
    shell.device.apply()
    return _ok()


async def _reboot(
    shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None
) -> Outcome:
    shell.device.schedule_reboot()
    return "", "", 0, True


async def _hostname(
    shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None
) -> Outcome:
    return _ok(shell.device.status()["host"]["hostname"] + "\n")


async def _uptime(
    shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None
) -> Outcome:
    minutes = shell.device.uptime // 60
    return _ok(f" up {minutes} min,  load average: 0.01, 0.02, 0.00\n")


async def _true(shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None) -> Outcome:
    return _ok()


async def _false(shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None) -> Outcome:
    return _fail("")


async def _uname(shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None) -> Outcome:
    return _ok(f"Linux {shell.device.spec.hostname} 4.4.153 #1 {FIRMWARE} mips GNU/Linux\n")


async def _passwd(
    shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None
) -> Outcome:
    user = args[0] if args else shell.device.username
    lines = (await stdin()).splitlines() if stdin else []
    if len(lines) < 2 or lines[0] != lines[1]:
        return _fail("passwd: password for user unchanged\n")
    shell.device.change_password(user, lines[0])
    return _ok("Password for '" + user + "' changed\n")


async def _mca_status(
    shell: Shell, ctx: Context, args: list[str], stdin: StdinReader | None
) -> Outcome:
    device = shell.device
    status = device.status()
    wireless = status["wireless"]
    signal = wireless["sta"][0]["signal"] if wireless["sta"] else 0
    head = (
        f"deviceName={status['host']['hostname']},deviceId={device.status_mac()},"
        f"firmwareVersion={device.prompt[:2]}.ar934x.{FIRMWARE},"
        f"platform={status['host']['devmodel']},deviceIp="
        f"{(device.configured_addresses() or ['0.0.0.0'])[0]}"
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
    return _ok(head + "\n" + "".join(f"{k}={v}\n" for k, v in fields.items()))


BUILTINS: dict[str, Builtin] = {
    "exit": _exit,
    "logout": _exit,
    "cat": _cat,
    "echo": _echo,
    "grep": _grep,
    "cp": _cp,
    "mv": _mv,
    "rm": _rm,
    "cmp": _cmp,
    "test": _test,
    "[": _test,
    "kill": _kill,
    "nohup": _detach,
    "setsid": _detach,
    "sh": _sh,
    "/bin/sh": _sh,
    "set": _set,
    "sleep": _sleep,
    "cfgmtd": _cfgmtd,
    "/usr/etc/rc.d/rc.softrestart": _softrestart,
    "rc.softrestart": _softrestart,
    "softrestart": _softrestart,
    "reboot": _reboot,
    "/sbin/reboot": _reboot,
    "mca-status": _mca_status,
    "hostname": _hostname,
    "uptime": _uptime,
    "true": _true,
    ":": _true,
    "sync": _true,
    "mkdir": _true,  # /tmp and /etc/persistent are flat name spaces here
    "false": _false,
    "uname": _uname,
    "passwd": _passwd,
}


async def run_builtin(
    shell: Shell, ctx: Context, argv: list[str], stdin: StdinReader | None
) -> Outcome:
    """Run one expanded command; unknown names answer 127 as ash does."""
    name, args = argv[0], argv[1:]
    if name == "ubntbox" and args:
        name, args = args[0], args[1:]
    builtin = BUILTINS.get(name)
    if builtin is None:
        return _fail(f"-sh: {name}: not found\n", 127)
    return await builtin(shell, ctx, args, stdin)
