"""Fault change sets: text form, validation, application, description."""

from __future__ import annotations

import asyncio

import pytest

from kopnet_iac.errors import LabError
from kopnet_iac.lab.faults import Action, Faults
from kopnet_iac.lab.faultspec import (
    GEO_RTT_MS,
    apply_changes,
    describe,
    parse_fault_spec,
    validate_changes,
)


def test_parse_text_form() -> None:
    host, changes = parse_fault_spec(
        "core-x:latency=200,jitter=20,trap=/ip address*,link-down=ether2,link-down=ether3,"
        "refuse-login,drop-after=3,slow-boot=5"
    )
    assert host == "core-x"
    assert changes == {
        "latency_ms": 200.0,
        "jitter_ms": 20.0,
        "trap_pattern": "/ip address*",
        "link_down": ["ether2", "ether3"],
        "refuse_login": True,
        "drop_after_commands": 3,
        "boot_seconds": 5.0,
    }


@pytest.mark.parametrize(
    "text",
    ["no-colon", ":latency=1", "h:bogus=1", "h:latency", "h:latency=abc", "h:latency=-5"],
)
def test_bad_text_is_rejected(text: str) -> None:
    with pytest.raises(LabError):
        parse_fault_spec(text)


@pytest.mark.parametrize(
    "changes",
    [
        {"latency_ms": "x"},
        {"refuse_login": "yes"},
        {"link_down": "ether1"},
        {"trap_pattern": 5},
        {"drop_after_commands": -1},
        {"nonsense": 1},
    ],
)
def test_validation_rejects_wrong_types(changes: dict[str, object]) -> None:
    with pytest.raises(LabError):
        validate_changes(changes)


def test_apply_geo_links_and_clear() -> None:
    faults = Faults()
    apply_changes(faults, validate_changes({"geo": True, "link_down": ["ath0", "eth0"]}))
    assert faults.link_rtt_ms == GEO_RTT_MS and faults.link_jitter_ms > 0
    assert faults.latency_ms == 0  # geo is the link, not a slow device
    assert faults.links_down == {"ath0", "eth0"}
    apply_changes(faults, {"link_up": ["eth0"], "trap_pattern": "*reboot*"})
    assert faults.links_down == {"ath0"}
    assert describe(faults) == {
        "link_rtt_ms": GEO_RTT_MS,
        "link_jitter_ms": faults.link_jitter_ms,
        "trap_pattern": "*reboot*",
        "links_down": ["ath0"],
    }
    apply_changes(faults, {"clear": True})
    assert describe(faults) == {}
    assert faults.links_down == set()


def test_applied_faults_change_command_outcomes() -> None:
    faults = Faults()
    apply_changes(faults, parse_fault_spec("h:trap=/system reboot*,drop-after=1")[1])

    async def outcomes() -> list[Action]:
        commands = ["/ip address print", "/system reboot", "/ip address print"]
        return [(await faults.before_command(c)).action for c in commands]

    assert asyncio.run(outcomes()) == [Action.PROCEED, Action.DROP, Action.PROCEED]
    apply_changes(faults, {"trap_pattern": "/system reboot*"})
    assert asyncio.run(faults.before_command("/system reboot")).action is Action.TRAP
