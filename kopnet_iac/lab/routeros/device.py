"""One emulated RouterOS 7 device: API server, SSH console, scheduler and persisted state.

Many devices share one asyncio loop; each keeps two listeners, its configuration store and one
scheduler task (no thread per device). State lives in ``state_dir/<hostname>/state.json`` and
is rewritten atomically after every command that changed it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from pathlib import Path
from typing import Any

import asyncssh

from kopnet_iac.errors import LabError
from kopnet_iac.lab.faults import Faults
from kopnet_iac.lab.routeros import console, factory
from kopnet_iac.lab.routeros.api import ApiSession
from kopnet_iac.lab.routeros.core import Router
from kopnet_iac.lab.routeros.exporter import export_text
from kopnet_iac.lab.routeros.scheduler import Scheduler
from kopnet_iac.lab.routeros.script import Interpreter
from kopnet_iac.lab.routeros.store import ConfigStore, RosError, mask_secrets
from kopnet_iac.lab.spec import DeviceSpec, LabNetwork
from kopnet_iac.lab.wire import Wire

log = logging.getLogger(__name__)
COMMANDS_LOG_LIMIT = 20000


class RouterOSDevice:
    """An emulated RouterOS device speaking the API (8728) and SSH on ``spec.host``."""

    def __init__(
        self,
        spec: DeviceSpec,
        state_dir: Path,
        network: LabNetwork,
        faults: Faults | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        api_ssl_port: int = 8729,
    ) -> None:
        self.spec = spec
        self.state_dir = Path(state_dir) / spec.hostname
        self.network = network
        self.faults = faults if faults is not None else Faults()
        self.commands_log: list[str] = []
        self.wire = Wire(spec.hostname, self.faults)  # relays, link model, wire stats
        self.router = Router(spec, network, self.faults, ConfigStore())
        self.router.interpreter = Interpreter(self.router)
        self.scheduler = Scheduler(self.router)
        self.router.request_reboot = self._request_reboot
        self.router.reset_configuration = self._request_reset
        self.router.scheduler_changed = self.scheduler.refresh
        self.router.scheduler_status = self.scheduler.status
        self.router.exporter = self._export_hook
        self.router.after_change = self.after_command
        self.ssh_connections: set[asyncssh.SSHServerConnection] = set()
        self._api_server: asyncio.Server | None = None
        self._ssh_server: asyncssh.SSHAcceptor | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._state = "stopped"
        self._reboot_task: asyncio.Task[None] | None = None
        self._host_key: asyncssh.SSHKey | None = None
        self._loaded = False
        self._pending_script = ""  # run-after-reset file, run once after the next boot
        self._ssl_context = ssl_context  # api-ssl (8729) is served only when given
        self._api_ssl_port = api_ssl_port
        self._api_ssl_server: asyncio.Server | None = None

    # -- public interface ----------------------------------------------------------------

    @property
    def state(self) -> str:
        """``running``, ``booting`` or ``stopped``."""
        return self._state

    async def start(self) -> None:
        """Load the saved state (or a fresh one), bind API and SSH, start the scheduler."""
        self._load()
        await self._listen()

    async def stop(self) -> None:
        """Close listeners and sessions, persist the state."""
        if self._reboot_task is not None and self._reboot_task is not asyncio.current_task():
            self._reboot_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reboot_task
        await self._shutdown()
        await self.wire.wait_closed()  # (a reboot does not wait: in-flight data still lands)
        if self._loaded:  # never overwrite saved state with the empty pre-start store
            self._save()
        self._state = "stopped"

    async def reboot(self, boot_seconds: float | None = None) -> None:
        """Drop sessions, stay down for the boot time, come back with the saved state."""
        await self._shutdown()
        self._save()
        self._state = "booting"
        delay = boot_seconds if boot_seconds is not None else self.boot_seconds()
        await asyncio.sleep(delay)
        self._load()
        await self._listen()

    def export(self, *, terse: bool = False, show_sensitive: bool = False) -> str:
        """The configuration as ``/export`` prints it."""
        return self._export_hook(terse, show_sensitive, False, "")

    def configured_addresses(self) -> list[str]:
        """IP addresses configured on enabled ``/ip address`` entries (without prefix)."""
        out = []
        for entry in self.router.store.entries("ip address"):
            if entry.get("disabled") not in ("yes", "true") and entry.get("address"):
                out.append(entry.get("address").split("/", 1)[0])
        return out

    # -- hooks used by the servers ----------------------------------------------------------

    def boot_seconds(self) -> float:
        return (
            self.faults.boot_seconds
            if self.faults.boot_seconds is not None
            else self.spec.boot_seconds
        )

    def record(self, command: str) -> None:
        """Remember a received command (secret values masked)."""
        self.commands_log.append(mask_secrets(command))
        if len(self.commands_log) > COMMANDS_LOG_LIMIT:
            del self.commands_log[: COMMANDS_LOG_LIMIT // 10]

    def after_command(self) -> None:
        if self.router.store.dirty:
            self._save()

    @property
    def password(self) -> str:
        """The password ``lab status`` reports: the spec's; for a device started in factory
        state, the lab password once an enabled user has it (a replacement's day-0 gave the
        NOC account the lab password), so later lab deploys log in with it."""
        from kopnet_iac.lab.topology import lab_password

        lab = lab_password(self.spec.hostname)
        if self.spec.factory_default and any(
            e.get("password") == lab and e.get("disabled") not in ("yes", "true")
            for e in self.router.store.entries("user")
        ):
            return lab
        return self.spec.password

    def user_password(self, name: str) -> str | None:
        for entry in self.router.store.entries("user"):
            if entry.get("name") == name and entry.get("disabled") not in ("yes", "true"):
                return entry.get("password")
        return None

    # -- internals -----------------------------------------------------------------------

    def _export_hook(self, terse: bool, show_sensitive: bool, verbose: bool, scope: str) -> str:
        return export_text(
            self.router.store,
            version=self.spec.version,
            software_id=self.router.software_id(),
            model=self.spec.model or "RB5009UG+S+",
            serial=self.spec.serial or "HF0000LAB01",
            terse=terse,
            show_sensitive=show_sensitive,
            scope=scope,
        )

    def _state_file(self) -> Path:
        return self.state_dir / "state.json"

    def _load(self) -> None:
        path = self._state_file()
        if path.exists():
            store = ConfigStore()
            store.load_json(json.loads(path.read_text(encoding="utf-8")))
        else:
            store = factory.fresh_store(self.spec)
        self.router.store = store
        self._loaded = True
        self.router.log_buffer.clear()  # the log lives in memory: gone after a reboot
        self._save()

    def _save(self) -> None:
        try:
            self.router.store.save(self._state_file())
        except OSError as exc:
            log.warning("%s: cannot save state: %s", self.spec.hostname, exc)

    def _host_key_loaded(self) -> asyncssh.SSHKey:
        if self._host_key is None:
            key_path = self.state_dir / "ssh_host_ed25519_key"
            if key_path.exists():
                self._host_key = asyncssh.read_private_key(str(key_path))
            else:
                self._host_key = asyncssh.generate_private_key("ssh-ed25519")
                self.state_dir.mkdir(parents=True, exist_ok=True)
                self._host_key.write_private_key(str(key_path))
                key_path.chmod(0o600)
        return self._host_key

    async def _listen(self) -> None:
        host = self.spec.host
        try:
            if self.spec.api_port is not None:
                self._api_server = await asyncio.start_server(
                    self._api_client, sock=await self.wire.listen("api", host, self.spec.api_port)
                )
                if self._ssl_context is not None:
                    self._api_ssl_server = await asyncio.start_server(
                        self._api_client,
                        sock=await self.wire.listen("api-ssl", host, self._api_ssl_port),
                        ssl=self._ssl_context,
                    )
            self._ssh_server = await asyncssh.create_server(
                lambda: console.SSHServer(self),
                sock=await self.wire.listen("ssh", host, self.spec.ssh_port),
                server_host_keys=[self._host_key_loaded()],
                line_editor=False,
                encoding="utf-8",
                process_factory=self._ssh_process,
            )
        except OSError as exc:
            await self._shutdown()
            raise LabError(f"cannot listen on {host}: {exc}", host=self.spec.hostname) from exc
        self.router.boot_time = time.monotonic()
        self.scheduler.start()
        self._state = "running"
        log.info("%s: RouterOS emulator up on %s", self.spec.hostname, host)
        if self._pending_script:
            script, self._pending_script = self._pending_script, ""
            rosfile = self.router.store.files.get(script)
            if rosfile is not None and self.router.interpreter is not None:
                try:
                    await self.router.interpreter.run_text(rosfile.contents, source=script)
                except RosError as exc:
                    self.router.log_message(
                        "script,error", f"run-after-reset failed: {exc.message}"
                    )
                self.after_command()

    async def _ssh_process(self, process: asyncssh.SSHServerProcess[str]) -> None:
        await console.handle_process(self, process)

    async def _api_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        self._writers.add(writer)
        try:
            await ApiSession(self, reader, writer).run()
        except asyncio.CancelledError:
            writer.transport.abort()  # the device went down; end quietly
        finally:
            self._sessions.discard(task)
            self._writers.discard(writer)

    async def _shutdown(self) -> None:
        self._state = "stopped" if self._state == "stopped" else "booting"
        await self.scheduler.stop()
        await self.wire.close()
        for server in (self._api_server, self._api_ssl_server):
            if server is not None:
                server.close()
        self._api_server = self._api_ssl_server = None
        if self._ssh_server is not None:
            self._ssh_server.close()
            self._ssh_server = None
        for conn in list(self.ssh_connections):
            conn.abort()
        self.ssh_connections.clear()
        for writer in list(self._writers):
            writer.transport.abort()
        current = asyncio.current_task()
        sessions = [t for t in self._sessions if t is not current]
        if sessions:
            _, pending = await asyncio.wait(sessions, timeout=2)
            for task in pending:
                task.cancel()

    def _request_reboot(self, snapshot: dict[str, Any] | None) -> None:
        if self._reboot_task is not None and not self._reboot_task.done():
            return
        self._reboot_task = asyncio.get_running_loop().create_task(self._reboot_after(snapshot))

    def _request_reset(self, no_defaults: bool, keep_users: bool, run_after_reset: str) -> None:
        old = self.router.store
        fresh = factory.fresh_store(
            self.spec, defaults=not no_defaults, keep_users=old if keep_users else None
        )
        fresh.files = old.files
        self._pending_script = run_after_reset
        self._request_reboot({"__store__": fresh})

    async def _reboot_after(self, snapshot: dict[str, Any] | None) -> None:
        await asyncio.sleep(0.05)  # let the answer to the command go out first
        await self._shutdown()
        if snapshot is not None:
            store = snapshot.get("__store__")
            if isinstance(store, ConfigStore):
                self.router.store = store
            else:
                self.router.store.restore(snapshot)
        self._save()
        self._state = "booting"
        await asyncio.sleep(self.boot_seconds())
        self._load()
        await self._listen()
