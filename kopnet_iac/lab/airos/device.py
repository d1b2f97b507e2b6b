"""One emulated Ubiquiti airOS 8 radio: SSH shell, HTTP(S) API, flash and running config.

Configuration model (as on the device):

* ``flash`` — the persisted configuration (``cfgmtd -w`` writes it, with the files of
  ``/etc/persistent``); saved in ``state_dir/<hostname>/flash.cfg`` so a lab survives stop/start.
* ``/tmp/system.cfg`` — the editable copy, loaded from flash at boot (``cfgmtd -r`` reloads it).
* ``active`` — what the radio runs (hostname, SSID, frequency in ``status.cgi``, the text in
  ``/tmp/running.cfg``); set at boot and by ``rc.softrestart``, which applies
  ``/tmp/system.cfg`` without saving it (``save`` saves first).

Background jobs of the shell (``nohup sh -c 'sleep 60; ...' &``) run on the device's event loop,
independent of the SSH session that started them, until they end, are killed or the device
reboots.

``POST /writecfg.cgi`` writes, persists and applies in one step (what the web UI's save + apply
does). In factory-default mode the status and config endpoints answer 403 until the password
was changed (``POST /api/auth/change-password`` or ``passwd`` in the shell).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import asyncssh
from aiohttp import web

from kopnet_iac.errors import LabError, ParseError
from kopnet_iac.lab.airos import status as status_doc
from kopnet_iac.lab.airos.config import (
    FIRMWARE,
    SystemConfig,
    check_password,
    factory_config,
    hash_password,
    lab_config,
)
from kopnet_iac.lab.airos.status import mac_for
from kopnet_iac.lab.faults import Faults
from kopnet_iac.lab.spec import DeviceSpec, LabNetwork
from kopnet_iac.lab.wire import Wire
from kopnet_iac.platforms.airos.syscfg import enabled_ssh_keys

logger = logging.getLogger(__name__)

MAX_LOG = 2000
SYSTEM_CFG = "/tmp/system.cfg"
RUNNING_CFG = "/tmp/running.cfg"  # what the radio runs, as the firmware keeps it


def board_prefix(model: str) -> str:
    return "XW" if model.upper().endswith("M") or " M" in model.upper() else "WA"


class AirOSDevice:
    """Emulated airOS 8 device with the same lifecycle as the RouterOS emulator."""

    def __init__(
        self,
        spec: DeviceSpec,
        state_dir: Path,
        network: LabNetwork,
        faults: Faults | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.spec = spec
        self.dir = state_dir / spec.hostname
        self.network = network
        self.faults = faults if faults is not None else Faults()
        self.commands_log: list[str] = []
        self.wire = Wire(spec.hostname, self.faults)  # relays, link model, wire stats
        self.files: dict[str, str] = {}
        self.flash = ""
        self.active = SystemConfig(text="", values={})
        self.password = spec.password
        self.must_change_password = False
        self.prompt = f"{board_prefix(spec.model)}.{FIRMWARE}# "
        self._ssl_context = ssl_context
        self._state = "stopped"
        self._boot_time = time.monotonic()
        self._ssh_server: asyncssh.SSHAcceptor | None = None
        self._runner: web.AppRunner | None = None
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self._reboot_task: asyncio.Task[None] | None = None
        self.sessions: dict[str, tuple[str, str]] = {}  # session id -> (csrf, user)
        self.persistent_flash: dict[str, str] = {}  # /etc/persistent as saved by cfgmtd -w
        self.jobs: dict[int, asyncio.Task[None]] = {}
        self._last_pid = 1000

    # ---- lifecycle -------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def uptime(self) -> int:
        return int(time.monotonic() - self._boot_time)

    async def start(self) -> None:
        """Load flash (or create it), boot, bind SSH and HTTP(S) on the device's own address."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self._load()
        self._boot_from_flash()
        await self._listen()
        self._state = "running"
        logger.info("%s: airOS device running on %s", self.spec.hostname, self.spec.host)

    async def stop(self) -> None:
        if self._reboot_task is not None and self._reboot_task is not asyncio.current_task():
            self._reboot_task.cancel()
        self._end_jobs()
        await self._close_listeners()
        await self.wire.wait_closed()  # (a reboot does not wait: in-flight data still lands)
        self._save_state()
        self._state = "stopped"

    async def reboot(self, boot_seconds: float | None = None) -> None:
        """Drop every session, stay down for the boot time, come back from flash."""
        if self._state == "stopped":
            return
        self._state = "booting"
        self._end_jobs()
        await self._close_listeners()
        delay = boot_seconds
        if delay is None:
            delay = (
                self.faults.boot_seconds
                if self.faults.boot_seconds is not None
                else self.spec.boot_seconds
            )
        await asyncio.sleep(delay)
        if self._state != "booting":
            return
        self._boot_from_flash()
        await self._listen()
        self._state = "running"

    def schedule_reboot(self, boot_seconds: float | None = None) -> None:
        """Reboot in the background (a command cannot await the end of its own session)."""
        self._reboot_task = asyncio.get_running_loop().create_task(self.reboot(boot_seconds))

    async def _listen(self) -> None:
        from kopnet_iac.lab.airos.http import make_app
        from kopnet_iac.lab.airos.shell import handle_process, make_ssh_server

        key = self._host_key()
        try:
            self._ssh_server = await asyncssh.create_server(
                lambda: make_ssh_server(self),
                sock=await self.wire.listen("ssh", self.spec.host, self.spec.ssh_port),
                server_host_keys=[key],
                process_factory=lambda process: handle_process(self, process),
                line_editor=True,
                keepalive_interval=0,
            )
            self._runner = web.AppRunner(make_app(self), access_log=None, handle_signals=False)
            await self._runner.setup()
            if self.spec.http_port:
                site = web.SockSite(
                    self._runner,
                    await self.wire.listen("http", self.spec.host, self.spec.http_port),
                )
                await site.start()
            if self.spec.https_port:
                context = self._ssl_context or self._own_ssl_context()
                tls_site = web.SockSite(
                    self._runner,
                    await self.wire.listen("https", self.spec.host, self.spec.https_port),
                    ssl_context=context,
                )
                await tls_site.start()
        except OSError as exc:
            await self._close_listeners()
            raise LabError(
                f"cannot listen on {self.spec.host}: {exc}", host=self.spec.hostname
            ) from exc

    def _own_ssl_context(self) -> ssl.SSLContext:
        from kopnet_iac.lab.tls import server_context

        self._ssl_context = server_context(self.dir / "tls")
        return self._ssl_context

    async def _close_listeners(self) -> None:
        await self.wire.close()
        for conn in list(self._connections):
            conn.abort()
        self._connections.clear()
        self.sessions.clear()
        if self._ssh_server is not None:
            self._ssh_server.close()
            await self._ssh_server.wait_closed()
            self._ssh_server = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._connections.add(conn)

    def connection_lost(self, conn: asyncssh.SSHServerConnection) -> None:
        self._connections.discard(conn)

    # ---- processes ---------------------------------------------------------------------------
    def new_pid(self) -> int:
        self._last_pid += 1
        return self._last_pid

    def spawn_job(self, job: Callable[[], Coroutine[Any, Any, None]], pid: int) -> int:
        """Run a background job of the shell; it outlives the session that started it."""
        task = asyncio.get_running_loop().create_task(self._job(job, pid))
        self.jobs[pid] = task
        task.add_done_callback(lambda _task: self.jobs.pop(pid, None))
        return pid

    async def _job(self, job: Callable[[], Coroutine[Any, Any, None]], pid: int) -> None:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in the emulator must not kill the lab
            logger.exception("%s: background job %d failed", self.spec.hostname, pid)

    def job_alive(self, pid: int) -> bool:
        task = self.jobs.get(pid)
        return task is not None and not task.done()

    def kill_job(self, pid: int) -> bool:
        """SIGTERM: False when there is no such process."""
        task = self.jobs.pop(pid, None)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    def _end_jobs(self) -> None:
        for pid in list(self.jobs):
            self.kill_job(pid)

    # ---- state on disk ---------------------------------------------------------------------
    def _host_key(self) -> asyncssh.SSHKey:
        path = self.dir / "ssh_host_ed25519_key"
        if path.exists():
            return asyncssh.read_private_key(str(path))
        key = asyncssh.generate_private_key("ssh-ed25519")
        key.write_private_key(str(path))
        return key

    def _load(self) -> None:
        flash_path = self.dir / "flash.cfg"
        state_path = self.dir / "state.json"
        if flash_path.exists():
            self.flash = flash_path.read_text()
            if state_path.exists():
                saved = json.loads(state_path.read_text())
                self.password = str(saved.get("password", self.password))
                self.must_change_password = bool(saved.get("must_change_password", False))
                self.persistent_flash = {
                    str(k): str(v) for k, v in dict(saved.get("persistent", {})).items()
                }
            return
        if self.spec.factory_default:
            self.flash = factory_config(self.spec.model)
            self.password = "ubnt"
            self.must_change_password = True
        else:
            self.flash = lab_config(
                hostname=self.spec.hostname,
                model=self.spec.model,
                username=self.spec.username,
                password=self.spec.password,
                access_point=self._is_access_point(),
                ptmp=self.spec.role == "sector-radio",
                ssid=self.spec.ssid or f"{self.spec.village}-{self.spec.hostname}",
                frequency_mhz=self._link_frequency(),
                channel_width_mhz=next(
                    (k.channel_width_mhz for k in self.spec.links if k.channel_width_mhz), None
                ),
            )
        self._save_state()

    def _is_access_point(self) -> bool:
        if self.spec.role == "sector-radio":
            return True
        for link in self.spec.links:
            if link.kind == "wireless":
                if link.ap_hostname:
                    return link.ap_hostname == self.spec.hostname
                return self.spec.hostname < link.peer_hostname
        return True

    def _link_frequency(self) -> int | None:
        for link in self.spec.links:
            if link.kind == "wireless" and link.frequency_mhz:
                return link.frequency_mhz
        return None

    def _save_state(self) -> None:
        if not self.flash:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.dir / "flash.cfg", self.flash)
        state = {
            "password": self.password,
            "must_change_password": self.must_change_password,
            "persistent": self.persistent_flash,
        }
        _atomic_write(self.dir / "state.json", json.dumps(state))

    def _boot_from_flash(self) -> None:
        self.files = {
            SYSTEM_CFG: self.flash,
            "/etc/version": f"{self.prompt[:2]}.{FIRMWARE}\n",
            "/etc/board.info": self._board_info(),
            **self.persistent_flash,
        }
        try:
            self.active = SystemConfig.parse(self.flash)
        except ParseError:
            logger.warning("%s: flash configuration invalid, booting empty", self.spec.hostname)
            self.active = SystemConfig(text=self.flash, values={})
        self.files[RUNNING_CFG] = self.active.text
        self._boot_time = time.monotonic()

    # ---- operations used by the shell and the HTTP API -------------------------------------
    def log_command(self, command: str) -> None:
        self.commands_log.append(command)
        if len(self.commands_log) > MAX_LOG:
            del self.commands_log[: MAX_LOG // 2]

    def authenticate(self, username: str, password: str) -> bool:
        if self.faults.refuse_login:
            return False
        values = self.active.values
        for index in range(1, 10):
            if values.get(f"users.{index}.name") != username:
                continue
            if values.get(f"users.{index}.status", "enabled") != "enabled":
                return False
            verdict = check_password(password, values.get(f"users.{index}.password", ""))
            if verdict is None:
                return password == self.password
            return verdict
        return False

    def password_login_allowed(self) -> bool:
        """``sshd.auth.passwd=disabled`` in the applied configuration refuses password logins."""
        return self.active.values.get("sshd.auth.passwd", "enabled") != "disabled"

    def authenticate_key(self, username: str, key_type: str, key_value: str) -> bool:
        """A public key login: ``username`` is an enabled user and the key is one of the
        enabled ``sshd.auth.key.N`` entries of the applied configuration."""
        if self.faults.refuse_login:
            return False
        values = self.active.values
        user_ok = any(
            values.get(f"users.{index}.name") == username
            and values.get(f"users.{index}.status", "enabled") == "enabled"
            for index in range(1, 10)
        )
        return user_ok and (key_type, key_value) in enabled_ssh_keys(values)

    def _board_info(self) -> str:
        return (
            f"board.sysid=0xe7fa\nboard.name={self.spec.model}\n"
            f"board.shortname={board_prefix(self.spec.model)}\n"
            f"board.hwaddr={self.status_mac().replace(':', '')}\n"
        )

    def write_file(self, path: str, text: str) -> None:
        """Write a file of the RAM disk; ``/tmp/system.cfg`` must stay a valid configuration."""
        if not (path.startswith("/tmp/") or path.startswith("/etc/persistent/")):
            raise LabError(f"can't create {path}: Read-only file system")
        if path == SYSTEM_CFG:
            SystemConfig.parse(text)
        self.files[path] = text

    def delete_file(self, path: str) -> None:
        if not (path.startswith("/tmp/") or path.startswith("/etc/persistent/")):
            raise LabError(f"can't remove '{path}': Read-only file system")
        self.files.pop(path, None)

    def persist(self, source: str = SYSTEM_CFG) -> None:
        """``cfgmtd -w -p /etc/``: validate and write the configuration and /etc/persistent."""
        text = self.files.get(source)
        if text is None:
            raise LabError(f"{source}: No such file or directory")
        SystemConfig.parse(text)
        if self.faults.disk_full:
            raise LabError("cfgmtd: write failed: No space left on device")
        self.flash = text
        self.persistent_flash = {
            path: body for path, body in self.files.items() if path.startswith("/etc/persistent/")
        }
        self._save_state()

    def reload_from_flash(self, target: str = SYSTEM_CFG) -> None:
        """``cfgmtd -r [-f FILE]``: copy the flash configuration to /tmp/system.cfg (or FILE)."""
        self.write_file(target, self.flash)

    def apply(self) -> None:
        """Soft restart: run what /tmp/system.cfg says (``/tmp/running.cfg`` shows it)."""
        self.active = SystemConfig.parse(self.files.get(SYSTEM_CFG, ""))
        self.files[RUNNING_CFG] = self.active.text

    def write_config(self, text: str) -> None:
        """Write, persist and apply a whole configuration (``/writecfg.cgi``)."""
        self.write_file(SYSTEM_CFG, text)
        self.persist()
        self.apply()

    def change_password(self, username: str, new_password: str) -> None:
        if not new_password or new_password == "ubnt":
            raise LabError("new password must differ from the default")
        for index in range(1, 10):
            if self.active.values.get(f"users.{index}.name") == username:
                key = f"users.{index}.password"
                break
        else:
            raise LabError(f"unknown user {username}")
        hashed = hash_password(new_password)
        for config in (self.active,):
            config.set(key, hashed)
        self.files[RUNNING_CFG] = self.active.text
        tmp = SystemConfig.parse(self.files.get(SYSTEM_CFG, self.flash))
        tmp.set(key, hashed)
        self.files[SYSTEM_CFG] = tmp.text
        flash = SystemConfig.parse(self.flash)
        flash.set(key, hashed)
        self.flash = flash.text
        self.password = new_password
        self.must_change_password = False
        self._save_state()

    @property
    def username(self) -> str:
        return self.active.values.get("users.1.name", self.spec.username)

    def status_mac(self) -> str:
        return mac_for(self.spec.hostname)

    def wireless_ssid(self) -> str:
        """The SSID the radio runs with now (what its peer sees on air)."""
        return self.active.values.get("wireless.1.ssid", "")

    def configured_addresses(self) -> list[str]:
        return self.active.addresses()

    def export(self) -> str:
        """The running configuration text (what ``getcfg.cgi`` answers)."""
        return self.files.get(SYSTEM_CFG, self.flash)

    def stations(self) -> list[dict[str, Any]]:
        """Registered peers over running wireless links of the topology."""
        return status_doc.stations(self)

    def status(self) -> dict[str, Any]:
        """The ``status.cgi`` document."""
        return status_doc.status(self)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
