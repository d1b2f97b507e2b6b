"""The emulator's menu facts and the planner's ``paths.yaml`` describe the same RouterOS.

If they disagreed, a plan the engine computes could be refused by the emulator (a menu it does
not know), or a value the emulator leaves out of its export as a default could plan as a
change the engine then sends on every run.
"""

from __future__ import annotations

import pytest

from kopnet_iac.lab.faults import Faults
from kopnet_iac.lab.routeros import schema as emulator
from kopnet_iac.lab.routeros.core import Router
from kopnet_iac.lab.routeros.printing import EXPORT_DEFAULTS, print_value
from kopnet_iac.lab.routeros.store import ConfigStore
from kopnet_iac.lab.spec import DeviceSpec
from kopnet_iac.platforms.routeros.paths import load_schema

PLANNER = load_schema()
#: paths.yaml also reads RouterOS 6 exports; these menus do not exist in RouterOS 7
ROUTEROS6_ONLY = frozenset({"routing filter", "routing bgp instance", "routing bgp peer"})
NAMES = sorted(" ".join(p) for p in PLANNER.paths)


def _router() -> Router:
    spec = DeviceSpec(
        village="t", hostname="r", platform="routeros", model="RB5009UG+S+", host="127.0.0.1"
    )
    return Router(spec, None, Faults(), ConfigStore())  # type: ignore[arg-type]


def test_the_planner_knows_menus() -> None:
    assert len(NAMES) > 100 and "interface bridge filter" not in ROUTEROS6_ONLY


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ROUTEROS6_ONLY])
def test_every_planner_menu_is_a_routeros7_menu_of_the_emulator(name: str) -> None:
    router = _router()
    assert router.known_path(name), f"/{name}: in paths.yaml, unknown to the emulator"
    ps = PLANNER.get(tuple(name.split()))
    assert ps.singleton == router.is_singleton(name), f"/{name}: singleton disagrees"


def test_emulator_singletons_are_planner_singletons() -> None:
    for name in emulator.SINGLETON_PATHS:
        path = tuple(name.split())
        if path in PLANNER.paths:
            assert PLANNER.paths[path].singleton, name


@pytest.mark.parametrize("name", sorted(EXPORT_DEFAULTS))
def test_what_the_emulator_leaves_out_is_the_planners_default(name: str) -> None:
    ps = PLANNER.get(tuple(name.split()))
    for key, value in EXPORT_DEFAULTS[name].items():
        assert key in ps.defaults, f"/{name} {key}: left out of exports, no default in paths.yaml"
        assert print_value(key, ps.defaults[key] or "") == print_value(key, value), (
            f"/{name} {key}: the emulator's default {value!r} is not paths.yaml's "
            f"{ps.defaults[key]!r}"
        )


def test_routeros6_only_menus_are_refused_by_the_routeros7_emulator() -> None:
    router = _router()
    assert all(not router.known_path(name) for name in ROUTEROS6_ONLY)
