"""Round trips counted on the wire (a counting proxy between driver and emulator)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kopnet_iac.lab.routeros.device import RouterOSDevice

from .conftest import SUBNET, Lab, config_commands, make_driver
from .proxy import CountingProxy

ONE_LINE = "/system identity\nset name=core-renamed\n"
PROXY_HOST = f"{SUBNET}.250"


@pytest.fixture
def proxy(lab: Lab, router: RouterOSDevice) -> Iterator[CountingProxy]:
    instance = CountingProxy(router.spec.host, 8728)
    lab.loop.run(instance.start(PROXY_HOST, 8728))
    yield instance
    lab.loop.run(instance.stop())


def via_proxy(router: RouterOSDevice, **optional: object) -> object:
    drv = make_driver(router, **optional)
    drv.hostname = PROXY_HOST
    drv.session.host = PROXY_HOST
    return drv


def test_change_noop_rollback_round_trips(router: RouterOSDevice, proxy: CountingProxy) -> None:
    drv = via_proxy(router)
    drv.open()  # type: ignore[attr-defined]
    drv.load_merge_candidate(config=ONE_LINE)  # type: ignore[attr-defined]
    assert drv.compare_config()  # type: ignore[attr-defined]
    drv.commit_config(revert_in=60)  # type: ignore[attr-defined]
    assert drv.has_pending_commit()  # type: ignore[attr-defined]
    drv.confirm_commit()  # type: ignore[attr-defined]
    drv.close()  # type: ignore[attr-defined]
    change = proxy.count
    assert change.connections == 1
    assert change.round_trips <= 8  # target: a third of napalm-ros' 24
    assert change.round_trips == drv.round_trips  # type: ignore[attr-defined]
    proxy.count = type(change)()
    router.commands_log.clear()
    noop = via_proxy(router)
    noop.open()  # type: ignore[attr-defined]
    noop.load_merge_candidate(config=ONE_LINE)  # type: ignore[attr-defined]
    assert noop.compare_config() == ""  # type: ignore[attr-defined]
    noop.close()  # type: ignore[attr-defined]
    assert (proxy.count.connections, proxy.count.round_trips) == (1, 2)
    assert config_commands(router) == []
    proxy.count = type(change)()
    back = via_proxy(router)
    back.open()  # type: ignore[attr-defined]
    back.rollback()  # type: ignore[attr-defined]
    back.close()  # type: ignore[attr-defined]
    assert proxy.count.round_trips == 2
    assert router.router.identity() == "MikroTik"


def test_read_covers_only_managed_menus(router: RouterOSDevice, proxy: CountingProxy) -> None:
    drv = via_proxy(router, backup=False, verify_after_commit=False)
    drv.open()  # type: ignore[attr-defined]
    drv.load_merge_candidate(config=ONE_LINE)  # type: ignore[attr-defined]
    drv.compare_config()  # type: ignore[attr-defined]
    exports = [line for line in router.commands_log if line.startswith("/execute")]
    assert exports and "/system identity export" in exports[-1]
    assert "/ip" not in exports[-1] and "/interface" not in exports[-1]
    drv.commit_config(revert_in=60)  # type: ignore[attr-defined]
    drv.confirm_commit()  # type: ignore[attr-defined]
    drv.close()  # type: ignore[attr-defined]
    assert proxy.count.round_trips == 5  # without the read-back
    assert not any(line.startswith("/system/backup") for line in router.commands_log)


def test_loss_bursts_on_a_slow_link_do_not_break_a_commit(
    router: RouterOSDevice, proxy: CountingProxy
) -> None:
    """Seconds-long stalls (retransmissions after a burst of loss) at every step of the
    commit: the timeouts are sized for them, the commit completes, nothing is left behind."""
    router.faults.latency_ms = 300  # a slow device on top
    drv = via_proxy(router)
    drv.open()  # type: ignore[attr-defined]
    drv.load_merge_candidate(config=ONE_LINE)  # type: ignore[attr-defined]
    proxy.hold_up.extend([1.5, 0.0, 1.5, 1.5])  # read, arm, import, verify
    assert drv.compare_config()  # type: ignore[attr-defined]
    drv.commit_config(revert_in=60)  # type: ignore[attr-defined]
    drv.confirm_commit()  # type: ignore[attr-defined]
    drv.close()  # type: ignore[attr-defined]
    assert router.router.identity() == "core-renamed"
    assert router.router.store.entries("system scheduler") == []
