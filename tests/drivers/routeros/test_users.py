"""Users and SSH keys: read and written through the API, never planned from an export diff;
passwords only ever set from the secret, never cleared or reset by a plan or a revert."""

from __future__ import annotations

import librouteros
import pytest
from librouteros.exceptions import TrapError

from kopnet_iac.lab.routeros.device import RouterOSDevice

from .conftest import TEST_PASSWORD, config_commands, make_driver

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTestsOnlyNotARealKey000000000 noc@kopnet"
USERS = (
    "/user\n"
    'set [ find name=admin ] address=10.255.0.0/24,10.90.0.128/26 group=full password="@@secret:core-admin@@"\n'
    'add name=ops group=read password="@@secret:ops-pw@@"\n'
    f"# ssh-key user=admin {KEY}\n"
)
SECRETS = {"core-admin": TEST_PASSWORD, "ops-pw": "fake-ops-canary-pw"}


def can_login(device: RouterOSDevice, user: str, password: str) -> bool:
    try:
        api = librouteros.connect(device.spec.host, user, password, port=8728, timeout=5)
    except TrapError:
        return False
    api.close()
    return True


def test_users_keys_and_passwords(router: RouterOSDevice, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    drv = make_driver(router, secrets=SECRETS)
    drv.open()
    drv.load_merge_candidate(config=USERS)
    diff = drv.compare_config()
    assert "/user" in diff and "ops" in diff and "key-owner=noc@kopnet" in diff
    assert "fake-ops-canary-pw" not in diff
    drv.commit_config(revert_in=60)
    drv.confirm_commit()
    # nothing the driver did logged the password (librouteros logs every word at DEBUG)
    assert "fake-ops-canary-pw" not in caplog.text
    admin = next(e for e in router.router.store.entries("user") if e.get("name") == "admin")
    assert admin.get("address") == "10.255.0.0/24,10.90.0.128/26"
    keys = router.router.store.entries("user ssh-keys")
    assert [(k.get("user"), k.get("key-owner")) for k in keys] == [("admin", "noc@kopnet")]
    assert can_login(router, "ops", "fake-ops-canary-pw")
    assert can_login(router, "admin", TEST_PASSWORD)
    # the password went over the API only: never in an uploaded script
    uploads = [line for line in router.commands_log if line.startswith("/file/add")]
    assert uploads and not any("fake-ops-canary-pw" in line for line in uploads)
    assert not any("password" in line.split("=contents=", 1)[-1] for line in uploads)
    # converged: users are compared through the API, nothing is sent again
    router.commands_log.clear()
    drv.load_merge_candidate(config=USERS)
    assert drv.compare_config() == ""
    assert config_commands(router) == []
    # rollback: the new user and key go, the address comes back, the password is untouched
    drv.rollback()
    admin = next(e for e in router.router.store.entries("user") if e.get("name") == "admin")
    assert admin.get("address", "") == ""
    assert router.router.store.entries("user ssh-keys") == []
    assert not any(e.get("name") == "ops" for e in router.router.store.entries("user"))
    assert can_login(router, "admin", TEST_PASSWORD)
    drv.close()


def test_login_password_rotation_is_never_undone(router: RouterOSDevice) -> None:
    rotated = {"core-admin": "fake-rotated-pw"}
    text = '/user\nset [ find name=admin ] password="@@secret:core-admin@@"\n'
    drv = make_driver(router, secrets=rotated)
    drv.open()
    drv.load_merge_candidate(config=text)
    assert "password" in drv.compare_config()
    drv.commit_config(revert_in=60)
    assert can_login(router, "admin", "fake-rotated-pw")
    drv.rollback()  # reverts the commit: never the password
    assert can_login(router, "admin", "fake-rotated-pw")
    assert not can_login(router, "admin", TEST_PASSWORD)
    drv.close()
    # the next session logs in with the new password: nothing to do
    again = make_driver(router, secrets=rotated)
    again.password = "fake-rotated-pw"
    again.flow.login_password = "fake-rotated-pw"
    again.open()
    again.load_merge_candidate(config=text)
    assert again.compare_config() == ""
    again.close()


def test_set_on_a_missing_user_is_refused(driver: object) -> None:
    from kopnet_iac.drivers.routeros.errors import CandidateError

    driver.load_merge_candidate(config="/user\nset [ find name=ghost ] group=read\n")  # type: ignore[attr-defined]
    with pytest.raises(CandidateError, match="ghost: no such user"):
        driver.compare_config()  # type: ignore[attr-defined]


NOC = (
    "/user\n"
    'add address=10.255.0.0/24 comment="NOC account" group=full name=noc password="@@secret:core-admin@@"\n'
    "set [ find name=admin ] disabled=yes\n"
)


def admin_disabled(router: RouterOSDevice) -> bool:
    admin = next(e for e in router.router.store.entries("user") if e.get("name") == "admin")
    return admin.get("disabled") in ("yes", "true")


def test_named_account_replaces_admin_without_lockout(router: RouterOSDevice) -> None:
    drv = make_driver(router, secrets={"core-admin": TEST_PASSWORD})
    drv.open()
    drv.load_merge_candidate(config=NOC)
    assert "noc" in drv.compare_config()
    drv.commit_config(revert_in=60)
    assert drv.username == "noc"  # continued as the new account before admin was disabled
    assert admin_disabled(router) and can_login(router, "noc", TEST_PASSWORD)
    assert drv.has_pending_commit()
    drv.confirm_commit()
    drv.close()
    # later sessions: admin is refused, the fallback account logs in, nothing to do
    again = make_driver(router, secrets={"core-admin": TEST_PASSWORD}, fallback_usernames=["noc"])
    again.open()
    assert again.username == "noc"
    again.load_merge_candidate(config=NOC)
    assert again.compare_config() == ""
    again.rollback()  # admin back, noc gone; no password touched
    again.close()
    assert not admin_disabled(router) and can_login(router, "admin", TEST_PASSWORD)
    assert not any(e.get("name") == "noc" for e in router.router.store.entries("user"))


def test_replacement_login_refused_changes_nothing(router: RouterOSDevice) -> None:
    from kopnet_iac.drivers.routeros.errors import DeviceCommitError

    drv = make_driver(router, secrets={"core-admin": TEST_PASSWORD})
    drv.open()
    drv.load_merge_candidate(config=NOC)
    drv.compare_config()
    router.faults.refuse_login = True
    with pytest.raises(DeviceCommitError, match=r"cannot log in as 'noc'.*nothing was changed"):
        drv.commit_config(revert_in=60)
    router.faults.refuse_login = False
    assert not admin_disabled(router)
    assert not any(e.get("name") == "noc" for e in router.router.store.entries("user"))
    assert router.router.store.entries("system scheduler") == []
    drv.close()


def test_disabling_the_login_user_needs_a_replacement(driver: object) -> None:
    from kopnet_iac.drivers.routeros.errors import CandidateError

    driver.load_merge_candidate(config="/user\nset [ find name=admin ] disabled=yes\n")  # type: ignore[attr-defined]
    with pytest.raises(CandidateError, match="names no other full user"):
        driver.compare_config()  # type: ignore[attr-defined]
