"""RouterOS API server (TCP 8728 protocol): login, sentences, queries, tags, traps."""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import hashlib
import logging
import secrets
from typing import TYPE_CHECKING

from kopnet_iac.lab.faults import Action
from kopnet_iac.lab.routeros.query import compile_query, select_props
from kopnet_iac.lab.routeros.schema import SENSITIVE_KEYS
from kopnet_iac.lab.routeros.store import Entry, RosError
from kopnet_iac.lab.routeros.wire import ProtocolViolation, encode_sentence, read_sentence
from kopnet_iac.lab.wirestats import classify_routeros_api

if TYPE_CHECKING:
    from kopnet_iac.lab.routeros.device import RouterOSDevice

log = logging.getLogger(__name__)
ITEM_VERBS = frozenset({"set", "remove", "unset", "enable", "disable", "comment", "move"})


class ApiSession:
    """One API connection."""

    def __init__(
        self, device: RouterOSDevice, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.device = device
        self.reader = reader
        self.writer = writer
        self.user: str | None = None
        self.challenge: bytes | None = None

    def send(self, *sentences: list[str]) -> None:
        self.writer.write(b"".join(encode_sentence(words) for words in sentences))

    def trap(self, message: str, tag: list[str], category: int | None = None) -> None:
        words = ["!trap"]
        if category is not None and category >= 0:
            words.append(f"=category={category}")
        words.append(f"=message={message}")
        self.send(words + tag, ["!done", *tag])

    async def run(self) -> None:
        try:
            while True:
                words = await read_sentence(self.reader)
                if not words:
                    continue
                if not await self.handle(words):
                    break
                await self.writer.drain()
        except ProtocolViolation as exc:
            with contextlib.suppress(OSError):
                self.send(["!fatal", str(exc)])
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    async def handle(self, words: list[str]) -> bool:
        """Answer one sentence; False ends the session."""
        device = self.device
        command = words[0]
        attrs: dict[str, str] = {}
        queries: list[str] = []
        tag: list[str] = []
        for word in words[1:]:
            if word.startswith("="):
                key, _, value = word[1:].partition("=")
                attrs[key] = value
            elif word.startswith("?"):
                queries.append(word)
            elif word.startswith(".tag="):
                tag = [word]  # RouterOS echoes the tag word itself: .tag=N
            elif word.startswith(".") and "=" in word:
                key, _, value = word.partition("=")
                attrs[key] = value
            else:
                device.record(" ".join(words))
                self.trap(f"unknown parameter {word}", tag, 0)
                return True
        logged = _masked(words)
        device.record(logged)
        device.wire.stats.command(
            classify_routeros_api(words), self.writer.get_extra_info("peername")
        )
        decision = await device.faults.before_command(command, logged)
        if decision.action is Action.DROP:
            return False
        if decision.action is Action.TRAP:
            self.trap(decision.message, tag, 1)
            return True
        if command == "/login":
            self.login(attrs, tag)
            return True
        if command == "/quit":
            self.send(["!fatal", "session terminated on request"])
            return False
        if self.user is None:
            self.trap("not logged in", tag, 0)
            return True
        if command == "/cancel":
            self.send(["!done", *tag])
            return True
        if not command.startswith("/") or command == "/":
            self.trap("no such command", tag, 0)
            return True
        parts = [p for p in command.split("/") if p]
        verb = parts[-1]
        path = " ".join(parts[:-1])
        try:
            await self.run_command(path, verb, attrs, queries, tag)
        except RosError as exc:
            if exc.category == -1:
                return False
            self.trap(exc.message, tag, exc.category)
        device.after_command()
        return device.state == "running"

    async def run_command(
        self, path: str, verb: str, attrs: dict[str, str], queries: list[str], tag: list[str]
    ) -> None:
        router = self.device.router
        items: list[Entry] | None = None
        if verb in ITEM_VERBS and path != "file":
            ref = attrs.pop(".id", None) or attrs.pop("numbers", None)
            if ref is not None:
                items = router.resolve_items(path, ref.split(","))
        if verb == "get":
            return self._get(path, attrs, tag)
        if verb in ("print", "getall"):
            predicate = compile_query(queries)
            reply = await router.execute(path, verb, {}, None)
            proplist = attrs.get(".proplist")
            rows = [select_props(row, proplist) for row in reply.rows if predicate(row)]
            if "count-only" in attrs:
                self.send(["!done", f"=ret={len(rows)}", *tag])
                return
            self.send(
                *([["!re", *(f"={k}={v}" for k, v in row.items()), *tag] for row in rows]),
                ["!done", *tag],
            )
            return
        reply = await router.execute(path, verb, attrs, items)
        done = ["!done"]
        if reply.ret is not None:
            done.append(f"=ret={reply.ret}")
        self.send(
            *([["!re", *(f"={k}={v}" for k, v in row.items()), *tag] for row in reply.rows]),
            done + tag,
        )

    def _get(self, path: str, attrs: dict[str, str], tag: list[str]) -> None:
        router = self.device.router
        rows = router.rows(path)
        number = attrs.get("number")
        if number and path == "file":
            rows = [(e, r) for e, r in rows if number in (r.get("name"), r.get(".id"))]
        elif number:
            wanted = router.resolve_items(path, [number])[0]
            rows = [(e, r) for e, r in rows if e is wanted]
        if not rows:
            raise RosError("no such item", 0)
        row = rows[0][1]
        key = attrs.get("value-name")
        value = row.get(key, "") if key else ";".join(f"{k}={v}" for k, v in row.items())
        self.send(["!done", f"=ret={value}", *tag])

    def login(self, attrs: dict[str, str], tag: list[str]) -> None:
        device = self.device
        name = attrs.get("name")
        if name is None:
            self.challenge = secrets.token_bytes(16)
            self.send(["!done", f"=ret={self.challenge.hex()}", *tag])
            return
        password = device.user_password(name)
        ok = password is not None and not device.faults.refuse_login
        if ok and "response" in attrs:
            digest = hashlib.md5(
                b"\x00" + (password or "").encode() + (self.challenge or b""), usedforsecurity=False
            ).digest()
            ok = (
                self.challenge is not None
                and attrs["response"] == "00" + binascii.hexlify(digest).decode()
            )
        elif ok:
            ok = attrs.get("password", "") == password
        if not ok:
            log.info("%s: API login refused for %s", device.spec.hostname, name)
            self.trap("invalid user name or password (6)", tag, None)
            return
        self.user = name
        self.send(["!done", *tag])


def _masked(words: list[str]) -> str:
    out = []
    for word in words:
        key = word[1:].partition("=")[0] if word.startswith("=") else ""
        out.append(f"={key}=***" if key in SENSITIVE_KEYS or key == "response" else word)
    return " ".join(out)
