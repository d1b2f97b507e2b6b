"""A village's intent for a deploy, the secrets preflight and what the drivers get: pure."""

from __future__ import annotations

import pytest

from kopnet_iac.deploy.intent import Masker, preflight_secrets, village_intent
from kopnet_iac.deploy.report import DeployReport, DeviceReport
from kopnet_iac.deploy.runner import SecretOverlay
from kopnet_iac.deploy.verify import CheckOutcome
from kopnet_iac.errors import SecretError
from kopnet_iac.inventory.loader import Inventory, load_inventory
from kopnet_iac.inventory.secrets import SecretResolver, env_var_name
from tests.conftest import EXAMPLE_FLEET


@pytest.fixture(scope="module")
def inv() -> Inventory:
    return load_inventory(EXAMPLE_FLEET)


def test_every_device_gets_its_files(inv: Inventory) -> None:
    intent = village_intent(inv, "lebung-itam")
    assert set(intent.devices) == {d.hostname for d in inv.village("lebung-itam").devices}
    core = intent.devices["core-lebung-itam"]
    assert core.platform == "routeros" and list(core.files) == ["lebung-itam/core-lebung-itam.rsc"]
    assert core.config.startswith("# KopNet IaC intended configuration for core-lebung-itam")
    radio = intent.devices["bh-lebung-itam-a"]
    assert radio.platform == "airos" and "radio.countrycode=360" in radio.config
    gateway = intent.devices["gw-lebung-itam"]
    assert gateway.config == ""  # several files, applied by Ansible
    assert {"bird.conf", "nftables.conf", "sshd.conf"} <= set(gateway.gateway_files())
    assert len(intent.rendered) == sum(len(d.files) for d in intent.devices.values())
    # no file of one device is taken for another whose name starts the same way
    assert all(
        p.split("/")[1].startswith(h + ".") for h, d in intent.devices.items() for p in d.files
    )


def test_a_stored_intent_is_used_as_given(inv: Inventory) -> None:
    stored = {"lebung-itam/core-lebung-itam.rsc": "/system identity\nset name=x\n"}
    intent = village_intent(inv, "lebung-itam", rendered=stored)
    assert intent.devices["core-lebung-itam"].config == "/system identity\nset name=x\n"
    assert intent.devices["bh-lebung-itam-a"].files == {}
    assert intent.rendered == stored


def test_preflight_resolves_what_the_hosts_need_and_masks_it(inv: Inventory) -> None:
    env = {env_var_name(n): f"value-of-{n}" for n in inv.fleet.secrets}
    intent = village_intent(inv, "lebung-itam")
    values, mask = preflight_secrets(
        inv, intent, ["bh-lebung-itam-a"], credentials=False, resolver=SecretResolver(inv, env)
    )
    # its placeholders, but not its login secret (the NOC account's password): in the lab
    # (credentials=False) that is the lab's own password for the device
    assert set(values) == {"backhaul-key", "snmp-community"}
    assert mask("key value-of-backhaul-key here") == "key @@secret:backhaul-key@@ here"
    values, _ = preflight_secrets(
        inv, intent, ["bh-lebung-itam-a"], credentials=True, resolver=SecretResolver(inv, env)
    )
    assert set(values) == {"radio-admin", "backhaul-key", "snmp-community"}
    values, _ = preflight_secrets(
        inv, intent, ["gw-lebung-itam"], credentials=True, resolver=SecretResolver(inv, env)
    )
    assert "gw-admin" in values  # the login of a production device


def test_a_missing_secret_names_village_host_and_step(inv: Inventory) -> None:
    env = {env_var_name(n): "x-value" for n in inv.fleet.secrets if n != "backhaul-key"}
    intent = village_intent(inv, "lebung-itam")
    with pytest.raises(SecretError) as info:
        preflight_secrets(
            inv,
            intent,
            ["core-lebung-itam", "bh-lebung-itam-a"],
            credentials=False,
            resolver=SecretResolver(inv, env),
        )
    error = info.value
    assert (error.village, error.host, error.step) == (
        "lebung-itam",
        "bh-lebung-itam-a",
        "preflight",
    )
    assert "backhaul-key" in str(error) and "nothing was applied" in str(error)
    assert "x-value" not in str(error)


def test_the_lab_login_overlay_answers_one_name_and_hides_values() -> None:
    overlay = SecretOverlay({"radio-admin": "real", "snmp": "community"}, "radio-admin", "lab-pw")
    assert overlay.get("radio-admin") == "lab-pw" and overlay.get("snmp") == "community"
    assert overlay.get("nope") is None
    assert "lab-pw" not in repr(overlay) and "real" not in repr(overlay)

    class Resolver:
        def get(self, name: str) -> str:
            return f"resolved-{name}"

    assert SecretOverlay(Resolver(), "a", "b").get("c") == "resolved-c"


def test_report_json_shape() -> None:
    report = DeployReport(village="v", release="v-1", outcome="reverted", revert_in=120)
    report.devices.append(DeviceReport("core-v", "routeros", "core-router", operations=3))
    report.checks.append(CheckOutcome("core-v", "radio-link", False, "not registered"))
    data = report.to_json()
    assert {"release", "village", "outcome", "devices"} <= set(data)
    assert data["devices"][0]["hostname"] == "core-v" and data["devices"][0]["operations"] == 3
    assert data["failed_checks"] == ["core-v/radio-link"]
    assert report.device("core-v").operations == 3
    assert Masker() and repr(Masker({"a": "secret-value"})) == "Masker(1 secrets)"
