"""The deploy fault campaign (``benchmarks/faults.py``) on the lab: a fault injected into a real
deploy, then every device must run exactly its old or its new configuration and the release
store must agree with the devices.

By default a bounded sample: one case of each kind of fault on Lebung Itam (RouterOS and airOS
devices), chosen to hit the steps that matter (a session lost during ``/import``, a failing
confirm, a reboot in the middle of the apply, a full disk, a link down failing verification,
the controller killed after applying, a session lost during the revert that follows a failed
verification). ``KOPNET_FULL=1`` runs the random campaign of
``KOPNET_FAULT_CASES`` cases (default 200) over the three example villages.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.faults import AIROS_STEPS, ROUTEROS_STEPS, Case, Lab, run_campaign, run_case
from benchmarks.faults import running_lab as campaign_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

FULL = os.environ.get("KOPNET_FULL") == "1"
VILLAGE = "lebung-itam"


def case(index: int, fault: str, step: str, host: str, **extra: object) -> Case:
    """A case from the catalogue of the campaign, in the order the sample runs them."""
    trigger, pattern = "before", ""
    if fault in ("drop", "trap"):
        steps = ROUTEROS_STEPS if host.startswith(("core", "sec-lebung-itam-1")) else AIROS_STEPS
        trigger, pattern = steps[step]
    fields: dict[str, object] = {"trigger": trigger, "pattern": pattern, **extra}
    source, target = ("A", "B") if index % 2 == 0 else ("B", "A")
    return Case(index, VILLAGE, source, target, fault, step, host, **fields)  # type: ignore[arg-type]


SAMPLE = [
    case(0, "drop", "apply", "core-lebung-itam"),
    case(1, "trap", "confirm", "bh-lebung-itam-a"),
    case(2, "reboot", "apply", "sec-lebung-itam-1", trigger="apply", value=0.2),
    case(3, "disk-full", "before", "core-lebung-itam"),
    case(4, "verify-fail", "apply", "bh-lebung-itam-b", trigger="apply", pattern="ath0"),
    case(5, "drop", "arm-timer", "sec-lebung-itam-1"),
    case(6, "sigkill", "apply-ok", "controller", trigger="apply", pattern="ok", occurrence=2),
    case(7, "stall", "confirm", "sec-lebung-itam-2", trigger="confirm", value=2.0),
    case(
        8,
        "revert-drop",
        "revert",
        "sec-lebung-itam-2",
        trigger="revert",
        pattern="core-lebung-itam",
        value=0,
    ),
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    villages = ("lebung-itam", "pematang-panggang", "sukadana") if FULL else (VILLAGE,)
    root: Path = tmp_path_factory.mktemp("faults")
    with campaign_lab(villages, revert_in=30, settle=6.0, keep=root) as running:
        yield running


@pytest.mark.skipif(FULL, reason="the full campaign runs instead")
@pytest.mark.parametrize("sample", SAMPLE, ids=lambda c: f"{c.fault}-{c.step}-{c.host}")
def test_every_device_ends_old_or_new_and_the_store_agrees(lab: Lab, sample: Case) -> None:
    verdict = run_case(lab, sample)
    assert verdict.ok, f"{sample.describe()}: {verdict.problems} ({verdict.note})"
    states = set(verdict.devices.values())
    assert states <= {"old", "new", "both"}
    if verdict.outcome == "confirmed":
        assert "old" not in states
    elif verdict.outcome in ("reverted", "none"):
        assert "new" not in states


@pytest.mark.skipif(not FULL, reason="the full campaign runs with KOPNET_FULL=1")
def test_the_full_random_campaign_passes(lab: Lab) -> None:
    count = int(os.environ.get("KOPNET_FAULT_CASES", "200"))
    seed = int(os.environ.get("KOPNET_FAULT_SEED", "1"))
    verdicts = run_campaign(lab, seed, list(range(count)))
    failing = [f"{v.case.describe()}: {v.problems}" for v in verdicts if not v.ok]
    assert not failing, f"seed {seed}: " + "\n".join(failing)
