"""What a probe concludes from what a device reports, and the hardware checks (pure)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from kopnet_iac.errors import KopnetError
from kopnet_iac.replace.flow import ReplaceOptions, check_hardware
from kopnet_iac.replace.routeros import Probe, _classify

BOARD = [{"model": "RB5009UG+S+IN", "serial-number": "HE10X"}]
RESOURCE = [{"board-name": "RB5009UG+S+IN"}]
PORTS = [{"name": "ether1", "mac-address": "4A:00:00:00:00:01"}]


def _rows(identity: str = "MikroTik", **extra: Any) -> list[list[dict[str, str]]]:
    return [
        BOARD,
        RESOURCE,
        [{"name": identity}],
        extra.get("users", [{"name": "admin"}]),
        extra.get("addresses", []),
        extra.get("jobs", []),
        PORTS,
    ]


def test_factory_defconf_and_no_defaults_are_fresh() -> None:
    defconf = [{"address": "192.168.88.1/24", "comment": "defconf"}]
    for rows in (_rows(addresses=defconf), _rows()):
        probe = _classify("core-x", "admin", rows, noc=False)
        assert probe.state == "fresh" and not probe.reasons
        assert (probe.model, probe.serial, probe.mac) == (
            "RB5009UG+S+IN",
            "HE10X",
            "4A:00:00:00:00:01",
        )


def test_someone_elses_configuration_is_named() -> None:
    rows = _rows(
        identity="pop-lama",
        users=[{"name": "admin"}, {"name": "teknisi"}],
        addresses=[{"address": "10.1.1.1/24"}],
        jobs=[{"name": "backup"}],
    )
    probe = _classify("core-x", "admin", rows, noc=False)
    assert probe.state == "configured"
    text = "; ".join(probe.reasons)
    for word in ("pop-lama", "teknisi", "10.1.1.1/24", "backup"):
        assert word in text


def test_noc_login_is_bootstrapped_only_with_the_right_identity() -> None:
    assert _classify("core-x", "noc", _rows("core-x"), noc=True).state == "bootstrapped"
    other = _classify("core-x", "noc", _rows("core-y"), noc=True)
    assert other.state == "configured" and "core-y" in other.reasons[0]


def _target(model: str) -> Any:
    return SimpleNamespace(device=SimpleNamespace(model=model))


def _opts(**kw: Any) -> ReplaceOptions:
    return ReplaceOptions(village="v", hostname="h", inventory_dir=Path("."), **kw)


def test_model_check_normalises_spelling_and_refuses_another_model() -> None:
    probe = Probe("fresh", "ubnt", model="LiteBeam 5AC Gen2", serial="02AA")
    assert check_hardware(_target("LiteBeam-5AC-Gen2"), probe, _opts()) == "02AA"
    with pytest.raises(KopnetError, match="expects a Rocket-5AC-Prism") as info:
        check_hardware(_target("Rocket-5AC-Prism"), probe, _opts())
    assert info.value.step == "model" and "nothing was changed" in info.value.message
    assert check_hardware(_target("Rocket-5AC-Prism"), probe, _opts(force=True)) == "02AA"


def test_serial_given_must_be_the_device_s() -> None:
    probe = Probe("fresh", "admin", model="RB5009UG+S+IN", serial="HE10X")
    target = _target("RB5009UG+S+IN")
    assert check_hardware(target, probe, _opts(serial="HE10X")) == "HE10X"
    with pytest.raises(KopnetError, match="reports serial HE10X, not HE10Y"):
        check_hardware(target, probe, _opts(serial="HE10Y"))
    assert check_hardware(target, probe, _opts(serial="HE10Y", force=True)) == "HE10Y"
    # a device that does not report one: the label's serial is recorded
    assert check_hardware(target, Probe("fresh", "admin"), _opts(serial="HE10Z")) == "HE10Z"
