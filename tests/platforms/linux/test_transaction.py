"""Pure parts of the gateway transaction: managed paths, the scripts the gateway runs, and the
parsing of their answers (the lab tests run the scripts on a real gateway)."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from kopnet_iac.errors import ApplyError
from kopnet_iac.platforms.linux.ansible import ROLES_DIR
from kopnet_iac.platforms.linux.sshrun import SshTarget
from kopnet_iac.platforms.linux.transaction import (
    RELOAD,
    VALIDATE,
    arm_revert,
    arm_script,
    confirm_script,
    managed_paths,
    parse_pairs,
    revert_now_script,
    revert_script,
    state_script,
)

PATHS = {"bird.conf": "/etc/bird/bird.conf", "sysctl.conf": "/etc/sysctl.d/90-kopnet.conf"}


def test_managed_paths_are_the_roles() -> None:
    defaults = yaml.safe_load((ROLES_DIR / "gateway" / "defaults" / "main.yml").read_text())
    paths = managed_paths()
    for name, path in defaults["kopnet_gateway_paths"].items():
        assert paths[name] == path
    for backend, files in (defaults.get("kopnet_network_paths") or {}).items():
        for name, path in files.items():
            assert paths[f"{backend}:{name}"] == path


def test_validators_match_the_role() -> None:
    config = yaml.safe_load((ROLES_DIR / "gateway" / "tasks" / "config.yml").read_text())
    role = {
        f["name"]: f.get("validate", "")
        for f in config[0]["kopnet_config_files"]["files"]
        if f.get("validate", "").startswith(("bird", "nft", "unbound", "chronyd", "sshd"))
    }
    assert role == VALIDATE


@pytest.mark.parametrize("manager", ["systemd", "lab"])
def test_revert_script_restores_validates_and_reloads(manager: str) -> None:
    script = revert_script("abc123", PATHS, manager)
    assert 'grep -qx "id=abc123" "$D/armed"' in script
    assert "flock 9" in script
    assert "bird -p -c /var/lib/kopnet/txn/files/bird.conf" in script
    assert "cp -p /var/lib/kopnet/txn/files/bird.conf /etc/bird/bird.conf.kopnet-revert" in script
    assert "rm -f /etc/sysctl.d/90-kopnet.conf" in script  # absent before: removed again
    assert (RELOAD["bird.conf"][manager] % {"path": "/etc/bird/bird.conf"}) in script
    assert 'rm -rf "$D/files" "$D/manifest" "$D/armed"' in script
    # valid POSIX shell
    subprocess.run(["sh", "-n"], input=script, text=True, check=True)


@pytest.mark.parametrize("manager", [None, "systemd", "lab"])
def test_arm_script_is_valid_shell_and_closes_the_lock_for_the_timer(manager: str | None) -> None:
    script = arm_script("abc123", "desa-x", 90, PATHS, manager)
    subprocess.run(["sh", "-n"], input=script, text=True, check=True)
    if manager != "lab":
        assert "--on-active=90" in script and "kopnet-revert-abc123" in script
    if manager != "systemd":
        assert "setsid -f" in script and "9>&-" in script  # else the timer holds the lock
    assert "already armed" in script


@pytest.mark.parametrize("script", [confirm_script("abc"), confirm_script(None),
                                    revert_now_script(), state_script()])  # fmt: skip
def test_other_scripts_are_valid_shell(script: str) -> None:
    subprocess.run(["sh", "-n"], input=script, text=True, check=True)


def test_parse_pairs_keeps_order_and_ignores_noise() -> None:
    pairs = parse_pairs("id=1\nmanifest=bird.conf present\nwarning: x = y\nmanifest=a absent\n")
    assert pairs == {"id": ["1"], "manifest": ["bird.conf present", "a absent"]}


def test_arm_refuses_a_short_revert_window_before_connecting() -> None:
    target = SshTarget(host="127.0.0.1", port=9, username="root", hostname="gw-x")
    with pytest.raises(ApplyError, match="at least 5s") as info:
        arm_revert(target, 2, village="desa-x")
    assert info.value.village == "desa-x" and info.value.host == "gw-x"
    with pytest.raises(ApplyError, match="unknown service manager"):
        arm_revert(target, 30, village="desa-x", service_manager="openrc")
