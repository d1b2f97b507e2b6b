"""The planner's path schema (``platforms/routeros/paths.yaml``) and the emulator's schema
(``lab/routeros/schema.py``) describe the same RouterOS menus separately. They may know
different amounts, but where both speak they must agree: otherwise plans proven against the
lab would be wrong on a router (or leak what the router hides)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml

from kopnet_iac.lab.routeros import schema as emulator
from kopnet_iac.platforms.routeros.paths import load_schema

_BOOLS = {"true": "yes", "false": "no"}
# Identity keys of the planner that RouterOS 7 (what the emulator plays) no longer has: the
# planner also reads RouterOS 6 exports. Each entry needs a reason.
V6_ONLY_KEYS = {("ip route", "routing-mark")}  # v6 policy routing; v7 uses routing-table


def _raw_paths() -> dict[str, dict[str, Any]]:
    text = (
        resources.files("kopnet_iac.platforms.routeros")
        .joinpath("paths.yaml")
        .read_text(encoding="utf-8")
    )
    data: dict[str, dict[str, Any]] = {
        str(k): v or {} for k, v in (yaml.safe_load(text)["paths"] or {}).items()
    }
    return data


def _same(a: str, b: str) -> bool:
    return _BOOLS.get(a, a) == _BOOLS.get(b, b)


def test_singletons_agree() -> None:
    schema = load_schema()
    for path, ps in schema.paths.items():
        name = " ".join(path)
        assert ps.singleton == emulator.is_singleton(name), (
            f"{name}: planner says singleton={ps.singleton}, emulator the opposite"
        )


def test_every_value_the_emulator_hides_is_sensitive_to_the_planner() -> None:
    # RouterOS hides these in an export without show-sensitive: a planner that did not know
    # would compare the hidden (absent) value and print the real one in plans and diffs.
    # The emulator hides a key in any menu; the planner may scope a key to the one menu that
    # has it (static-key-N: wireless security profiles), so compare against the union.
    schema = load_schema()
    masked = set(schema.global_sensitive)
    for ps in schema.paths.values():
        masked |= ps.sensitive
    missing = emulator.SENSITIVE_KEYS - masked
    assert not missing, f"hidden by RouterOS, never masked by the planner: {sorted(missing)}"
    scoped = emulator.SENSITIVE_KEYS - schema.global_sensitive
    profiles = schema.get(("interface", "wireless", "security-profiles")).sensitive
    assert scoped <= profiles, f"scoped outside wireless security profiles: {scoped - profiles}"


def test_defaults_known_to_both_have_the_same_value() -> None:
    schema = load_schema()
    tables = {**emulator.LIST_DEFAULTS, **emulator.SINGLETON_DEFAULTS}
    compared = 0
    for name, shown in tables.items():
        ps = schema.paths.get(tuple(name.split()))
        if ps is None:
            continue
        for key, value in ps.defaults.items():
            if key in shown:
                compared += 1
                assert _same(value, shown[key]), (
                    f"{name} {key}: planner assumes {value!r} when absent, emulator shows "
                    f"{shown[key]!r}"
                )
    assert compared >= 10, "the two schemas stopped overlapping: this test checks nothing"


def test_path_defaults_and_keys_are_properties_the_emulator_accepts() -> None:
    schema = load_schema()
    raw = _raw_paths()
    checked = 0
    for name, known in emulator.KNOWN_PROPERTIES.items():
        ps = schema.paths.get(tuple(name.split()))
        assert ps is not None, f"the emulator validates {name}, the planner does not know it"
        own_defaults = {k for k, v in (raw[name].get("defaults") or {}).items() if v is not None}
        for key in (*ps.keys, *sorted(own_defaults)):
            checked += 1
            if (name, key) in V6_ONLY_KEYS:
                continue
            assert key in known, f"{name}: planner uses {key!r}, emulator rejects it"
    assert checked > 0


def test_interface_menus_are_keyed_by_name() -> None:
    schema = load_schema()
    for name in emulator.INTERFACE_TYPES:
        ps = schema.paths.get(tuple(name.split()))
        if ps is not None:
            assert ps.keys == ("name",), f"{name}: interfaces are identified by name"


@pytest.mark.parametrize("name", sorted(emulator.BUILTIN_ITEMS))
def test_builtin_items_live_in_list_menus_identified_by_name(name: str) -> None:
    ps = load_schema().paths.get(tuple(name.split()))
    assert ps is not None, f"{name} has built-in items in the emulator, unknown to the planner"
    assert not ps.singleton and ps.keys == ("name",)
    for _selector, props in emulator.BUILTIN_ITEMS[name]:
        assert props.get("name"), f"{name}: a built-in item without a name"


def test_v6_only_allowances_are_still_needed() -> None:
    schema = load_schema()
    for name, key in V6_ONLY_KEYS:
        assert key in schema.get(tuple(name.split())).keys
        assert key not in emulator.KNOWN_PROPERTIES.get(name, frozenset({key}))
