"""What the emulator exports, it imports back to the same state (any property text)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopnet_iac.lab.routeros.device import RouterOSDevice
from kopnet_iac.platforms.routeros.normalize import equivalent
from kopnet_iac.platforms.routeros.parser import parse_export

from .conftest import Lab
from .test_api import connect

TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(comments=st.lists(TEXT, min_size=1, max_size=5), identity=TEXT.filter(bool))
def test_export_then_import_gives_the_same_state(
    lab: Lab, comments: list[str], identity: str
) -> None:
    source, target, baseline = _pair(lab)
    for device in (source, target):
        device.router.store.load_json(baseline)
    assert source.router.interpreter is not None and target.router.interpreter is not None
    for index, comment in enumerate(comments):
        lab.loop.run(
            source.router.execute(
                "ip firewall address-list",
                "add",
                {"list": "noc", "address": f"10.0.0.{index}", "comment": comment},
                None,
            )
        )
    lab.loop.run(source.router.execute("system identity", "set", {"name": identity}, None))
    exported = source.export(show_sensitive=True)
    lab.loop.run(target.router.interpreter.run_text(exported, source="export"))
    # an empty comment is no comment: RouterOS does not export it
    assert [e.props for e in target.router.store.entries("ip firewall address-list")] == [
        {k: v for k, v in e.props.items() if (k, v) != ("comment", "")}
        for e in source.router.store.entries("ip firewall address-list")
    ]
    assert target.router.identity() == identity
    assert equivalent(parse_export(exported), parse_export(target.export(show_sensitive=True)))


def test_defconf_export_reloads_on_a_blank_router(lab: Lab) -> None:
    factory = lab.start(lab.spec(factory_default=True, password=""))
    blank = lab.start(lab.spec(factory_default=False))
    assert blank.router.interpreter is not None
    exported = factory.export(show_sensitive=True)
    lab.loop.run(blank.router.interpreter.run_text(exported, source="defconf", lenient=False))
    assert equivalent(parse_export(exported), parse_export(blank.export(show_sensitive=True)))
    api = connect(blank.spec.host)
    assert [r["address"] for r in api.path("ip", "address")] == ["192.168.88.1/24"]
    api.close()


_PAIRS: dict[int, tuple[RouterOSDevice, RouterOSDevice, dict[str, Any]]] = {}


def _pair(lab: Lab) -> tuple[RouterOSDevice, RouterOSDevice, dict[str, Any]]:
    """Two devices per test (hypothesis reuses the function-scoped ``lab``) and a blank state."""
    if id(lab) not in _PAIRS or _PAIRS[id(lab)][0] not in lab.devices:
        _PAIRS.clear()
        first, second = lab.start(), lab.start()
        _PAIRS[id(lab)] = (first, second, first.router.store.to_json())
    return _PAIRS[id(lab)]
