"""Every RouterOS device of the example inventory: a replace deploy converges (a second
compare is empty) on an emulated device of its own model and ports."""

from __future__ import annotations

import re

import pytest

from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.render.renderer import render_device
from tests.conftest import EXAMPLE_FLEET

from .conftest import TEST_PASSWORD, Lab, make_driver, start_router

INVENTORY = load_inventory(EXAMPLE_FLEET)
DEVICES = [
    (vid, device)
    for vid in sorted(INVENTORY.villages)
    for device in INVENTORY.village(vid).devices
    if INVENTORY.hardware_of(device).platform == "routeros"
]


@pytest.mark.parametrize(
    ("village", "device"), DEVICES, ids=[device.hostname for _, device in DEVICES]
)
def test_replace_deploy_converges(lab: Lab, village: str, device: object) -> None:
    hostname = device.hostname  # type: ignore[attr-defined]
    hardware = INVENTORY.hardware_of(device)  # type: ignore[arg-type]
    text = render_device(INVENTORY, village, hostname)[f"{hostname}.rsc"]
    secrets = {name: f'fake-{name}-"$\\' for name in re.findall(r"@@secret:([a-z0-9-]+)@@", text)}
    secrets[device.credentials] = TEST_PASSWORD  # type: ignore[attr-defined]
    router = start_router(
        lab,
        model=device.model,  # type: ignore[attr-defined]
        ports=tuple(hardware.ports),
        wireless=bool(hardware.wireless),
    )
    drv = make_driver(router, secrets=secrets, expected_model=device.model)  # type: ignore[attr-defined]
    drv.open()
    drv.load_replace_candidate(config=text)
    assert drv.compare_config()
    drv.commit_config(revert_in=60)
    drv.confirm_commit()
    assert drv.flow.last_report["residual"] == 0
    drv.load_replace_candidate(config=text)
    assert drv.compare_config() == ""
    drv.close()
