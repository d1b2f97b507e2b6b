"""Which release a rollback deploys: pure selection over recorded releases."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kopnet_iac.deploy.transaction import rollback_target
from kopnet_iac.errors import KopnetError


def release(rid: str, outcome: str, text: str | None) -> SimpleNamespace:
    return SimpleNamespace(id=rid, outcome=outcome, rendered={"v/h.rsc": text} if text else {})


NEWEST_FIRST = [
    release("r6", "reverted", "D"),
    release("r5", "no-change", "C"),
    release("r4", "confirmed", "C"),
    release("r3", "failed", "B2"),
    release("r2", "confirmed", "B"),
    release("r1", "confirmed", "A"),
]


def test_default_is_the_newest_good_release_with_another_intent() -> None:
    assert rollback_target(NEWEST_FIRST, "v", None).id == "r2"


def test_an_explicit_release_two_versions_back() -> None:
    assert rollback_target(NEWEST_FIRST, "v", "r1").id == "r1"


@pytest.mark.parametrize(
    ("releases", "to", "message"),
    [
        (NEWEST_FIRST, "r9", "no release 'r9'"),
        ([release("r1", "failed", None)], "r1", "no rendered configs"),
        ([], None, "no successful release"),
        (
            [release("r2", "no-change", "A"), release("r1", "confirmed", "A")],
            None,
            "another intent",
        ),
    ],
)
def test_refusals_name_the_reason(
    releases: list[SimpleNamespace], to: str | None, message: str
) -> None:
    with pytest.raises(KopnetError, match=message) as info:
        rollback_target(releases, "v", to)
    assert info.value.step == "select"  # the CLI turns these into usage errors
