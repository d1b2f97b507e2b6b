"""A rollback whose session drops before the revert script ran must leave the device-side
revert armed: the job then takes the device back by itself."""

from __future__ import annotations

import pytest

from kopnet_iac.drivers.routeros.errors import DeviceConnectError
from kopnet_iac.lab.routeros.device import RouterOSDevice

from .conftest import export_body, make_driver, wait_for

ONE_LINE = "/system identity\nset name=core-renamed\n"


def test_a_rollback_cut_before_the_import_leaves_the_job_to_revert(
    router: RouterOSDevice,
) -> None:
    before = export_body(router)
    drv = make_driver(router)
    drv.open()
    drv.load_merge_candidate(config=ONE_LINE)
    assert drv.compare_config()
    drv.commit_config(revert_in=4)
    assert router.router.identity() == "core-renamed"
    router.faults.drop_after_commands = 1  # the rollback's first sentence runs, then the cut
    with pytest.raises(DeviceConnectError):
        drv.rollback()
    assert router.router.identity() == "core-renamed"  # the revert script never ran
    # the job is still armed: the device goes back by itself, exactly
    assert wait_for(lambda: export_body(router) == before, 4 + 20)
    assert router.router.store.entries("system scheduler") == []
    drv.close()


def test_a_rollback_after_the_import_leaves_nothing_armed(router: RouterOSDevice) -> None:
    before = export_body(router)
    drv = make_driver(router)
    drv.open()
    drv.load_merge_candidate(config=ONE_LINE)
    drv.compare_config()
    drv.commit_config(revert_in=60)
    drv.rollback()
    assert export_body(router) == before
    assert router.router.store.entries("system scheduler") == []
    assert not drv.has_pending_commit()
    drv.close()
