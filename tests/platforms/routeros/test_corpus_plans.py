"""Plans between real exports: build from nothing, tear down to nothing, turn one router into
another. Files holding entries the engine cannot tell apart must fail with a PlanError naming
the path, never get a guessed plan."""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

import pytest

from kopnet_iac.errors import PlanError
from kopnet_iac.platforms.routeros.apply import apply_script
from kopnet_iac.platforms.routeros.model import RouterOSConfig
from kopnet_iac.platforms.routeros.normalize import equivalent
from kopnet_iac.platforms.routeros.parser import parse_export
from kopnet_iac.platforms.routeros.planner import plan, target_state
from tests.platforms.routeros.conftest import corpus_files, needs_corpus, read
from tests.platforms.routeros.test_corpus import EXPECTED, SCRIPT

# file -> the path whose entries are ambiguous (duplicates or no identity), checked by hand:
# e.g. 035 has two default routes via the same gateway (one with dst-address=""), 020 a
# DHCP client whose interface was deleted, 002 two empty "/tool romon port add" lines.
AMBIGUOUS = {
    "002.rsc": "/tool romon port",
    "003.rsc": "/ip firewall mangle",
    "020.rsc": "/ip dhcp-client",
    "025.rsc": "/ip dhcp-server lease",
    "035.rsc": "/ip route",
    "041.rsc": "/ip firewall mangle",
    "042.rsc": "/ip firewall nat",
    "048.rsc": "/routing id",
}

EXPORTS = [p for p in corpus_files() if EXPECTED.get(p.name) != SCRIPT]


@functools.cache
def _load(name: str) -> RouterOSConfig:
    path = next(p for p in EXPORTS if p.name == name)
    return parse_export(read(path), name)


def _check(running: RouterOSConfig, intended: RouterOSConfig) -> None:
    result = plan(running, intended)
    after = apply_script(running, result.script())
    assert equivalent(after, target_state(running, intended))
    assert not plan(after, intended)
    assert equivalent(apply_script(after, result.revert_script()), running)


@needs_corpus
@pytest.mark.parametrize("path", EXPORTS, ids=lambda p: p.name)
def test_build_from_nothing_and_tear_down(path: Path) -> None:
    cfg = _load(path.name)
    everything = RouterOSConfig(managed=tuple(cfg.sections))
    if path.name in AMBIGUOUS:
        with pytest.raises(PlanError, match=AMBIGUOUS[path.name]):
            plan(RouterOSConfig(), cfg)
        with pytest.raises(PlanError, match=AMBIGUOUS[path.name]):
            plan(cfg, everything)
        return
    _check(RouterOSConfig(), cfg)
    _check(cfg, everything)


@needs_corpus
@pytest.mark.parametrize(
    ("a", "b"),
    [(x.name, y.name) for x, y in itertools.pairwise(EXPORTS)],
    ids=lambda n: n,
)
def test_turn_one_router_into_another(a: str, b: str) -> None:
    running, intended = _load(a), _load(b)
    try:
        _check(running, intended)
    except PlanError as exc:
        assert a in AMBIGUOUS or b in AMBIGUOUS, str(exc)
        assert any(p in str(exc) for p in (AMBIGUOUS.get(a), AMBIGUOUS.get(b)) if p)
