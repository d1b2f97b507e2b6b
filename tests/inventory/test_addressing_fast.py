"""The fast address derivation equals the plain ``ipaddress`` formulation, values and errors.

``village_addressing`` parses lock entries with integer arithmetic; ``_reference`` below is the
straightforward derivation (string parsing with ``ipaddress`` for every value) it replaced.
Both must agree on every village of generated fleets, on hand-broken locks (same error text),
and the two parsing helpers must agree with ``ipaddress`` on any text.
"""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.fleetgen import generate_fleet
from kopnet_iac.errors import InventoryError
from kopnet_iac.inventory.addressing import (
    VillageAddressing,
    _missing,
    addressing_dict,
    parse_interface,
    parse_network,
    village_addressing,
)
from kopnet_iac.inventory.loader import Inventory, load_inventory
from kopnet_iac.inventory.lockfile import (
    AddressLock,
    VillageAllocation,
    core_router,
    hotspot_area,
    offers_hotspot,
    pools_for,
)
from tests.inventory.conftest import EXAMPLE

# --------------------------------------------------------------------------- reference


def _ref_block(
    inv: Inventory, alloc: VillageAllocation, village_id: str, pools: list[str]
) -> IPv4Network:
    for name in pools:
        if name in alloc.blocks:
            return IPv4Network(alloc.blocks[name])
    raise _missing(inv, village_id, f"no block from pool(s) {', '.join(pools) or '-'}")


def _ref_derive(inv: Inventory, village_id: str, alloc: VillageAllocation) -> VillageAddressing:
    village = inv.village(village_id)
    fleet = inv.fleet
    mgmt = _ref_block(inv, alloc, village_id, pools_for(fleet, "management"))
    loop = _ref_block(inv, alloc, village_id, pools_for(fleet, "loopback"))
    links = _ref_block(inv, alloc, village_id, pools_for(fleet, "link"))
    subs = _ref_block(inv, alloc, village_id, pools_for(fleet, "subscriber"))
    nat = _ref_block(inv, alloc, village_id, pools_for(fleet, "public-nat"))
    profile = fleet.partner_isp.uplinks.get(village.uplink.type)
    uplink = _ref_block(inv, alloc, village_id, [profile.pool] if profile else [])
    device_mgmt: dict[str, IPv4Interface] = {}
    for device in village.devices:
        if device.role == "gateway":
            continue
        if device.hostname not in alloc.devices:
            raise _missing(inv, village_id, f"device {device.hostname} has no management address")
        device_mgmt[device.hostname] = IPv4Interface(
            f"{alloc.devices[device.hostname]}/{mgmt.prefixlen}"
        )
    loopbacks: dict[str, IPv4Address] = {}
    for device in village.devices:
        if device.role == "gateway":
            loopbacks[device.hostname] = loop.network_address + 1
        elif device.hostname == core_router(village):
            loopbacks[device.hostname] = loop.network_address + 2
    gw_core = IPv4Network((int(links.network_address), 31))
    up = IPv4Network((int(uplink.network_address), 31))
    hotspot: dict[str, IPv4Interface] = {}
    pppoe_last = subs.broadcast_address - 1
    if offers_hotspot(village):
        pppoe_last = hotspot_area(subs).network_address - 1
        for hamlet in village.hotspot_hamlets():  # hamlets that sell hotspot plans
            if hamlet.id not in alloc.hotspot:
                raise _missing(inv, village_id, f"hamlet {hamlet.id} has no hotspot subnet")
            net = IPv4Network(alloc.hotspot[hamlet.id])
            hotspot[hamlet.id] = IPv4Interface(f"{net.network_address + 1}/{net.prefixlen}")
    return VillageAddressing(
        management=mgmt,
        management_gateway=IPv4Interface(f"{mgmt.network_address + 1}/{mgmt.prefixlen}"),
        device_management=device_mgmt,
        loopbacks=loopbacks,
        gateway_core=gw_core,
        gateway_core_gateway=IPv4Interface(f"{gw_core.network_address}/31"),
        gateway_core_core=IPv4Interface(f"{gw_core.network_address + 1}/31"),
        uplink=up,
        uplink_edge=IPv4Interface(f"{up.network_address}/31"),
        uplink_gateway=IPv4Interface(f"{up.network_address + 1}/31"),
        subscribers=subs,
        pppoe_local=subs.network_address + 1,
        pppoe_pool=(subs.network_address + 2, pppoe_last),
        hotspot=hotspot,
        public_nat=nat,
    )


def _reference(inv: Inventory, village_id: str) -> VillageAddressing:
    if inv.lock is None or village_id not in inv.lock.villages:
        raise _missing(inv, village_id, "no address allocation for this village")
    try:
        return _ref_derive(inv, village_id, inv.lock.villages[village_id])
    except ValueError as exc:
        raise _missing(inv, village_id, f"invalid allocation ({exc})") from exc


def _assert_same(fast: VillageAddressing, ref: VillageAddressing) -> None:
    """Equal values, equal types and equal key order (templates iterate the dicts)."""
    assert fast == ref
    assert addressing_dict(fast) == addressing_dict(ref)
    for f in dataclasses.fields(VillageAddressing):
        a, b = getattr(fast, f.name), getattr(ref, f.name)
        if isinstance(b, dict):
            assert list(a) == list(b), f.name
            assert [type(v) for v in a.values()] == [type(v) for v in b.values()], f.name
            assert [v.network for v in a.values() if isinstance(v, IPv4Interface)] == [
                v.network for v in b.values() if isinstance(v, IPv4Interface)
            ], f.name
        elif isinstance(b, tuple):
            assert [type(v) for v in a] == [type(v) for v in b], f.name
        else:
            assert type(a) is type(b), f.name
            if isinstance(b, IPv4Interface):
                assert a.network == b.network and a.netmask == b.netmask, f.name
            if isinstance(b, IPv4Network):
                assert str(a.broadcast_address) == str(b.broadcast_address), f.name
                assert list(a.hosts())[:3] == list(b.hosts())[:3], f.name


def _outcome(fn: object, inv: Inventory, vid: str) -> VillageAddressing | list[str]:
    assert callable(fn)
    try:
        result = fn(inv, vid)
    except InventoryError as exc:
        return [str(p) for p in exc.problems]
    assert isinstance(result, VillageAddressing)
    return result


# --------------------------------------------------------------------------- fleets


@pytest.fixture(scope="module", params=[1, 7], ids=["seed1", "seed7"])
def fleet(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    root = tmp_path_factory.mktemp(f"fleet-{request.param}") / "inventory"
    generate_fleet(root, 60, seed=request.param)
    return load_inventory(root)


def test_every_village_of_a_generated_fleet(fleet: Inventory) -> None:
    hotspot = uplinks = 0
    kinds: set[str] = set()
    for vid in sorted(fleet.villages):
        fast = village_addressing(fleet, vid)
        _assert_same(fast, _reference(fleet, vid))
        hotspot += bool(fast.hotspot)
        uplinks += 1
        kinds.add(fleet.village(vid).uplink.type)
    # the sample exercises both subscriber layouts and every uplink pool
    assert 0 < hotspot < uplinks == 60
    assert kinds == {"fiber", "ptp-radio", "vsat"}


def test_every_village_of_the_example_inventory() -> None:
    inv = load_inventory(EXAMPLE)
    for vid in sorted(inv.villages):
        _assert_same(village_addressing(inv, vid), _reference(inv, vid))


def test_repeated_calls_give_equal_independent_plans(fleet: Inventory) -> None:
    vid = sorted(fleet.villages)[0]
    first = village_addressing(fleet, vid)
    first.device_management.clear()  # a caller scribbling on its copy changes nothing for others
    again = village_addressing(fleet, vid)
    assert again.device_management
    _assert_same(again, _reference(fleet, vid))


# --------------------------------------------------------------------------- broken locks

EXAMPLE_INV = load_inventory(EXAMPLE)


def _with(section: str, key: str, value: str | None, vid: str = "sukadana") -> Inventory:
    assert EXAMPLE_INV.lock is not None
    villages = dict(EXAMPLE_INV.lock.villages)
    alloc = villages[vid]
    entries = dict(getattr(alloc, section))
    if value is None:
        del entries[key]
    else:
        entries[key] = value
    villages[vid] = alloc.model_copy(update={section: entries})
    return dataclasses.replace(EXAMPLE_INV, lock=AddressLock(villages=villages))


BROKEN = [
    ("blocks", "management", "10.90.0.128/33"),
    ("blocks", "management", "10.90.0.129/26"),  # host bits set
    ("blocks", "management", "010.90.0.128/26"),  # leading zero
    ("blocks", "management", "10.90.0.128/255.255.255.192"),  # netmask form: valid
    ("blocks", "management", "10.90.0.128/026"),  # valid for ipaddress
    ("blocks", "management", "10.90.0.128"),  # a /32: no room, still derived
    ("blocks", "management", " 10.90.0.128/26"),
    ("blocks", "management", "10.90.0.128/26\n"),
    ("blocks", "management", "10.90.0.256/26"),
    ("blocks", "management", "10.90.0.128/\uff12\uff16"),  # fullwidth digits
    ("blocks", "management", "255.255.255.255/32"),  # the gateway address overflows
    ("blocks", "management", None),
    ("blocks", "loopbacks", "255.255.255.255/32"),
    ("blocks", "loopbacks", "255.255.255.254/31"),
    ("blocks", "links", "10.92.0.17/32"),  # the /31 has host bits set
    ("blocks", "subscribers", "0.0.0.0/32"),  # broadcast - 1 underflows
    ("blocks", "subscribers", "100.64.8.0/23"),
    ("blocks", "uplink-fiber", "172.30.0.1/32"),
    ("blocks", "uplink-fiber", None),
    ("blocks", "public-nat", "198.18.0.16/28"),  # host bits set
    ("devices", "sec-sukadana-1", "ten-ninety"),
    ("devices", "sec-sukadana-1", "10.90.0.300"),
    ("devices", "sec-sukadana-1", "10.90.0.130/27"),
    ("devices", "sec-sukadana-1", "10.90.00.130"),
    ("devices", "sec-sukadana-1", "10.90.0.130 "),
    ("devices", "sec-sukadana-1", "10.99.0.7"),  # outside the block: not checked here
    ("devices", "sec-sukadana-1", None),
    ("hotspot", "dusun-2", "100.64.10.65/26"),
    ("hotspot", "dusun-2", "255.255.255.255/32"),
    ("hotspot", "dusun-2", "100.64.10.64/24"),
    ("hotspot", "dusun-2", "100.64.10.64/26/26"),
    ("hotspot", "dusun-2", None),
]


@pytest.mark.parametrize(("section", "key", "value"), BROKEN)
def test_hand_edited_lock_behaves_as_before(section: str, key: str, value: str | None) -> None:
    inv = _with(section, key, value)
    fast, ref = _outcome(village_addressing, inv, "sukadana"), _outcome(_reference, inv, "sukadana")
    if isinstance(ref, VillageAddressing):
        assert isinstance(fast, VillageAddressing), fast
        _assert_same(fast, ref)
    else:
        assert fast == ref
        assert "sukadana" in ref[0]


def test_single_address_subscriber_block_with_hotspot_is_an_inventory_error() -> None:
    """Used to escape as a bare IndexError from ``hotspot_area``; now a reported lock problem."""
    inv = _with("blocks", "subscribers", "100.64.8.0/32")
    with pytest.raises(IndexError):
        _reference(inv, "sukadana")
    with pytest.raises(InventoryError, match=r"100\.64\.8\.0/32 has no upper half for hotspot"):
        village_addressing(inv, "sukadana")
    # without hotspot plans a /32 is merely useless, and derived as before
    inv = _with("blocks", "subscribers", "100.64.0.0/32", vid="lebung-itam")
    fast = village_addressing(inv, "lebung-itam")
    _assert_same(fast, _reference(inv, "lebung-itam"))
    assert fast.pppoe_pool == (IPv4Address("100.64.0.2"), IPv4Address("100.63.255.255"))


def test_broken_cases_cover_both_outcomes() -> None:
    outcomes = [
        isinstance(_outcome(_reference, _with(*case), "sukadana"), VillageAddressing)
        for case in BROKEN
    ]
    assert 3 <= sum(outcomes) <= len(outcomes) - 20


# --------------------------------------------------------------------------- parsing helpers

_octet = st.one_of(
    st.integers(0, 300).map(str),
    st.sampled_from(["00", "01", "007", "0000", "", "-1", "+1", "1e1", "٣", " 1", "1 "]),
)
_quad_text = st.tuples(_octet, _octet, _octet, _octet).map(".".join)
_prefix = st.one_of(
    st.integers(0, 40).map(str),
    st.sampled_from(["", "08", "032", "255.255.255.0", "0.0.0.255", "x", "1/2"]),
)
_network_text = st.one_of(
    st.tuples(_quad_text, _prefix).map("/".join),
    _quad_text,
    st.text(alphabet="0123456789./ ", max_size=20),
    st.integers(0, 2**32 - 1).flatmap(
        lambda n: st.integers(0, 32).map(lambda p: f"{IPv4Address(n)}/{p}")
    ),
)


def _either(fn: object, *args: object) -> tuple[str, object]:
    assert callable(fn)
    try:
        value = fn(*args)
    except ValueError as exc:
        return type(exc).__name__, str(exc)
    return type(value).__name__, (value, str(value), getattr(value, "network", None))


@settings(max_examples=400, deadline=None)
@given(_network_text)
def test_parse_network_is_ipaddress(text: str) -> None:
    assert _either(parse_network, text) == _either(IPv4Network, text)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_quad_text, _network_text), st.integers(-2, 40))
def test_parse_interface_is_ipaddress(text: str, prefixlen: int) -> None:
    expected = _either(lambda: IPv4Interface(f"{text}/{prefixlen}"))
    assert _either(parse_interface, text, prefixlen) == expected


EDGES = [
    "256.0.0.0/8",
    "0.256.0.0/16",
    "0.0.256.0/24",
    "0.0.0.256/32",
    "255.255.255.255/32",
    "0.0.0.0/0",
    "1.0.0.0/0",
    "10.90.0.128/33",
    "10.90.0.128/",
    "10.90.0.128//26",
    "10.90.0.128/26 ",
    "1000.0.0.0/8",
    "10.90.0/24",
    "10.90.0.0.0/24",
]


@pytest.mark.parametrize("text", EDGES)
def test_parse_helpers_on_edge_texts(text: str) -> None:
    assert _either(parse_network, text) == _either(IPv4Network, text)
    address = text.partition("/")[0]
    assert _either(parse_interface, address, 24) == _either(IPv4Interface, f"{address}/24")


def test_parse_helpers_agree_on_every_prefix_length() -> None:
    for prefixlen in range(33):
        net = IPv4Network(("10.90.0.0", prefixlen), strict=False)
        text = str(net)
        assert _either(parse_network, text) == _either(IPv4Network, text)
        assert parse_interface("10.90.0.130", prefixlen) == IPv4Interface(
            f"10.90.0.130/{prefixlen}"
        )
