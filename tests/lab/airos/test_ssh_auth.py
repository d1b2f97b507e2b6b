"""The emulated radio's SSH server follows the applied ``sshd.auth.*`` keys, as dropbear on a
radio does: ``sshd.auth.passwd=disabled`` refuses password logins, and the enabled
``sshd.auth.key.N`` entries are the public keys that may log in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncssh
import paramiko
import pytest

from tests.lab.airos.conftest import RadioHarness

USER, PASSWORD = "kopnet", "lab-fake-pw"


def _key(tmp_path: Path, name: str) -> tuple[Path, str, str]:
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = tmp_path / name
    key.write_private_key(str(path))
    kind, value = key.export_public_key("openssh").decode().split()[:2]
    return path, kind, value


def _configure(radio: RadioHarness, *, passwd: str, key: tuple[str, str], status: str) -> None:
    device = radio.device
    lines = [ln for ln in device.active.text.splitlines() if ln and not ln.startswith("sshd.auth.")]
    lines += [
        f"sshd.auth.passwd={passwd}",
        f"sshd.auth.key.1.status={status}",
        f"sshd.auth.key.1.type={key[0]}",
        f"sshd.auth.key.1.value={key[1]}",
        "sshd.auth.key.1.comment=noc@test",
    ]
    radio.loop.run(_write(radio, "\n".join(sorted(lines)) + "\n"))


async def _write(radio: RadioHarness, text: str) -> None:
    radio.device.write_config(text)


def _login(radio: RadioHarness, **auth: object) -> str:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect(
            radio.spec.host,
            radio.spec.ssh_port,
            username=USER,
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
            **auth,  # type: ignore[arg-type]
        )
        _, out, _ = client.exec_command("echo in", timeout=10)
        return out.read().decode().strip()
    finally:
        client.close()


def test_password_login_works_while_enabled(
    make_radio: Callable[..., RadioHarness], tmp_path: Path
) -> None:
    radio = make_radio()
    _, kind, value = _key(tmp_path, "k")
    _configure(radio, passwd="enabled", key=(kind, value), status="enabled")
    assert _login(radio, password=PASSWORD) == "in"


def test_password_login_refused_once_disabled(
    make_radio: Callable[..., RadioHarness], tmp_path: Path
) -> None:
    radio = make_radio()
    path, kind, value = _key(tmp_path, "k")
    _configure(radio, passwd="disabled", key=(kind, value), status="enabled")
    with pytest.raises(paramiko.AuthenticationException):
        _login(radio, password=PASSWORD)
    # the authorised key still gets in
    assert _login(radio, pkey=paramiko.PKey.from_path(path)) == "in"


def test_only_enabled_configured_keys_log_in(
    make_radio: Callable[..., RadioHarness], tmp_path: Path
) -> None:
    radio = make_radio()
    path, kind, value = _key(tmp_path, "k")
    other, _, _ = _key(tmp_path, "other")
    _configure(radio, passwd="enabled", key=(kind, value), status="enabled")
    with pytest.raises(paramiko.AuthenticationException):
        _login(radio, pkey=paramiko.PKey.from_path(other))
    assert _login(radio, pkey=paramiko.PKey.from_path(path)) == "in"
    _configure(radio, passwd="enabled", key=(kind, value), status="disabled")
    with pytest.raises(paramiko.AuthenticationException):
        _login(radio, pkey=paramiko.PKey.from_path(path))
    assert _login(radio, password=PASSWORD) == "in"
