"""The radio's earlier user is replaced by the NOC account without locking the controller out:
the driver logs in as the NOC account and falls back to the earlier user (same password) on a
radio that does not have it yet; after a commit that renames the user the same session (SSH
and web API) carries on as the new one; after a rollback the fallback works again."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kopnet_iac.drivers.airos.errors import AirOSAuthError
from tests.drivers.airos.conftest import PASSWORD, USER, driver_for
from tests.lab.airos.conftest import RadioHarness

NOC = "noc"


def test_noc_account_first_then_the_earlier_user(
    make_radio: Callable[..., RadioHarness],
) -> None:
    radio = make_radio()
    driver = driver_for(radio, username=NOC, fallback_usernames=[USER])
    driver.open()  # the radio has no NOC account yet: the earlier user logs in
    try:
        assert driver.username == USER
        driver.load_merge_candidate(config=f"users.1.name={NOC}\n")
        assert f"+users.1.name={NOC}" in driver.compare_config()
        driver.commit_config(revert_in=60)
        assert driver.get_facts()["hostname"]  # the web API logs in as the new name
        driver.confirm_commit()
    finally:
        driver.close()
    assert radio.device.active.get("users.1.name") == NOC
    again = driver_for(radio, username=NOC, fallback_usernames=[USER])
    again.open()  # straight in as the NOC account
    try:
        assert again.username == NOC
        again.rollback()  # back to the earlier user
    finally:
        again.close()
    later = driver_for(radio, username=NOC, fallback_usernames=[USER])
    later.open()
    try:
        assert later.username == USER
    finally:
        later.close()


def test_no_fallback_left_is_the_refusal(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    driver = driver_for(radio, username=NOC, password=PASSWORD, fallback_usernames=[NOC])
    with pytest.raises(AirOSAuthError, match=f"login as '{NOC}' refused"):
        driver.open()
    wrong = driver_for(radio, username=NOC, password="wrong-fake", fallback_usernames=[USER])
    with pytest.raises(AirOSAuthError, match=f"login as '{USER}' refused"):
        wrong.open()
