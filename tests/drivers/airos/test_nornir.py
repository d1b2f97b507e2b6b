"""The airOS driver under Nornir's standard NAPALM tasks, with the example fleet's rendered
airOS configs: replace with revert armed, confirm, redeploy as a no-op, revert by itself,
rollback, wrong credentials."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from nornir import InitNornir
from nornir.core import Nornir
from nornir.core.task import Result, Task
from nornir_napalm.plugins.tasks import (
    napalm_configure,
    napalm_confirm_commit,
    napalm_get,
    napalm_rollback,
)

from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.inventory.secrets import referenced_secrets
from kopnet_iac.lab.airos.config import SystemConfig, check_password
from kopnet_iac.render.renderer import render_inventory
from tests.conftest import EXAMPLE_FLEET
from tests.drivers.airos.conftest import PASSWORD, USER, driver_for
from tests.drivers.airos.test_driver import config_commands, snapshot, wait_for
from tests.lab.airos.conftest import RadioHarness

REPO = Path(__file__).resolve().parents[3]


def canary(name: str) -> str:
    return f"CANARY-{name}-7e41"


def make_nornir(
    tmp_path: Path, radios: dict[str, RadioHarness], configs: dict[str, str], **extra: Any
) -> Nornir:
    hosts: dict[str, Any] = {}
    for name, radio in radios.items():
        secrets = {s: canary(s) for s in referenced_secrets(configs.get(name, ""))}
        hosts[name] = {
            "hostname": radio.spec.host,
            "port": radio.spec.ssh_port,
            "username": extra.get("username", USER),
            "password": extra.get("password", PASSWORD),
            "platform": "kopnet_airos",
            "data": {"config": configs.get(name, "")},
            "connection_options": {
                "napalm": {
                    "extras": {
                        "timeout": 20,
                        "optional_args": {
                            "https_port": radio.spec.https_port,
                            "name": name,
                            "village": radio.spec.village,
                            "model": radio.spec.model,
                            "secrets": secrets,
                        },
                    }
                }
            },
        }
    (tmp_path / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    return InitNornir(
        runner={"plugin": "threaded", "options": {"num_workers": 6}},
        inventory={
            "plugin": "SimpleInventory",
            "options": {"host_file": str(tmp_path / "hosts.yaml")},
        },
        logging={"enabled": False},
    )


def deploy(task: Task, revert_in: int | None = 120, dry_run: bool = False) -> Result:
    return task.run(
        napalm_configure,
        replace=True,
        configuration=task.host.data["config"],
        revert_in=revert_in,
        dry_run=dry_run,
    )[0]


def test_example_fleet_airos_configs_deploy_confirm_and_redeploy_as_no_op(
    make_radio: Callable[..., RadioHarness], tmp_path: Path
) -> None:
    inv = load_inventory(EXAMPLE_FLEET)
    noc = inv.fleet.noc.device_user  # the rendered NOC account replaces the lab's login user
    artifacts = [a for a in render_inventory(inv) if a.platform == "airos"]
    assert len(artifacts) >= 4
    models = {d.hostname: d.model for v in inv.villages.values() for d in v.devices}
    radios = {
        a.host: make_radio(hostname=a.host, model=models[a.host], role=a.role) for a in artifacts
    }
    configs = {a.host: a.text for a in artifacts}
    nr = make_nornir(tmp_path, radios, configs)
    try:
        first = nr.run(task=deploy)
        assert not first.failed, {h: r.exception for h, r in first.items()}
        for host, multi in first.items():
            assert multi[0].changed
            diff = multi[0].diff
            assert "+snmp.community=********" in diff and f"+users.1.name={noc}" in diff
            assert "CANARY" not in diff
            wanted = SystemConfig.parse(configs[host]).get("wireless.1.ssid")
            assert radios[host].device.active.get("wireless.1.ssid") == wanted
            assert radios[host].device.jobs  # armed, waiting for the confirm
        confirmed = nr.run(task=napalm_confirm_commit)
        assert not confirmed.failed and all(r[0].changed for r in confirmed.values())
        marks = {host: len(radio.device.commands_log) for host, radio in radios.items()}
        again = nr.run(task=deploy)
        assert not again.failed
        for host, radio in radios.items():
            assert not again[host][0].changed and again[host][0].diff == ""
            assert config_commands(radio.device.commands_log[marks[host] :]) == []
            assert not radio.device.jobs
        links = nr.run(task=napalm_get, getters=["get_wireless_link", "get_facts"])
        for host, multi in links.items():
            link = multi[0].result["get_wireless_link"]
            assert link["ssid"] == SystemConfig.parse(configs[host]).get("wireless.1.ssid")
            assert link["country_code"] == 360
            assert multi[0].result["get_facts"]["hostname"] == host
    finally:
        nr.close_connections()
    for host, radio in radios.items():
        flash = SystemConfig.parse(radio.device.flash)
        assert flash.get("users.1.name") == noc
        assert check_password(canary("radio-admin"), flash.get("users.1.password"))
        assert flash.get("snmp.community") == canary("snmp-community")  # pushed, never shown
        assert flash.get("system.cfg.version")  # the firmware's own key is kept
        # the new credentials of the rendered config work, and the radio is converged
        driver = driver_for(
            radio,
            username=noc,
            password=canary("radio-admin"),
            secrets={s: canary(s) for s in referenced_secrets(configs[host])},
        )
        driver.open()
        try:
            driver.load_replace_candidate(config=configs[host])
            assert driver.compare_config() == ""
        finally:
            driver.close()


def test_revert_by_itself_then_confirm_then_rollback(
    make_radio: Callable[..., RadioHarness], tmp_path: Path
) -> None:
    radio = make_radio()
    before = snapshot(radio)
    change = "wireless.1.ssid=NORNIR\n"
    nr = make_nornir(tmp_path, {"bh-a": radio}, {"bh-a": change})

    def merge(task: Task, revert_in: int) -> Result:
        return task.run(
            napalm_configure, configuration=task.host.data["config"], revert_in=revert_in
        )[0]

    result = nr.run(task=merge, revert_in=2)
    assert not result.failed and result["bh-a"][0].changed
    started = time.monotonic()
    nr.close_connections()  # the controller goes away
    assert radio.device.active.get("wireless.1.ssid") == "NORNIR"
    assert wait_for(lambda: snapshot(radio) == before, timeout=2 + 10)
    assert time.monotonic() - started >= 1.5
    none = nr.run(task=napalm_confirm_commit)
    assert not none.failed and not none["bh-a"][0].changed  # nothing pending any more

    assert not nr.run(task=merge, revert_in=60).failed
    assert not nr.run(task=napalm_confirm_commit).failed
    assert "wireless.1.ssid=NORNIR" in radio.device.flash
    boot_time = radio.device._boot_time
    rolled = nr.run(task=napalm_rollback)
    assert not rolled.failed and rolled["bh-a"][0].changed
    assert snapshot(radio) == before and radio.device._boot_time == boot_time
    nr.close_connections()


def test_wrong_credentials_fail_the_host_with_a_clear_error(
    make_radio: Callable[..., RadioHarness], tmp_path: Path
) -> None:
    radio = make_radio()
    nr = make_nornir(tmp_path, {"bh-a": radio}, {}, password="not-the-fake-pw")
    result = nr.run(task=napalm_get, getters=["get_facts"])
    assert result.failed
    error = result["bh-a"][0].exception
    from napalm.base.exceptions import ConnectAuthError

    assert isinstance(error, ConnectAuthError)
    assert str(error).startswith("testvillage/bh-a/login: SSH login as 'kopnet' refused")
    assert "not-the-fake-pw" not in str(result["bh-a"][0].result)
    nr.close_connections()


@pytest.fixture(autouse=True)
def _no_nornir_log_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # nornir writes nornir.log into the working directory
