"""Commands with side effects beyond one menu: files, import/export, backup, reboot, ping."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from kopnet_iac.lab.routeros.store import Entry, Reply, RosError, RosFile, format_id

if TYPE_CHECKING:
    from kopnet_iac.lab.routeros.core import Router

Handler = Callable[["Router", dict[str, str], "list[Entry] | None"], Awaitable[Reply]]
FILE_TEXT_LIMIT = 4095  # the API shows ``contents`` only for small files


def _flag(args: dict[str, str], key: str) -> bool:
    return key in args and args[key] in ("", "yes", "true")


def file_row(index: int, rosfile: RosFile) -> dict[str, str]:
    row = {
        ".id": format_id(index + 1),
        "name": rosfile.name,
        "type": rosfile.type,
        "size": str(len(rosfile.contents.encode("utf-8"))),
        "creation-time": rosfile.created,
        "last-modified": rosfile.created,
    }
    if rosfile.type != "backup" and len(rosfile.contents) <= FILE_TEXT_LIMIT:
        row["contents"] = rosfile.contents
    return row


def write_file(router: Router, name: str, contents: str, kind: str = ".rsc file") -> None:
    if router.faults.disk_full:
        raise RosError("failure: not enough disk space", 1)
    created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    router.store.files[name] = RosFile(name, contents, kind, created)
    router.store.dirty = True


def _file_items(router: Router, items: list[Entry] | None, args: dict[str, str]) -> list[str]:
    wanted = [w for w in (args.get("numbers") or args.get(".id") or "").split(",") if w]
    names = list(router.store.files)
    out = []
    for word in wanted:
        if word.startswith("*"):
            index = int(word[1:], 16) - 1
            if not 0 <= index < len(names):
                raise RosError("no such item", 0)
            out.append(names[index])
        elif word in router.store.files:
            out.append(word)
        elif word.isdigit() and int(word) < len(names):
            out.append(names[int(word)])
        else:
            raise RosError("no such item", 0)
    return out


async def file_command(
    router: Router, verb: str, args: dict[str, str], items: list[Entry] | None
) -> Reply:
    if verb in ("print", "getall"):
        return Reply(rows=[row for _, row in router.rows("file")])
    if verb == "add":
        name = args.get("name", "")
        if not name:
            raise RosError("failure: missing value(s) of argument(s) name", 1)
        if name in router.store.files:
            raise RosError("failure: file already exists", 1)
        write_file(
            router,
            name,
            args.get("contents", ""),
            "directory" if args.get("type") == "directory" else ".rsc file",
        )
        return Reply(ret=format_id(list(router.store.files).index(name) + 1))
    if verb == "set":
        for name in _file_items(router, items, args):
            if "contents" in args:
                write_file(router, name, args["contents"], router.store.files[name].type)
        return Reply()
    if verb == "read":
        rosfile = router.store.files.get(args.get("file", ""))
        if rosfile is None:
            raise RosError("failure: no such file", 1)
        offset = int(args.get("offset", "0") or 0)
        size = int(args.get("chunk-size", "32768") or 32768)
        data = rosfile.contents.encode("utf-8")[offset : offset + size]
        return Reply(rows=[{"data": data.decode("utf-8", "ignore")}])
    if verb == "remove":
        for name in _file_items(router, items, args):
            router.store.files.pop(name, None)
        router.store.dirty = True
        return Reply()
    raise RosError("no such command", 0)


async def export_command(router: Router, args: dict[str, str], scope: str) -> Reply:
    text = router.exporter(
        _flag(args, "terse"), _flag(args, "show-sensitive"), _flag(args, "verbose"), scope
    )
    target = args.get("file")
    if target:
        name = target if target.endswith(".rsc") else f"{target}.rsc"
        write_file(router, name, text)
        return Reply()
    return Reply(text=text, ret=text)


async def import_command(router: Router, args: dict[str, str], items: list[Entry] | None) -> Reply:
    name = args.get("file-name") or args.get("") or ""
    rosfile = router.store.files.get(name)
    if rosfile is None:
        raise RosError(f"failure: no such file {name}", 1)
    assert router.interpreter is not None
    dry_run = _flag(args, "dry-run")
    out = await router.interpreter.run_text(rosfile.contents, source=name, dry_run=dry_run)
    text = "\r\n".join([*out, "Script file loaded and executed successfully"])
    return Reply(text=text)


async def backup_save(router: Router, args: dict[str, str], items: list[Entry] | None) -> Reply:
    name = args.get("name") or f"{router.identity()}-{time.strftime('%Y%m%d-%H%M')}"
    write_file(router, f"{name}.backup", json.dumps(router.store.snapshot()), "backup")
    return Reply(text="Configuration backup saved")


async def backup_load(router: Router, args: dict[str, str], items: list[Entry] | None) -> Reply:
    name = args.get("name", "")
    rosfile = router.store.files.get(name) or router.store.files.get(f"{name}.backup")
    if rosfile is None or rosfile.type != "backup":
        raise RosError("failure: no such backup file", 1)
    snapshot = json.loads(rosfile.contents)
    router.log_message("system,info", f"configuration restored from backup {rosfile.name}")
    router.request_reboot(snapshot)
    return Reply(text="Restore and reboot? [y/N]: y\r\nconfiguration restored")


async def reboot(router: Router, args: dict[str, str], items: list[Entry] | None) -> Reply:
    router.log_message("system,info", "router rebooted by command")
    router.request_reboot(None)
    return Reply(text="Reboot, yes? [y/N]: y\r\nsystem will reboot shortly")


async def reset_configuration(
    router: Router, args: dict[str, str], items: list[Entry] | None
) -> Reply:
    router.reset_configuration(
        _flag(args, "no-defaults"), _flag(args, "keep-users"), args.get("run-after-reset", "")
    )
    return Reply(text="Dangerous! Reset anyway? [y/N]: y\r\nsystem configuration will be reset")


async def script_run(router: Router, args: dict[str, str], items: list[Entry] | None) -> Reply:
    wanted = (
        items
        if items is not None
        else router.resolve_items(
            "system script",
            [
                w
                for w in (args.get("number") or args.get("numbers") or args.get(".id") or "").split(
                    ","
                )
                if w
            ],
        )
    )
    if not wanted:
        raise RosError("no such item", 0)
    assert router.interpreter is not None
    out: list[str] = []
    for entry in wanted:
        out += await router.interpreter.run_text(entry.get("source"), source=entry.get("name"))
    return Reply(text="\r\n".join(out))


async def ping(router: Router, args: dict[str, str], items: list[Entry] | None) -> Reply:
    address = args.get("address") or args.get("") or ""
    if not address:
        raise RosError("missing value(s) of argument(s) address", 1)
    count = int(args.get("count", "4") or "4")
    count = max(1, min(count, 100))
    answers = router.network.ping(router.spec.hostname, address)
    rows = []
    received = 0
    for seq in range(count):
        row = {
            "seq": str(seq),
            "host": address,
            "size": args.get("size", "56"),
            "sent": str(seq + 1),
        }
        if answers:
            received += 1
            row.update({"ttl": "64", "time": "1ms"})
        else:
            row["status"] = "timeout"
        row["received"] = str(received)
        row["packet-loss"] = str(100 - received * 100 // (seq + 1))
        if received:
            row.update({"min-rtt": "1ms", "avg-rtt": "1ms", "max-rtt": "1ms"})
        rows.append(row)
    lines = [f"  SEQ HOST {address} SIZE TTL TIME STATUS"]
    for row in rows:
        lines.append(
            f"    {row['seq']} {address} {row['size']} {row.get('ttl', '')} {row.get('time', '')} "
            f"{row.get('status', '')}".rstrip()
        )
    lines.append(f"    sent={count} received={received} packet-loss={rows[-1]['packet-loss']}%")
    return Reply(rows=rows, text="\r\n".join(lines))


async def execute(router: Router, args: dict[str, str], items: list[Entry] | None) -> Reply:
    assert router.interpreter is not None
    out = await router.interpreter.run_text(args.get("script", ""), source="execute", console=True)
    text = "\r\n".join(out)
    if args.get("file"):
        write_file(router, f"{args['file']}.txt", text, ".txt file")
    if _flag(args, "as-string"):
        return Reply(ret=text) if text else Reply()
    return Reply(ret="*1")


async def device_mode_update(
    router: Router, args: dict[str, str], items: list[Entry] | None
) -> Reply:
    if "scheduler" in args:
        router.faults.scheduler_disabled = args["scheduler"] in ("no", "false")
    return Reply()


async def ssh_key_import(router: Router, args: dict[str, str], items: list[Entry] | None) -> Reply:
    """``/user ssh-keys import public-key-file=F user=U``: add the key, remove the file."""
    name = args.get("public-key-file", "")
    user = args.get("user", "")
    rosfile = router.store.files.get(name)
    if rosfile is None:
        raise RosError("failure: no such file", 1)
    if not any(e.get("name") == user for e in router.store.entries("user")):
        raise RosError("input does not match any value of user", 1)
    parts = rosfile.contents.strip().split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(("ssh-", "ecdsa-")):
        raise RosError("failure: unable to load key file (wrong format or bad passphrase)", 1)
    bits = {"ssh-ed25519": "256", "ssh-rsa": "2048"}.get(parts[0], "256")
    router.store.add(
        "user ssh-keys",
        {
            "user": user,
            "key-type": parts[0].removeprefix("ssh-"),
            "bits": bits,
            "key-owner": parts[2].strip() if len(parts) > 2 else "",
        },
    )
    del router.store.files[name]
    return Reply()


async def quit_session(router: Router, args: dict[str, str], items: list[Entry] | None) -> Reply:
    raise RosError("interrupted", -1)


SPECIAL: dict[tuple[str, str], Handler] = {
    ("", "import"): import_command,
    ("system backup", "save"): backup_save,
    ("system backup", "load"): backup_load,
    ("system", "reboot"): reboot,
    ("system", "reset-configuration"): reset_configuration,
    ("system script", "run"): script_run,
    ("", "ping"): ping,
    ("tool", "ping"): ping,
    ("", "execute"): execute,
    ("system device-mode", "update"): device_mode_update,
    ("user ssh-keys", "import"): ssh_key_import,
}
