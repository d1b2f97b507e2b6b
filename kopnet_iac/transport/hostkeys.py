"""Pinned SSH host keys: trust on first use, a changed key refused.

A known-hosts store lives in the state directory (``$KOPNET_STATE``, default
``./.kopnet/state``) as ``known_hosts``, in OpenSSH format so ``ssh -o UserKnownHostsFile=...``,
paramiko and netmiko read it too. Each line carries a trailing comment naming the device and
when the key was first seen::

    [10.0.0.1]:2222 ssh-ed25519 AAAAC3... kopnet device=gw-sukadana added=2026-11-30T15:00:00Z

The first connection to a host records its key (trust on first use); later connections must
offer a recorded key, or the connection is refused *before* any password is sent with a
:class:`~kopnet_iac.errors.HostKeyError` naming the host, both fingerprints and the fix
(``kopnet hostkey forget HOST`` after replacing a device on purpose).

Using it from paramiko (what :mod:`kopnet_iac.platforms.linux.sshrun` does)::

    store = HostKeyStore.open()                       # or HostKeyStore(path)
    client = paramiko.SSHClient()
    store.connect(client, host, port, device="core-x", username=..., password=...)

From netmiko (``ConnectHandler(**params, **store.netmiko_options(host, port, device=...))``):
the key is fetched without logging in and checked or recorded, then netmiko connects with
``ssh_strict=True`` against this file.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import fcntl
import hashlib
import logging
import os
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko

from kopnet_iac.errors import ConnectError, HostKeyError
from kopnet_iac.state.database import default_state_dir

log = logging.getLogger(__name__)

FILE_NAME = "known_hosts"
MARK = "kopnet"
_LOCK = threading.Lock()  # threads of one process (Nornir); processes use flock


def host_id(host: str, port: int = 22) -> str:
    """How known_hosts names a host: ``host`` on port 22, else ``[host]:port``.

    >>> host_id("10.0.0.1"), host_id("10.0.0.1", 2222)
    ('10.0.0.1', '[10.0.0.1]:2222')
    """
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint of a public key (``SHA256:...``)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class PinnedKey:
    """One recorded host key."""

    host: str  # as known_hosts writes it: host or [host]:port
    key_type: str
    key_base64: str
    device: str = ""
    added: str = ""

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(base64.b64decode(self.key_base64)).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    def matches(self, key: paramiko.PKey) -> bool:
        return key.get_name() == self.key_type and key.get_base64() == self.key_base64

    def line(self) -> str:
        extra = [MARK]
        if self.device:
            extra.append(f"device={self.device}")
        if self.added:
            extra.append(f"added={self.added}")
        return f"{self.host} {self.key_type} {self.key_base64} {' '.join(extra)}"

    @classmethod
    def parse(cls, line: str) -> PinnedKey | None:
        fields = line.split()
        if len(fields) < 3 or line.lstrip().startswith("#"):
            return None
        meta = dict(f.split("=", 1) for f in fields[3:] if "=" in f)
        return cls(fields[0], fields[1], fields[2], meta.get("device", ""), meta.get("added", ""))


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def changed_error(
    host: str, port: int, offered: paramiko.PKey, pinned: list[PinnedKey], device: str = ""
) -> HostKeyError:
    """The error for a host offering a key that is not the recorded one."""
    name = host_id(host, port)
    old = ", ".join(f"{p.key_type} {p.fingerprint}" for p in pinned) or "none"
    who = pinned[0].device if pinned and pinned[0].device else device
    return HostKeyError(
        f"host key of {name} changed: recorded {old}, now offered {offered.get_name()} "
        f"{fingerprint(offered)}. Refusing to log in (someone may be intercepting the "
        f"connection). If the device was replaced or reinstalled on purpose, run "
        f"`kopnet hostkey forget {host}` and connect again.",
        host=who or name,
        step="ssh host key",
    )


class HostKeyStore:
    """The known-hosts file; safe to share between threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def open(cls, state_dir: Path | None = None) -> HostKeyStore:
        """The store of ``state_dir`` (default: :func:`default_state_dir`)."""
        return cls((state_dir if state_dir is not None else default_state_dir()) / FILE_NAME)

    def __repr__(self) -> str:
        return f"HostKeyStore({str(self.path)!r})"

    # ---- reading and writing ------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _LOCK, open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_lines(self) -> list[str]:
        try:
            return self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            raise HostKeyError(f"cannot read the known hosts {self.path}: {exc}") from exc

    def _write_lines(self, lines: list[str]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("".join(f"{line}\n" for line in lines))
        tmp.replace(self.path)

    def entries(self) -> list[PinnedKey]:
        """Every recorded key, in file order."""
        return [p for p in map(PinnedKey.parse, self._read_lines()) if p is not None]

    def pins(self, host: str, port: int = 22) -> list[PinnedKey]:
        """The keys recorded for ``host`` on ``port``."""
        name = host_id(host, port)
        return [p for p in self.entries() if p.host == name]

    def record(
        self, host: str, port: int, key: paramiko.PKey, *, device: str = "", replace: bool = False
    ) -> PinnedKey:
        """Pin ``key`` for ``host``; ``replace`` drops the host's other keys (a lab restart)."""
        name = host_id(host, port)
        pin = PinnedKey(name, key.get_name(), key.get_base64(), device, _now())
        try:
            with self._locked():
                kept: list[str] = []
                for line in self._read_lines():
                    old = PinnedKey.parse(line)
                    if old is not None and old.host == name and (replace or old.matches(key)):
                        continue
                    kept.append(line)
                kept.append(pin.line())
                self._write_lines(kept)
        except OSError as exc:  # not a network problem: never retried as one
            raise HostKeyError(
                f"cannot record the host key of {name} in {self.path}: {exc}",
                host=device or name,
                step="ssh host key",
            ) from exc
        log.info("%s: host key %s %s recorded", device or name, pin.key_type, pin.fingerprint)
        return pin

    def forget(self, host: str, port: int | None = None) -> list[PinnedKey]:
        """Drop the keys of ``host`` (an address, ``[host]:port`` or a device name; every
        port unless ``port`` is given); returns what was dropped."""
        dropped: list[PinnedKey] = []
        with self._locked():
            kept: list[str] = []
            for line in self._read_lines():
                pin = PinnedKey.parse(line)
                if pin is not None and _names(pin, host, port):
                    dropped.append(pin)
                    continue
                kept.append(line)
            if dropped:
                self._write_lines(kept)
        return dropped

    # ---- checking ------------------------------------------------------------------------
    def check(
        self,
        host: str,
        port: int,
        key: paramiko.PKey,
        *,
        device: str = "",
        trust_on_first_use: bool = True,
    ) -> bool:
        """Accept ``key`` for ``host``: ``True`` if it was already pinned, ``False`` if it was
        recorded now (first use). Raises :class:`HostKeyError` on a changed key, or for an
        unknown host when ``trust_on_first_use`` is off."""
        pinned = self.pins(host, port)
        if any(p.matches(key) for p in pinned):
            return True
        if pinned:
            raise changed_error(host, port, key, pinned, device)
        if not trust_on_first_use:
            raise HostKeyError(
                f"no recorded host key for {host_id(host, port)} and trust on first use is off",
                host=device or host,
                step="ssh host key",
            )
        self.record(host, port, key, device=device)
        return False

    def policy(
        self, host: str, port: int, *, device: str = "", trust_on_first_use: bool = True
    ) -> paramiko.MissingHostKeyPolicy:
        """A paramiko policy for a key paramiko does not know: checked against this store."""
        return _StorePolicy(self, host, port, device, trust_on_first_use)

    def prepare(
        self,
        client: paramiko.SSHClient,
        host: str,
        port: int = 22,
        *,
        device: str = "",
        trust_on_first_use: bool = True,
    ) -> None:
        """Give ``client`` the pins of ``host`` (paramiko then asks for those key types and
        rejects others itself) and the store's policy for a host seen the first time."""
        known = client.get_host_keys()
        for pin in self.pins(host, port):
            with contextlib.suppress(Exception):  # a key type this paramiko cannot read
                known.add(pin.host, pin.key_type, paramiko.PKey.from_type_string(
                    pin.key_type, base64.b64decode(pin.key_base64)
                ))  # fmt: skip
        client.set_missing_host_key_policy(
            self.policy(host, port, device=device, trust_on_first_use=trust_on_first_use)
        )

    def connect(
        self,
        client: paramiko.SSHClient,
        host: str,
        port: int = 22,
        *,
        device: str = "",
        trust_on_first_use: bool = True,
        **kwargs: Any,
    ) -> None:
        """``client.connect(host, port, **kwargs)`` with the host key checked against this
        store first; a changed key raises :class:`HostKeyError` (never retried)."""
        self.prepare(client, host, port, device=device, trust_on_first_use=trust_on_first_use)
        try:
            client.connect(host, port=port, **kwargs)
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise changed_error(host, port, exc.key, self.pins(host, port), device) from None
        except paramiko.SSHException as exc:
            pinned = self.pins(host, port)
            if pinned and "host key" in str(exc).lower():
                client.close()
                offered = ", ".join(sorted({p.key_type for p in pinned}))
                raise HostKeyError(
                    f"{host_id(host, port)} no longer offers a host key of the recorded type "
                    f"({offered}). If the device was replaced on purpose, run "
                    f"`kopnet hostkey forget {host}` and connect again.",
                    host=device or host,
                    step="ssh host key",
                ) from exc
            raise

    def scan(self, host: str, port: int = 22, *, timeout: float = 10.0) -> paramiko.PKey:
        """The host key ``host`` offers (preferring recorded key types), without logging in."""
        types = sorted({p.key_type for p in self.pins(host, port)})
        return scan_key(host, port, timeout=timeout, key_types=_algorithms(types))

    def verify_remote(
        self,
        host: str,
        port: int = 22,
        *,
        device: str = "",
        timeout: float = 10.0,
        trust_on_first_use: bool = True,
    ) -> bool:
        """Fetch and check the host's key without logging in (see :meth:`check`)."""
        key = self.scan(host, port, timeout=timeout)
        return self.check(host, port, key, device=device, trust_on_first_use=trust_on_first_use)

    def netmiko_options(
        self, host: str, port: int = 22, *, device: str = "", timeout: float = 10.0
    ) -> dict[str, Any]:
        """Check (or on first use record) the key, then the ``ConnectHandler`` arguments that
        make netmiko refuse any other key: strict, this file, no system known_hosts."""
        self.verify_remote(host, port, device=device, timeout=timeout)
        return {
            "ssh_strict": True,
            "system_host_keys": False,
            "alt_host_keys": True,
            "alt_key_file": str(self.path),
        }


class _StorePolicy(paramiko.MissingHostKeyPolicy):
    def __init__(self, store: HostKeyStore, host: str, port: int, device: str, tofu: bool) -> None:
        self.store = store
        self.host = host
        self.port = port
        self.device = device
        self.tofu = tofu

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        self.store.check(
            self.host, self.port, key, device=self.device, trust_on_first_use=self.tofu
        )


def _names(pin: PinnedKey, host: str, port: int | None) -> bool:
    if pin.device and pin.device == host and port is None:
        return True
    if port is not None:
        return pin.host == host_id(host, port)
    bare = pin.host[1:].rsplit("]:", 1)[0] if pin.host.startswith("[") else pin.host
    return host in (pin.host, bare)


def _algorithms(key_types: list[str]) -> list[str]:
    """Host key algorithms that yield keys of these types (RSA keys sign with SHA-2)."""
    out: list[str] = []
    for kt in key_types:
        out.extend(["rsa-sha2-512", "rsa-sha2-256"] if kt == "ssh-rsa" else [kt])
    return out


def scan_key(
    host: str, port: int = 22, *, timeout: float = 10.0, key_types: list[str] | None = None
) -> paramiko.PKey:
    """The host key a server offers in the key exchange (no authentication)."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise ConnectError(f"cannot reach {host}:{port} for its host key: {exc}") from exc
    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = timeout
        if key_types:
            supported = [k for k in key_types if k in transport.get_security_options().key_types]
            if supported:
                transport.get_security_options().key_types = supported
        transport.start_client(timeout=timeout)
        return transport.get_remote_server_key()
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise ConnectError(f"no SSH host key from {host}:{port}: {exc}") from exc
    finally:
        transport.close()


def pin_current_keys(
    store: HostKeyStore,
    targets: list[tuple[str, int, str]],
    *,
    timeout: float = 5.0,
    workers: int = 8,
) -> dict[str, str]:
    """Record the key each ``(host, port, device)`` offers now, replacing what was pinned
    for it: for devices whose keys are known to be new and trusted (a lab just started).
    Keys are fetched ``workers`` at a time. Returns ``device -> reason`` for those whose key
    could not be fetched."""

    def fetch(target: tuple[str, int, str]) -> paramiko.PKey | str:
        try:
            return scan_key(target[0], target[1], timeout=timeout)
        except ConnectError as exc:
            return exc.message

    problems: dict[str, str] = {}
    with ThreadPoolExecutor(max(1, min(workers, len(targets)))) as pool:
        fetched = list(pool.map(fetch, targets))
    for (host, port, device), key in zip(targets, fetched, strict=True):
        if isinstance(key, str):
            problems[device] = key
        else:
            store.record(host, port, key, device=device, replace=True)
    return problems
