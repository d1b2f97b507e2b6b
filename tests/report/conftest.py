"""Fixtures for the report tests: a release store holding a reverted deploy of Sukadana."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from kopnet_iac.inventory.loader import Inventory, load_inventory
from kopnet_iac.state import Release, ReleaseStore
from kopnet_iac.state.models import utcnow
from tests.conftest import EXAMPLE_FLEET

VILLAGE = "sukadana"
HOSTS = ("gw-sukadana", "core-sukadana", "sec-sukadana-1", "sec-sukadana-2")
CANARY = "canary-Secret-7d1f"  # must never appear in a page


@pytest.fixture(scope="session")
def inventory() -> Inventory:
    return load_inventory(EXAMPLE_FLEET)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ReleaseStore]:
    with ReleaseStore.open(tmp_path / "state") as opened:
        yield opened


def record_reverted(store: ReleaseStore) -> str:
    """A deploy whose radio-link check failed and that reverted every changed device."""
    rid = store.begin_release(
        VILLAGE,
        kind="deploy",
        operator="noc-ani",
        git_revision="0123456789abcdef",
        git_dirty=False,
        rendered={f"{VILLAGE}/core-sukadana.rsc": "/system identity\nset name=core-sukadana\n"},
    )
    for host in HOSTS:
        store.record_device(
            rid,
            host,
            platform="linux" if host.startswith("gw") else "routeros",
            plan=None if host.startswith("gw") else f"/snmp\nset location={host}-tower\n",
            revert_plan=None if host.startswith("gw") else '/snmp\nset location=""\n',
            outcome="planned",
            operations=0,
        )
    for host in HOSTS[1:]:
        store.journal(rid, "arm", host, {"revert_in": 300})
        store.journal(rid, "apply", host, {"revert_in": 290})
    store.journal(
        rid,
        "wire",
        "core-sukadana",
        {"connections": 1, "round_trips": 4, "bytes_to_device": 812, "bytes_from_device": 2290},
    )
    store.journal(rid, "verify", None, {"attempt": 1})
    store.record_verification(
        rid,
        [
            {"host": "core-sukadana", "check": "management", "ok": True, "detail": "reachable"},
            {"host": "sec-sukadana-1", "check": "radio-link", "ok": False,
             "detail": "no station registered on wlan1"},
        ],
    )  # fmt: skip
    for host in HOSTS[1:]:
        store.journal(rid, "revert", host)
        store.record_device(rid, host, platform="routeros", outcome="reverted", operations=3)
    store.journal(rid, "finish", None, {"outcome": "reverted"})
    store.finish_release(rid, "reverted", error="verification failed: sec-sukadana-1/radio-link")
    return rid


def synthetic_release(**changes: object) -> Release:
    """A release made in memory (for texts the store itself would refuse)."""
    start = utcnow()
    at = (start + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    base: dict[str, object] = {
        "id": f"{VILLAGE}-20261130T120000Z-abcd",
        "village": VILLAGE,
        "kind": "deploy",
        "operator": "noc",
        "started": start,
        "finished": start + timedelta(seconds=5),
        "git_revision": None,
        "git_dirty": True,
        "outcome": "failed",
        "error": f"apply failed: password={CANARY}",
        "rendered": {},
        "devices": [
            {
                "hostname": "core-sukadana",
                "platform": "routeros",
                "running_before": f'/user\nset admin password="{CANARY}"\n',
                "plan": f"/ppp secret\nadd name=u1 password={CANARY}\n",
                "revert_plan": f"/ppp secret\nremove [ find name=u1 ]\n# secret={CANARY}\n",
                "outcome": "failed",
                "operations": 1,
                "error": f"trap: bad secret={CANARY}",
                "updated": at,
            }
        ],
        "verification": [],
        "journal": [{"seq": 1, "at": at, "step": "apply", "host": "core-sukadana", "detail": None}],
    }
    base.update(changes)
    return Release(**base)  # type: ignore[arg-type]
