"""The pieces under the address plan, checked against brute force."""

from __future__ import annotations

from ipaddress import IPv4Network

from hypothesis import given, settings
from hypothesis import strategies as st

from kopnet_iac.inventory.lockfile import _Space, hotspot_area
from kopnet_iac.inventory.validation import overlaps

PARENT = IPv4Network("10.0.0.0/24")

blocks = st.lists(
    st.tuples(st.integers(24, 30), st.integers(0, 255)).map(
        lambda t: IPv4Network(
            (int(PARENT.network_address) + (t[1] >> (32 - t[0]) << (32 - t[0])), t[0])
        )
    ),
    max_size=12,
)


def _free_blocks(taken: list[IPv4Network], prefixlen: int) -> list[IPv4Network]:
    return [
        n for n in PARENT.subnets(new_prefix=prefixlen) if not any(n.overlaps(t) for t in taken)
    ]


@settings(max_examples=200, deadline=None)
@given(blocks, st.lists(st.integers(24, 30), min_size=1, max_size=6))
def test_lowest_free_block_matches_brute_force(taken: list[IPv4Network], wanted: list[int]) -> None:
    space = _Space(PARENT)
    for net in taken:
        space.take(net)
    occupied = list(taken)
    for prefixlen in wanted:
        expected = _free_blocks(occupied, prefixlen)
        got = space.lowest(prefixlen)
        if not expected:
            assert got is None
        else:
            assert got == expected[0]
            occupied.append(got)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.integers(24, 30).flatmap(lambda p: st.sampled_from(list(PARENT.subnets(new_prefix=p)))),
        max_size=10,
    )
)
def test_overlaps_finds_every_overlapping_network(nets: list[IPv4Network]) -> None:
    items = [(n, (i,), f"n{i}") for i, n in enumerate(nets)]
    pairs = list(overlaps(items))
    for (a, _, _), (b, _, _) in pairs:
        assert a.overlaps(b)
    flagged = {loc for (_, loc, _), _ in pairs}
    # every network that overlaps an earlier-sorted one is reported at least once
    ordered = sorted(items, key=lambda it: (int(it[0].network_address), it[0].prefixlen))
    for k, (net, loc, _) in enumerate(ordered):
        if any(net.overlaps(prev) for prev, _, _ in ordered[:k]):
            assert loc in flagged
    assert bool(pairs) == any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_same_size_overlap_check() -> None:
    space = _Space(IPv4Network("10.90.0.0/16"))
    space.take(IPv4Network("10.90.0.64/26"))
    assert space.overlaps(IPv4Network("10.90.0.64/26"))
    assert not space.overlaps(IPv4Network("10.90.0.0/26"))
    assert not space.overlaps(IPv4Network("10.90.0.128/26"))
    assert space.lowest(26) == IPv4Network("10.90.0.0/26")
    assert space.lowest(26) == IPv4Network("10.90.0.128/26")
    assert space.lowest(25) == IPv4Network("10.90.1.0/25")


def test_exhausted_space() -> None:
    space = _Space(IPv4Network("198.18.0.0/30"))
    assert space.lowest(31) == IPv4Network("198.18.0.0/31")
    assert space.lowest(31) == IPv4Network("198.18.0.2/31")
    assert space.lowest(31) is None
    assert space.lowest(32) is None


def test_hotspot_area_is_the_upper_half() -> None:
    assert hotspot_area(IPv4Network("100.64.8.0/22")) == IPv4Network("100.64.10.0/23")
