"""The address plan: values for the example fleet, stability, and lock checks."""

from __future__ import annotations

import dataclasses
import itertools
import re
import shutil
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kopnet_iac.errors import InventoryError
from kopnet_iac.inventory.addressing import village_addressing
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.inventory.lockfile import (
    LOCK_FILE,
    AddressLock,
    VillageAllocation,
    allocate,
    dump_lock,
    read_lock,
    update_lock,
)
from kopnet_iac.inventory.models import Device, Village
from tests.inventory.conftest import EXAMPLE, edit, position, problems, village

INV = load_inventory(EXAMPLE)
RUN = "run `kopnet addresses update`"


def test_sukadana_plan() -> None:
    a = village_addressing(INV, "sukadana")
    assert a.management == IPv4Network("10.90.0.128/26")
    assert a.management_gateway == IPv4Interface("10.90.0.129/26")
    assert a.device_management == {
        "core-sukadana": IPv4Interface("10.90.0.129/26"),
        "sec-sukadana-1": IPv4Interface("10.90.0.130/26"),
        "sec-sukadana-2": IPv4Interface("10.90.0.131/26"),
    }
    assert a.loopbacks == {
        "gw-sukadana": IPv4Address("10.91.0.17"),
        "core-sukadana": IPv4Address("10.91.0.18"),
    }
    assert (a.gateway_core, a.gateway_core_gateway, a.gateway_core_core) == (
        IPv4Network("10.92.0.16/31"),
        IPv4Interface("10.92.0.16/31"),
        IPv4Interface("10.92.0.17/31"),
    )
    assert (a.uplink, a.uplink_edge, a.uplink_gateway) == (
        IPv4Network("172.30.0.0/31"),
        IPv4Interface("172.30.0.0/31"),
        IPv4Interface("172.30.0.1/31"),
    )
    assert a.subscribers == IPv4Network("100.64.8.0/22")
    assert a.pppoe_local == IPv4Address("100.64.8.1")
    # the upper half of the block is for hotspot subnets (both hamlets sell hotspot plans)
    assert a.pppoe_pool == (IPv4Address("100.64.8.2"), IPv4Address("100.64.9.255"))
    assert a.hotspot == {
        "dusun-1": IPv4Interface("100.64.10.1/26"),
        "dusun-2": IPv4Interface("100.64.10.65/26"),
    }
    assert a.public_nat == IPv4Network("198.18.0.16/29")
    assert a.management_address("gw-sukadana") == IPv4Address("10.91.0.17")
    assert a.management_address("sec-sukadana-2") == IPv4Address("10.90.0.131")


def test_pppoe_takes_the_whole_block_without_hotspot() -> None:
    a = village_addressing(INV, "lebung-itam")
    assert a.hotspot == {}
    assert a.pppoe_pool == (a.subscribers.network_address + 2, a.subscribers.broadcast_address - 1)


@pytest.mark.parametrize("vid", sorted(INV.villages))
def test_plan_invariants(vid: str) -> None:
    a = village_addressing(INV, vid)
    v = INV.village(vid)
    core = next(d.hostname for d in v.devices if d.role == "core-router")
    assert a.device_management[core] == a.management_gateway
    mgmt = [i.ip for i in a.device_management.values()]
    assert len(set(mgmt)) == len(mgmt) and all(ip in a.management for ip in mgmt)
    assert {d.hostname for d in v.devices if d.role != "gateway"} == set(a.device_management)
    pool = INV.fleet.pools[INV.fleet.partner_isp.uplinks[v.uplink.type].pool]
    assert a.uplink.subnet_of(IPv4Network(pool.prefix)) and a.uplink.prefixlen == 31
    assert a.subscribers.subnet_of(IPv4Network("100.64.0.0/10"))
    assert a.pppoe_pool[0] > a.pppoe_local
    for iface in a.hotspot.values():
        assert iface.network.subnet_of(a.subscribers)
        assert iface.ip > a.pppoe_pool[1]


def test_committed_lock_is_complete_and_stable() -> None:
    assert INV.lock is not None
    lock, report = allocate(INV.fleet, INV.villages, INV.lock)
    assert not report.changed and not report.failed
    assert lock == INV.lock
    assert dump_lock(lock) == (EXAMPLE / LOCK_FILE).read_text()


def test_no_allocation_raises() -> None:
    inv = dataclasses.replace(INV, lock=None)
    with pytest.raises(InventoryError, match="no address allocation"):
        village_addressing(inv, "sukadana")


def test_dump_and_read_round_trip(tmp_path: Path) -> None:
    path = tmp_path / LOCK_FILE
    path.write_text(dump_lock(INV.lock or AddressLock()))
    assert read_lock(path) == INV.lock
    assert read_lock(tmp_path / "absent.yaml") is None
    assert dump_lock(AddressLock()).endswith("villages: {}\n")


# --------------------------------------------------------------------------- stability


def _clone(template: Village, n: int, devices_extra: int = 0) -> Village:
    """Village ``v<n>`` shaped like ``template`` (hostnames renamed, optional extra radios)."""
    vid = f"v{n:03d}"
    devices = [
        d.model_copy(update={"hostname": f"{d.hostname.split('-')[0]}-{vid}-{i}"})
        for i, d in enumerate(template.devices)
    ]
    radio = next(d for d in template.devices if d.role == "sector-radio")
    devices += [
        radio.model_copy(update={"hostname": f"extra-{vid}-{k}"}) for k in range(devices_extra)
    ]
    return template.model_copy(update={"id": vid, "devices": devices})


TEMPLATES = [INV.village(v) for v in sorted(INV.villages)]
Op = tuple[str, int, int]
ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "remove", "shuffle", "add-device", "drop-device", "move-devices"]),
        st.integers(0, 14),
        st.integers(0, 1000),
    ),
    min_size=1,
    max_size=12,
)


def _snapshot(lock: AddressLock) -> dict[tuple[str, str, str], str]:
    out = {}
    for vid, alloc in lock.villages.items():
        for section in ("blocks", "devices", "hotspot"):
            for key, value in getattr(alloc, section).items():
                out[(vid, section, key)] = value
    return out


def _apply(villages: dict[str, Village], op: Op) -> dict[str, Village]:
    kind, n, seed = op
    vid = f"v{n:03d}"
    out = dict(villages)
    if kind == "add" and vid not in out:
        out[vid] = _clone(TEMPLATES[n % 3], n)
    elif kind == "remove":
        out.pop(vid, None)
    elif kind == "shuffle":
        keys = sorted(out, key=lambda k: hash((k, seed)))
        out = {k: out[k] for k in keys}
    elif vid in out:
        v = out[vid]
        devices = list(v.devices)
        if kind == "add-device":
            # a new radio: a copy of the last device could be a second core router, which the
            # inventory rejects (the village's core is its one core-router device)
            radios = [d for d in TEMPLATES[n % 3].devices if d.role == "sector-radio"]
            devices.append(radios[0].model_copy(update={"hostname": f"new-{vid}-{seed}"}))
        elif kind == "drop-device":
            radios = [d for d in devices if d.role in ("sector-radio", "backhaul-radio")]
            if radios:
                devices.remove(radios[seed % len(radios)])
        elif kind == "move-devices":
            devices = devices[seed % len(devices) :] + devices[: seed % len(devices)]
        out[vid] = v.model_copy(update={"devices": devices})
    return out


def _assert_consistent(lock: AddressLock) -> None:
    nets = [IPv4Network(text) for alloc in lock.villages.values() for text in alloc.blocks.values()]
    nets.sort()
    for a, b in itertools.pairwise(nets):
        assert not a.overlaps(b), (a, b)
    for vid, alloc in lock.villages.items():
        addrs = list(alloc.devices.values())
        assert len(set(addrs)) == len(addrs), vid


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
# radios dropped until the core router was the last device, then "added" again as a copy of it
@example(
    [("drop-device", 8, 0), ("drop-device", 8, 0), ("add-device", 8, 0), ("move-devices", 8, 158)]
)
def test_changes_never_renumber_existing_allocations(sequence: list[Op]) -> None:
    villages = {f"v{n:03d}": _clone(TEMPLATES[n % 3], n) for n in range(0, 10, 2)}
    lock, report = allocate(INV.fleet, villages, None)
    assert not report.failed
    for op in sequence:
        before = _snapshot(lock)
        villages = _apply(villages, op)
        lock, report = allocate(INV.fleet, villages, lock)
        assert not report.failed
        after = _snapshot(lock)
        for key, value in before.items():
            vid, section, name = key
            still_there = vid in villages and (
                section != "devices" or name in {d.hostname for d in villages[vid].devices}
            )
            if still_there:
                assert after.get(key) == value, (op, key)
        _assert_consistent(lock)
        # every present village and device is covered
        for vid, v in villages.items():
            assert {d.hostname for d in v.devices if d.role != "gateway"} <= set(
                lock.villages[vid].devices
            )


def test_removed_village_keeps_its_blocks_until_pruned() -> None:
    villages = {f"v{n:03d}": _clone(TEMPLATES[n % 3], n) for n in range(3)}
    lock, _ = allocate(INV.fleet, villages, None)
    del villages["v001"]
    kept, report = allocate(INV.fleet, villages, lock)
    assert "v001" in kept.villages and not report.changed
    pruned, report = allocate(INV.fleet, villages, lock, prune=True)
    assert "v001" not in pruned.villages
    assert report.released == ["v001: village no longer in the inventory"]
    # a new village reuses the lowest free block only after the prune
    villages["v009"] = _clone(TEMPLATES[1], 9)
    again, _ = allocate(INV.fleet, villages, pruned)
    assert again.villages["v009"].blocks["management"] == lock.villages["v001"].blocks["management"]
    again_unpruned, _ = allocate(INV.fleet, villages, kept)
    assert (
        again_unpruned.villages["v009"].blocks["management"]
        != lock.villages["v001"].blocks["management"]
    )


def test_invalid_entries_are_reallocated() -> None:
    assert INV.lock is not None
    bad = dict(INV.lock.villages)
    suk = bad["sukadana"]
    bad["sukadana"] = VillageAllocation(
        blocks={**suk.blocks, "management": "10.99.0.0/26"},  # outside the pool
        devices={**suk.devices, "sec-sukadana-1": "10.90.0.5"},  # outside its block
        hotspot=suk.hotspot,
    )
    lock, report = allocate(INV.fleet, INV.villages, AddressLock(villages=bad))
    assert any("management 10.99.0.0/26" in line for line in report.released)
    new_mgmt = IPv4Network(lock.villages["sukadana"].blocks["management"])
    assert new_mgmt == IPv4Network("10.90.0.128/26")  # lowest free, its old block again
    devices = lock.villages["sukadana"].devices
    assert all(IPv4Address(a) in new_mgmt for a in devices.values())
    assert devices["core-sukadana"] == "10.90.0.129"
    assert devices["sec-sukadana-1"] == "10.90.0.130"  # lowest free host again
    assert devices["sec-sukadana-2"] == "10.90.0.131"  # valid, kept
    # other villages untouched
    for vid in ("lebung-itam", "pematang-panggang"):
        assert lock.villages[vid] == INV.lock.villages[vid]


def test_pool_exhaustion_is_reported() -> None:
    fleet = INV.fleet.model_copy(
        update={
            "pools": {
                **INV.fleet.pools,
                "public-nat": INV.fleet.pools["public-nat"].model_copy(
                    update={"prefix": "198.18.0.0/28"}
                ),
            }
        }
    )
    _, report = allocate(fleet, INV.villages, None)
    assert report.failed == ["sukadana: no free block for public-nat (pools: ['public-nat'])"]


# --------------------------------------------------------------------------- lock checks


def _add_village(root: Path, new: str) -> Path:
    path = village(root, new)
    text = village(root, "sukadana").read_text()
    text = text.replace("id: sukadana", f"id: {new}")
    text = re.sub(r"\b(gw|core|sec)-sukadana", rf"\1-{new}", text)
    text = text.replace("serial: ", "serial: N")
    path.write_text(text)
    return path


def test_new_village_needs_update_then_nothing_moves(inv_dir: Path) -> None:
    path = _add_village(inv_dir, "talang")
    assert problems(inv_dir) == [
        f"{position(path, 'id: talang', offset=4)}: id: village talang has no address allocation; {RUN}"
    ]
    before = read_lock(inv_dir / LOCK_FILE)
    _, report = update_lock(load_inventory(inv_dir, check_lock=False))
    assert report.added and all(line.startswith("talang: ") for line in report.added)
    after = read_lock(inv_dir / LOCK_FILE)
    assert before is not None and after is not None
    for vid, alloc in before.villages.items():
        assert after.villages[vid] == alloc
    inv = load_inventory(inv_dir)
    assert village_addressing(inv, "talang").management == IPv4Network("10.90.0.192/26")


def test_new_device_needs_an_address(inv_dir: Path) -> None:
    path = village(inv_dir, "sukadana")
    edit(
        path,
        "links:\n",
        "  - {hostname: sec-sukadana-3, role: sector-radio, model: LiteBeam-5AC-Gen2, "
        "serial: 7483C2A1B9F9, credentials: radio-admin}\nlinks:\n",
    )
    found = problems(inv_dir)
    assert (
        f"{position(path, 'sec-sukadana-3')}: devices[4].hostname: sec-sukadana-3 has no management address; {RUN}"
        in found
    )
    # the unlinked device is also unreachable; nothing else is wrong
    assert len(found) == 2 and "is unreachable: it has no link" in found[1]


@pytest.mark.parametrize(
    ("old", "new", "field", "fragment"),
    [
        (
            "management: 10.90.0.128/26",
            "management: 10.99.0.128/26",
            "villages.sukadana.blocks.management",
            "10.99.0.128/26 is outside pool management (10.90.0.0/16)",
        ),
        (
            "management: 10.90.0.128/26",
            "management: 10.90.0.128/27",
            "villages.sukadana.blocks.management",
            "10.90.0.128/27 is a /27, pool management hands out /26",
        ),
        (
            "management: 10.90.0.128/26",
            "management: 10.90.0.64/26",
            "villages.sukadana.blocks.management",
            "sukadana management 10.90.0.64/26 overlaps pematang-panggang management",
        ),
        (
            "sec-sukadana-1: 10.90.0.130",
            "sec-sukadana-1: 10.90.0.30",
            "villages.sukadana.devices.sec-sukadana-1",
            "10.90.0.30 is not a host of the management block 10.90.0.128/26",
        ),
        (
            "core-sukadana: 10.90.0.129",
            "core-sukadana: 10.90.0.140",
            "villages.sukadana.devices.core-sukadana",
            "the core router must have the first host 10.90.0.129",
        ),
        (
            "dusun-2: 100.64.10.64/26",
            "dusun-2: 100.64.8.64/26",
            "villages.sukadana.hotspot.dusun-2",
            "hotspot subnet must be inside 100.64.10.0/23",
        ),
    ],
)
def test_bad_lock_entry(inv_dir: Path, old: str, new: str, field: str, fragment: str) -> None:
    lock_path = inv_dir / LOCK_FILE
    edit(lock_path, old, new)
    found = problems(inv_dir)
    value = new.split(": ", 1)[1]
    last = lock_path.read_text().count(new)  # sukadana is the last village of the lock
    at = position(lock_path, new, last, offset=len(new) - len(value))
    assert any(p.startswith(f"{at}: {field}: ") and fragment in p and RUN in p for p in found), (
        found
    )


def test_uplink_type_change(inv_dir: Path) -> None:
    path = village(inv_dir, "sukadana")
    edit(path, "type: fiber", "type: ptp-radio")
    found = problems(inv_dir)
    lock_path = inv_dir / LOCK_FILE
    assert any(
        p.startswith(f"{position(lock_path, 'uplink-fiber: 172.30.0.0/31')}: ")
        and "no longer needs a block from uplink-fiber" in p
        for p in found
    )
    assert any("no uplink block for sukadana" in p for p in found)
    _, report = update_lock(load_inventory(inv_dir, check_lock=False))
    assert "sukadana: uplink-radio 172.30.16.2/31" in report.added
    assert any(line.startswith("sukadana: uplink-fiber 172.30.0.0/31") for line in report.released)
    assert village_addressing(load_inventory(inv_dir), "sukadana").uplink_gateway == IPv4Interface(
        "172.30.16.3/31"
    )


def test_hotspot_added_to_a_village(inv_dir: Path) -> None:
    path = village(inv_dir, "lebung-itam")
    edit(path, "hotspot_plans: []", "hotspot_plans: [voucher-harian]")
    found = problems(inv_dir)
    assert (
        f"{position(path, 'id: dusun-1', offset=4)}: hamlets[0].id: hamlet dusun-1 has no hotspot subnet; {RUN}"
        in found
    )
    assert len(found) == 2


def test_missing_lock_file(inv_dir: Path) -> None:
    (inv_dir / LOCK_FILE).unlink()
    found = problems(inv_dir)
    assert len(found) == 3 and all(f"{LOCK_FILE} is missing; {RUN}" in p for p in found)
    load_inventory(inv_dir, check_lock=False)  # the update command can still load it


def test_unparsable_lock(inv_dir: Path) -> None:
    lock_path = inv_dir / LOCK_FILE
    edit(lock_path, "  sukadana:\n    blocks:\n", "  sukadana:\n    blokcs:\n")
    found = problems(inv_dir)
    assert any(
        p.startswith(f"{position(lock_path, 'blokcs')}: villages.sukadana.blokcs: unknown key")
        for p in found
    )


def test_stale_village_is_not_an_error(inv_dir: Path) -> None:
    shutil.move(village(inv_dir, "sukadana"), inv_dir / "sukadana.yaml.off")
    inv = load_inventory(inv_dir)
    assert inv.lock is not None and "sukadana" in inv.lock.villages
    _, report = update_lock(inv, prune=True, dry_run=True)
    assert report.released == ["sukadana: village no longer in the inventory"]
    assert "sukadana" in (read_lock(inv_dir / LOCK_FILE) or AddressLock()).villages  # dry run


def test_new_device_with_device_lists_reordered(tmp_path: Path) -> None:
    """Reordering devices in the file and adding one keeps every old address."""
    before = INV.lock.villages["pematang-panggang"].devices if INV.lock else {}
    v = INV.village("pematang-panggang")
    devices = [
        *list(reversed(v.devices)),
        Device(
            hostname="sec-pematang-4",
            role="sector-radio",
            model="LiteBeam-5AC-Gen2",
            serial="7483C2A1E1F4",
            credentials="radio-admin",
        ),
    ]
    villages = {**INV.villages, v.id: v.model_copy(update={"devices": devices})}
    lock, report = allocate(INV.fleet, villages, INV.lock)
    after = lock.villages["pematang-panggang"].devices
    assert {k: after[k] for k in before} == before
    assert after["sec-pematang-4"] == "10.90.0.71"
    assert report.added == ["pematang-panggang: device sec-pematang-4 10.90.0.71"]


def test_garbage_in_an_unchecked_lock_is_an_inventory_error(inv_dir: Path) -> None:
    edit(inv_dir / LOCK_FILE, "management: 10.90.0.128/26", "management: 10.90.0.128/33")
    inv = load_inventory(inv_dir, check_lock=False)
    with pytest.raises(
        InventoryError, match=r"invalid allocation .*; run `kopnet addresses update`"
    ):
        village_addressing(inv, "sukadana")
    _, report = update_lock(inv, dry_run=True)
    assert any("10.90.0.128/33" in line for line in report.released)
    assert "sukadana: management 10.90.0.128/26" in report.added


@pytest.mark.parametrize(
    ("old", "new", "needle", "field", "fragment"),
    [
        (
            "      links: 10.92.0.16/29\n",
            "      links: 10.92.0.16/29\n      transit: 10.93.0.0/29\n",
            "transit",
            "villages.sukadana.blocks.transit",
            "unknown pool 'transit'",
        ),
        (
            "sec-sukadana-1: 10.90.0.130",
            "sec-sukadana-1: ten-ninety",
            "ten-ninety",
            "villages.sukadana.devices.sec-sukadana-1",
            "'ten-ninety' is not an IPv4 address",
        ),
        (
            "sec-sukadana-2: 10.90.0.131",
            "sec-sukadana-2: 10.90.0.130",
            "10.90.0.130\n",
            "villages.sukadana.devices.sec-sukadana-2",
            "10.90.0.130 is allocated twice",
        ),
        (
            "dusun-2: 100.64.10.64/26",
            "dusun-2: 100.64.10.0/26",
            "100.64.10.0/26\n",
            "villages.sukadana.hotspot.dusun-2",
            "hotspot subnet 100.64.10.0/26 of dusun-2 overlaps that of dusun-1",
        ),
        (
            "uplink-fiber: 172.30.0.0/31",
            "uplink-fiber: 172.30.0.0/33",
            "172.30.0.0/33",
            "villages.sukadana.blocks.uplink-fiber",
            "'172.30.0.0/33' is not a network address with prefix length",
        ),
    ],
)
def test_more_bad_lock_entries(
    inv_dir: Path, old: str, new: str, needle: str, field: str, fragment: str
) -> None:
    lock_path = inv_dir / LOCK_FILE
    edit(lock_path, old, new)
    found = problems(inv_dir)
    at = position(lock_path, needle, lock_path.read_text().count(needle))
    assert any(p.startswith(f"{at}: {field}: ") and fragment in p for p in found), found


def test_second_pool_of_a_purpose_takes_over_when_the_first_is_full(inv_dir: Path) -> None:
    """Growing the fleet: a second management pool serves new villages, old ones stay."""
    fleet = inv_dir / "fleet.yaml"
    edit(
        fleet,
        "  management: {prefix: 10.90.0.0/16, size: 26, purpose: management}\n",
        "  management: {prefix: 10.90.0.0/25, size: 26, purpose: management}\n"
        "  management-2: {prefix: 10.89.0.0/16, size: 26, purpose: management}\n",
    )
    edit(inv_dir / LOCK_FILE, "management: 10.90.0.128/26", "management-2: 10.89.0.0/26")
    edit(inv_dir / LOCK_FILE, "core-sukadana: 10.90.0.129", "core-sukadana: 10.89.0.1")
    edit(inv_dir / LOCK_FILE, "sec-sukadana-1: 10.90.0.130", "sec-sukadana-1: 10.89.0.2")
    edit(inv_dir / LOCK_FILE, "sec-sukadana-2: 10.90.0.131", "sec-sukadana-2: 10.89.0.3")
    inv = load_inventory(inv_dir)
    assert village_addressing(inv, "sukadana").management == IPv4Network("10.89.0.0/26")
    assert village_addressing(inv, "lebung-itam").management == IPv4Network("10.90.0.0/26")
    path = _add_village(inv_dir, "talang")
    assert problems(inv_dir) == [
        f"{position(path, 'id: talang', offset=4)}: id: village talang has no address allocation; {RUN}"
    ]
    _, report = update_lock(load_inventory(inv_dir, check_lock=False))
    assert "talang: management-2 10.89.0.64/26" in report.added
    # a second block of the same purpose for one village is an error
    edit(
        inv_dir / LOCK_FILE,
        "      management-2: 10.89.0.0/26\n",
        "      management-2: 10.89.0.0/26\n      management: 10.90.0.192/26\n",
    )
    found = problems(inv_dir)
    assert any("second management block for sukadana" in p for p in found)


def test_missing_device_in_lock_is_an_error_for_the_plan(inv_dir: Path) -> None:
    edit(inv_dir / LOCK_FILE, "      sec-sukadana-2: 10.90.0.131\n", "")
    inv = load_inventory(inv_dir, check_lock=False)
    with pytest.raises(InventoryError, match="device sec-sukadana-2 has no management address"):
        village_addressing(inv, "sukadana")


def test_hotspot_subnets_stay_when_hamlets_are_reordered(inv_dir: Path) -> None:
    inv = load_inventory(inv_dir)
    v = inv.village("pematang-panggang")
    reordered = v.model_copy(update={"hamlets": list(reversed(v.hamlets))})
    lock, report = allocate(inv.fleet, {**inv.villages, v.id: reordered}, inv.lock)
    assert not report.changed
    assert lock == inv.lock
    dropped = v.model_copy(update={"hamlets": v.hamlets[1:]})
    lock2, report2 = allocate(inv.fleet, {**inv.villages, v.id: dropped}, inv.lock)
    assert report2.released == ["pematang-panggang: hotspot dusun-1 100.64.6.0/26"]
    assert lock2.villages[v.id].hotspot == {"dusun-3": "100.64.6.128/26"}  # dusun-2: PPPoE only


def test_hotspot_subnet_follows_the_hamlets_own_plans(inv_dir: Path) -> None:
    """Selling hotspot in one more hamlet allocates one subnet; the others stay put."""
    inv = load_inventory(inv_dir)
    v = inv.village("pematang-panggang")
    hamlets = [
        h.model_copy(update={"hotspot_plans": ["voucher-harian"]}) if h.id == "dusun-2" else h
        for h in v.hamlets
    ]
    lock, report = allocate(
        inv.fleet, {**inv.villages, v.id: v.model_copy(update={"hamlets": hamlets})}, inv.lock
    )
    assert report.added == ["pematang-panggang: hotspot dusun-2 100.64.6.64/26"]
    assert lock.villages[v.id].hotspot["dusun-1"] == "100.64.6.0/26"
    assert lock.villages[v.id].hotspot["dusun-3"] == "100.64.6.128/26"
