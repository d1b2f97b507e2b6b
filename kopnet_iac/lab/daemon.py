"""The lab daemon: one asyncio process hosting every emulated device of a lab.

It listens on ``<lab dir>/control.sock`` (JSON lines, see :mod:`kopnet_iac.lab.control`), keeps
device state under ``<lab dir>/devices/<hostname>/`` and records its pid in ``daemon.pid``.
Malformed requests get an error answer; a device that fails to start is reported as ``failed``
with the reason, the others keep running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kopnet_iac.errors import KopnetError, LabError
from kopnet_iac.lab import control
from kopnet_iac.lab.faults import Faults
from kopnet_iac.lab.faultspec import apply_changes, describe, validate_changes
from kopnet_iac.lab.network import LabTopology
from kopnet_iac.lab.spec import DeviceSpec, spec_from_dict
from kopnet_iac.lab.wire import Wire

logger = logging.getLogger(__name__)

START_CONCURRENCY = 32
STOP_TIMEOUT = 15.0  # seconds a device may take to stop before the lab gives up on it


class Emulator(Protocol):
    """The lifecycle every device emulator offers (RouterOS and airOS)."""

    commands_log: list[str]
    wire: Wire  # relays with the link model, wire stats

    @property
    def state(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def reboot(self, boot_seconds: float | None = None) -> None: ...

    def configured_addresses(self) -> list[str]: ...


@dataclass
class Slot:
    spec: DeviceSpec
    faults: Faults
    device: Emulator | None = None
    error: str = ""
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def state(self) -> str:
        if self.error:
            return "failed"
        return self.device.state if self.device is not None else "stopped"


class LabDaemon:
    """Hosts devices, answers control requests."""

    def __init__(self, lab_dir: Path) -> None:
        self.lab_dir = lab_dir
        self.state_dir = lab_dir / "devices"
        self.network = LabTopology()
        self.slots: dict[str, Slot] = {}
        self._stopping = asyncio.Event()
        self._ssl_context: ssl.SSLContext | None = None

    # ---- devices -----------------------------------------------------------------------------
    def _ssl(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            from kopnet_iac.lab.tls import server_context

            self._ssl_context = server_context(self.lab_dir / "tls")
        return self._ssl_context

    def _make_device(self, slot: Slot) -> Emulator:
        spec = slot.spec
        if spec.platform == "airos":
            from kopnet_iac.lab.airos import AirOSDevice

            return AirOSDevice(
                spec, self.state_dir, self.network, slot.faults, ssl_context=self._ssl()
            )
        if spec.platform == "routeros":
            try:
                from kopnet_iac.lab.routeros.device import (  # type: ignore[import-not-found]
                    RouterOSDevice,
                )
            except ImportError as exc:
                raise LabError(f"RouterOS emulator not available: {exc}") from exc
            device: Emulator = RouterOSDevice(spec, self.state_dir, self.network, slot.faults)
            return device
        raise LabError(f"no emulator for platform {spec.platform!r}")

    async def _start_slot(self, slot: Slot, gate: asyncio.Semaphore) -> None:
        async with gate:
            try:
                slot.device = self._make_device(slot)
                self.network.attach(slot.spec.hostname, slot.device)
                await slot.device.start()
                slot.error = ""
            except Exception as exc:  # one broken device must not stop the lab
                slot.error = str(exc) or type(exc).__name__
                if "in use" in slot.error:
                    slot.error += (
                        " (another lab on the same addresses? give it its own"
                        " KOPNET_LAB_PREFIX, e.g. 127.78)"
                    )
                logger.warning("%s: failed to start: %s", slot.spec.hostname, slot.error)

    async def add(
        self, specs: list[DeviceSpec], faults: dict[str, dict[str, Any]], factory_reset: bool
    ) -> dict[str, Any]:
        gate = asyncio.Semaphore(START_CONCURRENCY)
        new: list[Slot] = []
        skipped: list[str] = []
        for spec in specs:
            existing = self.slots.get(spec.hostname)
            if existing is not None and existing.state in ("running", "booting"):
                skipped.append(spec.hostname)
                continue
            slot = Slot(spec=spec, faults=Faults())
            if spec.hostname in faults:
                apply_changes(slot.faults, faults[spec.hostname])
            if factory_reset:
                shutil.rmtree(self.state_dir / spec.hostname, ignore_errors=True)
            self.slots[spec.hostname] = slot
            self.network.add(spec, slot.faults)
            new.append(slot)
        await asyncio.gather(*(self._start_slot(slot, gate) for slot in new))
        failed = {slot.spec.hostname: slot.error for slot in new if slot.error}
        return {
            "added": [slot.spec.hostname for slot in new],
            "already_running": skipped,
            "failed": failed,
        }

    async def _stop_slot(self, slot: Slot) -> None:
        for task in slot.tasks:
            task.cancel()
        if slot.device is not None:
            try:
                await asyncio.wait_for(slot.device.stop(), STOP_TIMEOUT)
            except Exception:
                logger.exception("%s: stop failed", slot.spec.hostname)

    async def remove(self, villages: list[str]) -> list[str]:
        gone = [s for s in self.slots.values() if s.spec.village in villages]
        await asyncio.gather(*(self._stop_slot(slot) for slot in gone))
        for slot in gone:
            self.slots.pop(slot.spec.hostname, None)
            self.network.remove(slot.spec.hostname)
        return [slot.spec.hostname for slot in gone]

    def _slot(self, host: str) -> Slot:
        slot = self.slots.get(host)
        if slot is None:
            raise LabError(f"no device {host!r} in the lab")
        return slot

    async def fault(self, host: str, changes: dict[str, Any]) -> dict[str, Any]:
        slot = self._slot(host)
        clean = validate_changes(changes)
        apply_changes(slot.faults, clean)
        if clean.get("reboot"):
            if slot.device is None or slot.state != "running":
                raise LabError(f"{host} is not running, cannot reboot")
            task = asyncio.get_running_loop().create_task(
                slot.device.reboot(slot.faults.boot_seconds)
            )
            slot.tasks.add(task)
            task.add_done_callback(slot.tasks.discard)
            await asyncio.sleep(0)  # let the reboot begin: status says "booting" from now on
        return describe(slot.faults)

    def status(self) -> list[dict[str, Any]]:
        rows = []
        for slot in self.slots.values():
            spec = slot.spec
            username = getattr(slot.device, "username", spec.username)
            password = getattr(slot.device, "password", spec.password)
            rows.append(
                {
                    "village": spec.village,
                    "hostname": spec.hostname,
                    "platform": spec.platform,
                    "model": spec.model,
                    "role": spec.role,
                    "host": spec.host,
                    "api_port": spec.api_port,
                    "ssh_port": spec.ssh_port,
                    "http_port": spec.http_port,
                    "https_port": spec.https_port,
                    "username": username if isinstance(username, str) else spec.username,
                    "password": password if isinstance(password, str) else spec.password,
                    "factory_default": spec.factory_default,
                    "state": slot.state,
                    "error": slot.error or None,
                    "faults": describe(slot.faults),
                    "wire": (
                        slot.device.wire.stats.snapshot(connections=False)
                        if slot.device is not None
                        else None
                    ),
                }
            )
        return rows

    def stats(self, hosts: list[str], reset: bool) -> dict[str, Any]:
        """Wire stats per device (all devices when ``hosts`` is empty), optionally reset."""
        slots = [self._slot(host) for host in hosts] if hosts else list(self.slots.values())
        out: dict[str, Any] = {}
        for slot in slots:
            if slot.device is not None:
                out[slot.spec.hostname] = slot.device.wire.stats.snapshot(reset=reset)
        return out

    # ---- control channel ---------------------------------------------------------------------
    async def dispatch(self, message: Any) -> dict[str, Any]:
        if not isinstance(message, dict) or not isinstance(message.get("op"), str):
            raise LabError("request must be an object with an 'op' string")
        op = message["op"]
        if op == "ping":
            return {"pid": os.getpid(), "devices": len(self.slots)}
        if op == "status":
            return {"devices": self.status()}
        if op == "add":
            specs = [spec_from_dict(item) for item in message.get("specs", [])]
            raw_faults = message.get("faults", {}) or {}
            faults = {str(h): validate_changes(c) for h, c in raw_faults.items()}
            return await self.add(specs, faults, bool(message.get("factory_reset")))
        if op == "remove":
            return {"removed": await self.remove([str(v) for v in message.get("villages", [])])}
        if op == "fault":
            changes = message.get("changes", {})
            if not isinstance(changes, dict):
                raise LabError("'changes' must be an object")
            return {"faults": await self.fault(str(message.get("host")), changes)}
        if op == "stats":
            hosts = message.get("hosts") or []
            if not isinstance(hosts, list):
                raise LabError("'hosts' must be a list of hostnames")
            return {"stats": self.stats([str(h) for h in hosts], bool(message.get("reset")))}
        if op == "log":
            slot = self._slot(str(message.get("host")))
            log = list(slot.device.commands_log) if slot.device is not None else []
            return {"commands": log}
        if op == "stop":
            self._stopping.set()
            return {"stopping": True}
        raise LabError(f"unknown operation {op!r}")

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    writer.write(b'{"ok": false, "error": "request too long"}\n')
                    break
                if not line:
                    break
                try:
                    answer = {"ok": True, **(await self.dispatch(json.loads(line)))}
                except (KopnetError, ValueError, TypeError, KeyError) as exc:
                    answer = {"ok": False, "error": str(exc) or type(exc).__name__}
                except Exception as exc:
                    logger.exception("control request failed")
                    answer = {"ok": False, "error": f"internal error: {exc}"}
                writer.write(json.dumps(answer, default=str).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, BrokenPipeError):
            pass
        finally:
            writer.close()

    async def serve(self) -> None:
        """Run until a ``stop`` request or SIGTERM/SIGINT; then stop every device."""
        self.lab_dir.mkdir(parents=True, exist_ok=True)
        path = control.socket_path(self.lab_dir)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        server = await asyncio.start_unix_server(self._client, path=str(path), limit=64 << 20)
        os.chmod(path, 0o600)
        (self.lab_dir / control.PID_NAME).write_text(f"{os.getpid()}\n")
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        logger.info("lab daemon %s serving %s", os.getpid(), self.lab_dir)
        try:
            await self._stopping.wait()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            server.close()
            await asyncio.gather(*(self._stop_slot(slot) for slot in self.slots.values()))
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            pid_file = self.lab_dir / control.PID_NAME
            if control.read_pid(self.lab_dir) == os.getpid():
                pid_file.unlink()
            logger.info("lab daemon stopped")


def run(lab_dir: Path) -> None:
    """Entry point of the daemon process."""
    asyncio.run(LabDaemon(lab_dir).serve())
