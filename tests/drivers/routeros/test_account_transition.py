"""The NOC account replaces ``admin`` without ever locking the controller out.

The rendered configs create a named NOC account and disable ``admin``. The driver creates the
account (password through the API) before the apply script imports its SSH keys and disables
``admin``; its revert enables ``admin`` again before it removes the account; a session whose
login is refused tries ``fallback_usernames``; a candidate that would leave no account to log in
with is refused before anything is sent.
"""

from __future__ import annotations

import librouteros
import pytest
from librouteros.exceptions import TrapError

from kopnet_iac.drivers.routeros import transaction as tx
from kopnet_iac.drivers.routeros.errors import CandidateError, DeviceConnectError
from kopnet_iac.lab.routeros.device import RouterOSDevice

from .conftest import TEST_PASSWORD, config_commands, make_driver, wait_for

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnlyNotARealKey000000000 noc@kopnet"
NOC_PASSWORD = TEST_PASSWORD  # the device's credentials secret: admin's before, noc's now
TRANSITION = (
    "/system identity\nset name=core-noc\n"
    "/user\n"
    'add address=10.255.0.0/24 comment="NOC account" group=full name=noc '
    'password="@@secret:core-admin@@"\n'
    "set [ find name=admin ] disabled=yes\n"
    f"# ssh-key user=noc {KEY}\n"
)
SECRETS = {"core-admin": NOC_PASSWORD}


def can_login(device: RouterOSDevice, user: str, password: str) -> bool:
    try:
        api = librouteros.connect(device.spec.host, user, password, port=8728, timeout=5)
    except TrapError:
        return False
    api.close()
    return True


def noc_driver(device: RouterOSDevice, **optional: object) -> object:
    """A driver configured as the deploy configures it: the NOC account first, the device's
    earlier (here: lab) account as the fallback."""
    drv = make_driver(device, secrets=SECRETS, **optional)
    drv.username = drv.flow.login_user = "noc"  # admin (the configured name) is the fallback
    return drv


def users(device: RouterOSDevice) -> dict[str, dict[str, str]]:
    return {e.get("name"): dict(e.props) for e in device.router.store.entries("user")}


def test_first_deploy_creates_the_account_then_disables_admin(router: RouterOSDevice) -> None:
    drv = noc_driver(router)
    drv.open()  # type: ignore[attr-defined]
    assert drv.username == "admin"  # type: ignore[attr-defined]  # no noc yet: the fallback
    drv.load_replace_candidate(config=TRANSITION)  # type: ignore[attr-defined]
    diff = drv.compare_config()  # type: ignore[attr-defined]
    assert "+ noc" in diff and "disabled: false -> yes" in diff and NOC_PASSWORD not in diff
    apply = tx.apply_script(drv._prepared.plan, drv._prepared.users)  # type: ignore[attr-defined]
    body = [line for line in apply.splitlines() if line.startswith("/user")]
    assert body[0].startswith("/user ssh-keys import") and "user=noc" in body[0]
    assert body[-1] == "/user set [ find where name=admin ] disabled=yes"  # last
    drv.commit_config(revert_in=60)  # type: ignore[attr-defined]
    # the account existed before the script imported its key and disabled admin
    assert [
        (k.get("user"), k.get("key-owner")) for k in router.router.store.entries("user ssh-keys")
    ] == [("noc", "noc@kopnet")]
    assert users(router)["admin"]["disabled"] == "yes"
    assert can_login(router, "noc", NOC_PASSWORD) and not can_login(router, "admin", TEST_PASSWORD)
    # the commit continued as noc (a new session proved it works) before admin was disabled
    assert drv.username == "noc"  # type: ignore[attr-defined]
    drv.confirm_commit()  # type: ignore[attr-defined]
    assert not drv.has_pending_commit()  # type: ignore[attr-defined]
    drv.close()  # type: ignore[attr-defined]
    # the password went through the API only, never into an uploaded file
    uploads = [line for line in router.commands_log if line.startswith("/file/add")]
    assert uploads and not any("password" in line.split("=contents=", 1)[-1] for line in uploads)
    # the next run logs in as noc, and the redeploy sends nothing
    again = noc_driver(router)
    again.open()  # type: ignore[attr-defined]
    assert again.username == "noc"  # type: ignore[attr-defined]
    router.commands_log.clear()
    again.load_replace_candidate(config=TRANSITION)  # type: ignore[attr-defined]
    assert again.compare_config() == ""  # type: ignore[attr-defined]
    assert config_commands(router) == []
    again.close()  # type: ignore[attr-defined]


def test_revert_enables_admin_before_it_removes_the_account(router: RouterOSDevice) -> None:
    drv = noc_driver(router)
    drv.open()  # type: ignore[attr-defined]
    drv.load_replace_candidate(config=TRANSITION)  # type: ignore[attr-defined]
    drv.compare_config()  # type: ignore[attr-defined]
    prepared = drv._prepared  # type: ignore[attr-defined]
    revert = tx.revert_script(prepared.plan, prepared.users).splitlines()
    enable = next(
        i
        for i, line in enumerate(revert)
        if line in ("/user set [ find where name=admin ] disabled=" + v for v in ("no", "false"))
    )
    remove = revert.index("/user remove [ find where name=noc ]")
    assert enable < remove
    drv.commit_config(revert_in=60)  # type: ignore[attr-defined]
    drv.rollback()  # type: ignore[attr-defined]
    assert "noc" not in users(router) and users(router)["admin"]["disabled"] in ("no", "false")
    assert router.router.identity() != "core-noc"
    drv.close()  # type: ignore[attr-defined]
    # after the revert the next run finds admin again (noc refused, the fallback works)
    later = noc_driver(router)
    later.open()  # type: ignore[attr-defined]
    assert later.username == "admin"  # type: ignore[attr-defined]
    later.close()  # type: ignore[attr-defined]


def test_the_armed_job_restores_admin_when_the_controller_goes_away(
    router: RouterOSDevice,
) -> None:
    drv = noc_driver(router)
    drv.open()  # type: ignore[attr-defined]
    drv.load_replace_candidate(config=TRANSITION)  # type: ignore[attr-defined]
    drv.commit_config(revert_in=2)  # type: ignore[attr-defined]
    drv.close()  # type: ignore[attr-defined]  # never confirmed
    assert wait_for(lambda: can_login(router, "admin", TEST_PASSWORD), timeout=20)
    assert wait_for(lambda: "noc" not in users(router), timeout=10)
    assert router.router.store.entries("user ssh-keys") == []


def test_a_session_reopened_mid_deploy_finds_the_new_account(router: RouterOSDevice) -> None:
    drv = noc_driver(router)
    drv.open()  # type: ignore[attr-defined]
    drv.load_replace_candidate(config=TRANSITION)  # type: ignore[attr-defined]
    drv.commit_config(revert_in=60)  # type: ignore[attr-defined]
    drv.close()  # type: ignore[attr-defined]  # e.g. the link dropped before the confirm
    drv.open()  # type: ignore[attr-defined]  # admin is disabled now: noc (refused before) works
    assert drv.username == "noc"  # type: ignore[attr-defined]
    drv.confirm_commit()  # type: ignore[attr-defined]
    drv.close()  # type: ignore[attr-defined]
    assert users(router)["admin"]["disabled"] == "yes"


def test_disabling_the_only_login_is_refused(router: RouterOSDevice) -> None:
    drv = make_driver(router, secrets=SECRETS)
    drv.open()
    drv.load_merge_candidate(config="/user\nset [ find name=admin ] disabled=yes\n")
    with pytest.raises(CandidateError, match="no other full user with a password"):
        drv.compare_config()
    assert config_commands(router) == []
    # a disabled account the candidate does not enable is no way in either
    text = (
        "/user\nset [ find name=admin ] disabled=yes\n"
        'set [ find name=ops ] password="@@secret:core-admin@@"\n'
    )
    drv.load_merge_candidate(config=text)
    with pytest.raises(CandidateError):
        drv.compare_config()
    drv.close()


def test_disabling_a_user_the_device_does_not_have_plans_nothing(
    router: RouterOSDevice,
) -> None:
    drv = make_driver(router, secrets=SECRETS)
    drv.open()
    drv.load_merge_candidate(config="/user\nset [ find name=ubnt ] disabled=yes\n")
    assert drv.compare_config() == ""
    drv.close()


def test_refused_logins_without_a_working_fallback(router: RouterOSDevice) -> None:
    drv = make_driver(router, fallback_usernames=["admin"])
    drv.username, drv.password = "noc", "wrong-fake-pw"
    with pytest.raises(DeviceConnectError, match="login refused as 'noc' and as 'admin'"):
        drv.open()


def test_disabling_the_api_this_driver_talks_over_is_refused(router: RouterOSDevice) -> None:
    """A config for api-ssl (a certificate in fleet.yaml) disables the plaintext API: applied
    over that API it would cut the session, so it is refused before anything is sent."""
    drv = make_driver(router, secrets=SECRETS)
    drv.open()
    for text in (
        "/ip service\nset api disabled=yes\nset api-ssl certificate=noc disabled=no\n",
        "/ip service\nset [ find name=api ] disabled=yes\n",
    ):
        drv.load_merge_candidate(config=text)
        with pytest.raises(CandidateError, match="cut its own session"):
            drv.compare_config()
    drv.load_merge_candidate(config="/ip service\nset api address=10.255.0.0/24 disabled=no\n")
    assert "api" in drv.compare_config()  # limiting it by address is fine
    assert config_commands(router) == []
    drv.close()
