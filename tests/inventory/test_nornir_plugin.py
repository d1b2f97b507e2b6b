"""The Nornir inventory plugin: hosts, groups, connection options, secrets, lab mode."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nornir import InitNornir
from nornir.core import Nornir
from nornir.core.filter import F

from kopnet_iac.errors import KopnetError
from kopnet_iac.inventory.nornir_plugin import KopnetInventory
from kopnet_iac.inventory.secrets import encrypt_vault
from tests.addresses import claim_lab_prefix
from tests.conftest import REPO_ROOT
from tests.inventory.conftest import EXAMPLE


def nornir(**options: Any) -> Nornir:
    return InitNornir(
        runner={"plugin": "serial"},
        inventory={
            "plugin": "KopnetInventory",
            "options": {"inventory_dir": str(EXAMPLE), **options},
        },
        logging={"enabled": False},
    )


def test_entry_point_loads_every_device() -> None:
    nr = nornir()
    assert len(nr.inventory.hosts) == 17
    core = nr.inventory.hosts["core-sukadana"]
    assert core.hostname == "10.90.0.129"
    assert core.platform == "kopnet_routeros"
    assert core.username == "noc"  # the named NOC account the templates configure
    assert core.data["village"] == "sukadana"
    assert core["role"] == "core-router"  # data is reachable the Nornir way
    assert core["serial"] == "HE10A8F2K91"
    assert core["credentials"] == "core-admin"
    gw = nr.inventory.hosts["gw-sukadana"]
    assert (gw.hostname, gw.platform) == ("10.91.0.17", "linux")
    airos = nr.inventory.hosts["sec-sukadana-2"]
    assert (airos.hostname, airos.platform) == ("10.90.0.131", "kopnet_airos")


def test_groups_and_filters() -> None:
    nr = nornir()
    assert {g for g in nr.inventory.groups if g.startswith("village:")} == {
        "village:sukadana",
        "village:lebung-itam",
        "village:pematang-panggang",
    }
    assert {g for g in nr.inventory.groups if g.startswith("platform:")} == {
        "platform:kopnet_routeros",
        "platform:linux",
        "platform:kopnet_airos",
    }
    sukadana = nr.filter(F(groups__contains="village:sukadana"))
    assert sorted(sukadana.inventory.hosts) == [
        "core-sukadana",
        "gw-sukadana",
        "sec-sukadana-1",
        "sec-sukadana-2",
    ]
    cores = nr.filter(F(groups__contains="role:core-router"))
    assert sorted(cores.inventory.hosts) == ["core-lebung-itam", "core-pematang", "core-sukadana"]
    backhaul = nr.filter(F(groups__contains="role:backhaul-radio") & F(platform="kopnet_airos"))
    assert sorted(backhaul.inventory.hosts) == ["bh-lebung-itam-a", "bh-lebung-itam-b"]


def test_connection_options() -> None:
    nr = nornir()
    napalm = nr.inventory.hosts["core-pematang"].get_connection_parameters("napalm")
    assert (napalm.platform, napalm.hostname) == ("kopnet_routeros", "10.90.0.65")
    args = napalm.extras["optional_args"]
    assert napalm.extras["timeout"] >= 30  # a GEO round trip is ~600 ms, plus loss bursts
    assert (args["port"], args["expected_model"], args["host_label"]) == (
        8728,
        "RB5009UG+S+IN",
        "core-pematang",
    )
    assert args["connect_timeout"] >= 10 and hasattr(args["secrets"], "get")
    assert args["fallback_usernames"] == ["admin"]
    radio = nr.inventory.hosts["bh-lebung-itam-a"].get_connection_parameters("napalm")
    assert radio.platform == "kopnet_airos"
    assert radio.extras["optional_args"]["model"] == "PowerBeam-5AC-Gen2"
    assert radio.extras["optional_args"]["name"] == "bh-lebung-itam-a"
    # radios too: the NOC account first, the earlier admin where the first deploy has not run
    assert nr.inventory.hosts["bh-lebung-itam-a"].username == "noc"
    assert radio.extras["optional_args"]["fallback_usernames"] == ["admin"]
    netmiko = nr.inventory.hosts["core-pematang"].get_connection_parameters("netmiko")
    assert (netmiko.platform, netmiko.port) == ("mikrotik_routeros", 22)
    airos = nr.inventory.hosts["bh-lebung-itam-a"].get_connection_parameters("netmiko")
    assert (airos.platform, airos.port) == ("linux", 22)
    gw = nr.inventory.hosts["gw-pematang"].get_connection_parameters("netmiko")
    assert (gw.platform, gw.port) == ("linux", 22)


def test_village_filter_option() -> None:
    nr = nornir(villages=["lebung-itam"])
    assert sorted(nr.inventory.hosts) == sorted(
        [
            "gw-lebung-itam",
            "core-lebung-itam",
            "bh-lebung-itam-a",
            "bh-lebung-itam-b",
            "sec-lebung-itam-1",
            "sec-lebung-itam-2",
        ]
    )
    assert sorted(nornir(villages="sukadana").inventory.hosts)[0] == "core-sukadana"
    with pytest.raises(KopnetError, match="unknown village"):
        KopnetInventory(inventory_dir=EXAMPLE, villages=["atlantis"]).load()


def test_passwords_from_secrets_when_available(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("KOPNET_SECRET_") or name.startswith("KOPNET_VAULT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KOPNET_SECRET_CORE_ADMIN", "fake-core-pw")
    inv = KopnetInventory(inventory_dir=EXAMPLE).load()
    assert inv.hosts["core-sukadana"].password == "fake-core-pw"
    assert inv.hosts["core-pematang"].password == "fake-core-pw"
    gw = inv.hosts["gw-sukadana"]
    assert gw.password is None  # absent: the load works, a connect fails later
    assert "KOPNET_SECRET_GW_ADMIN" in gw.data["secret_error"]
    assert "secret_error" not in inv.hosts["core-sukadana"].data


def test_passwords_from_the_vault(monkeypatch: pytest.MonkeyPatch, inv_dir: Path) -> None:
    for name in list(os.environ):
        if name.startswith("KOPNET_SECRET_"):
            monkeypatch.delenv(name)
    (inv_dir / "fleet.vault").write_bytes(
        encrypt_vault({"radio-admin": "fake-radio-pw"}, "fake-vault")
    )
    monkeypatch.setenv("KOPNET_VAULT_PASSWORD", "fake-vault")
    inv = KopnetInventory(inventory_dir=inv_dir).load()
    assert inv.hosts["sec-pematang-3"].password == "fake-radio-pw"
    assert inv.hosts["core-pematang"].password is None
    monkeypatch.setenv("KOPNET_VAULT_PASSWORD", "wrong")
    assert KopnetInventory(inventory_dir=inv_dir).load().hosts["sec-pematang-3"].password is None


def test_invalid_inventory_fails_the_load(inv_dir: Path) -> None:
    from kopnet_iac.errors import InventoryError
    from tests.inventory.conftest import edit, village

    edit(village(inv_dir, "sukadana"), "vlan: 102", "vlan: 101")
    with pytest.raises(InventoryError):
        KopnetInventory(inventory_dir=inv_dir).load()


# --------------------------------------------------------------------------- lab mode


@pytest.fixture
def running_lab(tmp_path: Path) -> Iterator[Path]:
    """A real lab (emulated RouterOS/airOS devices of sukadana, no gateway) in tmp_path."""
    from kopnet_iac.lab import control

    lab_dir = tmp_path / "lab"
    env = {
        **os.environ,
        "KOPNET_LAB_DIR": str(lab_dir),
        "KOPNET_LAB_PREFIX": claim_lab_prefix(),
    }
    cmd = [sys.executable, "-m", "kopnet_iac.cli.main", "--inventory", str(EXAMPLE), "lab"]
    try:
        up = subprocess.run(
            [*cmd, "up", "sukadana", "--no-gateways"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=REPO_ROOT,
        )
        assert up.returncode == 0, up.stdout + up.stderr
        yield lab_dir
    finally:
        subprocess.run([*cmd, "down"], capture_output=True, timeout=60, env=env, cwd=REPO_ROOT)
        pid = control.read_pid(lab_dir)
        if pid is not None and control.pid_alive(pid) and control.is_lab_daemon(pid):
            os.kill(pid, signal.SIGKILL)
            control.wait_exit(pid, 10)


@pytest.mark.lab
def test_lab_mode_reaches_the_emulated_devices(running_lab: Path) -> None:
    from nornir_napalm.plugins.tasks import napalm_get

    from kopnet_iac.lab.targets import lab_targets

    targets = lab_targets(running_lab)
    nr = nornir(villages=["sukadana"], lab=True, lab_dir=str(running_lab))
    # only devices running in the lab (no gateway here)
    assert sorted(nr.inventory.hosts) == ["core-sukadana", "sec-sukadana-1", "sec-sukadana-2"]
    core = nr.inventory.hosts["core-sukadana"]
    target = targets["core-sukadana"]
    assert core.hostname == target.host and core.hostname.startswith("127.")
    assert core.data["lab"] is True
    napalm = core.get_connection_parameters("napalm")
    assert napalm.platform == "kopnet_routeros"
    assert napalm.extras["optional_args"]["port"] == target.api_port
    assert napalm.extras["optional_args"]["expected_model"] == "RB5009UG+S+IN"
    # in the lab the device's login secret is the lab's password for it: the NOC account
    # logs in with it once deployed, the lab's own user (same password) before that
    assert napalm.extras["optional_args"]["secrets"].get("core-admin") == target.password
    assert (core.username, core.password) == ("noc", target.password)
    assert napalm.extras["optional_args"]["fallback_usernames"] == [target.username]
    radio = nr.inventory.hosts["sec-sukadana-2"].get_connection_parameters("napalm")
    assert radio.extras["optional_args"]["fallback_usernames"] == [
        targets["sec-sukadana-2"].username
    ]
    assert core.get_connection_parameters("netmiko").port == target.ssh_port
    result = nr.filter(platform="kopnet_routeros").run(task=napalm_get, getters=["facts"])
    assert not result.failed, {h: r.exception for h, r in result.items()}
    assert result["core-sukadana"].result["facts"]["serial_number"] == "HE10A8F2K91"
    assert result["sec-sukadana-1"].result["facts"]["model"] == "mANTBox-19s"
    nr.close_connections()


def test_platform_connection_options_and_lab_overrides() -> None:
    from kopnet_iac.inventory.nornir_plugin import platform_connection_options
    from kopnet_iac.lab.targets import DeviceTarget

    ros = platform_connection_options("kopnet_routeros")
    assert ros["napalm"].extras["optional_args"]["port"] == 8728
    assert ros["netmiko"].platform == "mikrotik_routeros"
    assert ros["netmiko"].extras["conn_timeout"] >= 10
    assert set(platform_connection_options("kopnet_airos")) == {"napalm", "netmiko"}
    assert set(platform_connection_options("linux")) == {"netmiko"}
    target = DeviceTarget(
        hostname="core-x",
        platform="routeros",
        host="127.9.0.2",
        api_port=18728,
        ssh_port=18022,
        http_port=None,
        username="admin",
        password="fake-lab",
        state="running",
    )
    lab = KopnetInventory._lab_options("kopnet_routeros", target, expected_model="X")
    assert lab["napalm"].extras["optional_args"]["port"] == 18728
    assert lab["napalm"].extras["optional_args"]["expected_model"] == "X"
    assert (lab["netmiko"].platform, lab["netmiko"].port) == ("mikrotik_routeros", 18022)
    radio = KopnetInventory._lab_options("kopnet_airos", target)
    assert set(radio) == {"napalm", "netmiko"} and radio["netmiko"].platform == "linux"
    assert radio["napalm"].extras["optional_args"]["port"] == 18022
