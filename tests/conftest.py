"""Shared test helpers."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.addresses import claim_lab_prefix

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DIR = os.path.join(os.path.dirname(REPO_ROOT), "shared")

# The example fleet the tests read: the suite's own copy of ``inventory/``. ``inventory/`` is the
# user's fleet (the docs tell them to add villages there), so no test may depend on what it holds.
# Refresh the copy when the example changes on purpose:
#     rm -r tests/fixtures/fleet && cp -r inventory tests/fixtures/fleet
# (benchmarks/fleetgen.py, which some tests use, builds its synthetic fleets from it too).
EXAMPLE_FLEET = Path(REPO_ROOT) / "tests" / "fixtures" / "fleet"
# The user-facing inventory: only tests about the user's own fleet (a copy of it, edited) and about
# files shipped in it for editors (``schema/*.json``) read it.
USER_INVENTORY = Path(REPO_ROOT) / "inventory"

# A lab a test starts without choosing its addresses gets this test process's own /16, so test
# processes side by side (``pytest -n``, two checkouts) never bind the same address.
os.environ["KOPNET_LAB_PREFIX"] = claim_lab_prefix()
# Likewise a state directory (known_hosts, releases) of this test process for what runs outside
# a test's own (session and module fixtures), never the checkout's ``.kopnet/state``; removed
# when the process ends (also a helper process that imports test modules).
_PROCESS_STATE = tempfile.mkdtemp(prefix="kopnet-test-state-")
os.environ["KOPNET_STATE"] = _PROCESS_STATE
atexit.register(shutil.rmtree, _PROCESS_STATE, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``root`` skip with a reason when not running as root. Files that start labs
    run first (namespace labs, then emulated devices), so with ``pytest -n`` the long files do
    not start last and leave the other processes idle."""
    weight: dict[str, int] = {}
    for item in items:
        rank = 2 if "root" in item.keywords else 1 if "lab" in item.keywords else 0
        weight[item.nodeid.split("::")[0]] = max(weight.get(item.nodeid.split("::")[0], 0), rank)
    items.sort(key=lambda item: -weight[item.nodeid.split("::")[0]])  # stable within a file
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root for network namespaces (CI runs as root)")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _private_state_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test gets its own state directory (known_hosts, releases), never the checkout's
    ``.kopnet/state``: a lab device restarted with a new key on a reused address must not meet
    a key pinned by an earlier test."""
    monkeypatch.setenv("KOPNET_STATE", str(tmp_path_factory.mktemp("state")))
