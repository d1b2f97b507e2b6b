"""SSH key login of the kopnet_airos driver and its guard: a candidate disabling SSH password
login is refused unless this session logged in with one of the candidate's enabled keys (the
commit would otherwise lock the controller out of a real radio)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncssh
import pytest
from napalm.base.exceptions import (
    ConnectAuthError,
    ConnectionException,
    MergeConfigException,
    ReplaceConfigException,
)

from kopnet_iac.drivers.airos.errors import AirOSMergeError
from tests.drivers.airos.conftest import driver_for
from tests.drivers.airos.test_driver import config_commands, opened, snapshot
from tests.lab.airos.conftest import RadioHarness


def _key(tmp_path: Path, name: str = "noc_key") -> tuple[Path, str]:
    """A fresh private key file and its ``sshd.auth.key.1.*`` lines."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = tmp_path / name
    key.write_private_key(str(path))
    kind, value = key.export_public_key("openssh").decode().split()[:2]
    lines = (
        f"sshd.auth.key.1.status=enabled\nsshd.auth.key.1.type={kind}\n"
        f"sshd.auth.key.1.value={value}\nsshd.auth.key.1.comment=noc@test\n"
    )
    return path, lines


def _install_key(radio: RadioHarness, lines: str) -> None:
    """Authorise the key on the radio through the driver (password login still on)."""
    with opened(radio) as driver:
        driver.load_merge_candidate(config="sshd.auth.passwd=enabled\n" + lines)
        driver.commit_config()


def test_password_session_is_refused_before_anything_is_sent(
    make_radio: Callable[..., RadioHarness], tmp_path: Path
) -> None:
    radio = make_radio()
    _, lines = _key(tmp_path)
    with opened(radio) as driver:
        before = snapshot(radio)
        mark = len(radio.device.commands_log)
        with pytest.raises(MergeConfigException) as refused:
            driver.load_merge_candidate(config="sshd.auth.passwd=disabled\n" + lines)
        assert radio.device.commands_log[mark:] == []  # not even the read
        assert driver.compare_config() == ""
        kept = [ln for ln in radio.device.active.text.splitlines() if "sshd.auth." not in ln]
        full = "\n".join([*kept, "sshd.auth.passwd=disabled"]) + "\n" + lines
        with pytest.raises(ReplaceConfigException):
            driver.load_replace_candidate(config=full)
        assert radio.device.commands_log[mark:] == []
    assert snapshot(radio) == before
    error = refused.value
    assert isinstance(error, AirOSMergeError)
    assert error.host == radio.spec.hostname and error.step == "load_merge_candidate"
    assert "by password" in str(error) and "key_file" in str(error)
    # password login still works: nothing was changed
    with opened(radio) as driver:
        assert driver.is_alive()["is_alive"]


def test_key_session_may_disable_password_login(
    make_radio: Callable[..., RadioHarness], tmp_path: Path
) -> None:
    radio = make_radio()
    path, lines = _key(tmp_path)
    _install_key(radio, lines)
    with opened(radio, key_file=str(path)) as driver:
        assert "ssh key login kopnet" in radio.device.commands_log
        driver.load_merge_candidate(config="sshd.auth.passwd=disabled\n")
        assert driver.compare_config() == (
            "-sshd.auth.passwd=enabled\n+sshd.auth.passwd=disabled\n"
        )
        driver.commit_config(revert_in=30)
        driver.confirm_commit()  # a fresh check of the radio over the same key session
        assert not driver.has_pending_commit()
    assert radio.device.active.get("sshd.auth.passwd") == "disabled"
    with pytest.raises(ConnectAuthError):  # password login is refused now
        driver_for(radio).open()
    with opened(radio, key_file=str(path)) as driver:  # later runs still get in
        driver.load_merge_candidate(config="sshd.auth.passwd=disabled\n")
        assert driver.compare_config() == ""


def test_key_not_among_the_results_enabled_keys_is_refused(
    make_radio: Callable[..., RadioHarness], tmp_path: Path
) -> None:
    radio = make_radio()
    path, lines = _key(tmp_path)
    _install_key(radio, lines)
    with opened(radio, key_file=str(path)) as driver:
        before = snapshot(radio)
        mark = len(radio.device.commands_log)
        with pytest.raises(MergeConfigException, match="not among its enabled"):
            driver.load_merge_candidate(
                config="sshd.auth.passwd=disabled\nsshd.auth.key.1.status=disabled\n"
            )
        assert config_commands(radio.device.commands_log[mark:]) == []
        assert driver.compare_config() == ""
    assert snapshot(radio) == before


def test_refused_key_falls_back_to_the_password(
    make_radio: Callable[..., RadioHarness], tmp_path: Path
) -> None:
    radio = make_radio()
    _, lines = _key(tmp_path)
    stranger, _ = _key(tmp_path, "stranger")
    _install_key(radio, lines)
    with opened(radio, key_file=str(stranger)) as driver:
        assert driver.is_alive()["is_alive"]
        with pytest.raises(MergeConfigException, match="by password"):
            driver.load_merge_candidate(config="sshd.auth.passwd=disabled\n")


def test_unreadable_key_file_is_a_connect_error_without_the_key(
    make_radio: Callable[..., RadioHarness], tmp_path: Path
) -> None:
    radio = make_radio()
    bad = tmp_path / "not_a_key"
    canary = "CANARY-airos-keyfile-9c2b"
    bad.write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{canary}\n")
    driver = driver_for(radio, key_file=str(bad))
    with pytest.raises(ConnectionException) as failed:
        driver.open()
    assert not isinstance(failed.value, ConnectAuthError)
    assert failed.value.step == "login" and canary not in str(failed.value)
