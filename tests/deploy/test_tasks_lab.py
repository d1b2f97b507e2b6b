"""The deploy's Nornir tasks on their own, as a runbook author uses them with ``nr.run()``, and
the recovery of releases left in doubt, against the lab's emulated devices of Sukadana
(RouterOS core and sector, airOS sector) through our drivers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nornir.core import Nornir

from kopnet_iac.deploy import tasks
from kopnet_iac.deploy.expect import village_expectations
from kopnet_iac.deploy.intent import same_configuration, village_intent
from kopnet_iac.deploy.recover import resolve_unfinished
from kopnet_iac.deploy.runner import configure_driver, village_nornir
from kopnet_iac.deploy.verify import Observation, evaluate, load_verify_spec, ping_targets
from kopnet_iac.errors import ApplyError
from kopnet_iac.inventory.loader import Inventory, load_inventory
from kopnet_iac.inventory.secrets import SecretResolver
from kopnet_iac.state import ReleaseStore
from tests.deploy.conftest import DeployLab, start_lab

pytestmark = [pytest.mark.lab]

VILLAGE = "sukadana"
ROUTEROS = "sec-sukadana-1"
AIROS = "sec-sukadana-2"
CORE = "core-sukadana"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, canary_env: None) -> Iterator[DeployLab]:
    running = start_lab(tmp_path_factory.mktemp("tasks"), VILLAGE)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def inv(lab: DeployLab) -> Inventory:
    return load_inventory(lab.inventory)


@pytest.fixture
def nr(lab: DeployLab, inv: Inventory) -> Iterator[Nornir]:
    runner = open_nornir(lab, inv)
    yield runner
    runner.close_connections()


def open_nornir(lab: DeployLab, inv: Inventory) -> Nornir:
    """Nornir over the lab's devices, opened with our drivers and the canary secrets (the lab
    says which login each device takes now: a confirmed airOS config renames the login user)."""
    runner = village_nornir(lab.inventory, VILLAGE, lab_dir=lab.lab_dir)
    intent = village_intent(inv, VILLAGE)
    for hostname in runner.inventory.hosts:
        device = intent.devices[hostname]
        configure_driver(
            runner,
            hostname,
            platform=device.platform,
            model=device.model,
            credentials=device.credentials,
            secrets=SecretResolver(inv),
            village=VILLAGE,
        )
    return runner


def intended(inv: Inventory, hostname: str, rename: str = "") -> str:
    """The rendered config of ``hostname``, its sector SSID suffixed with ``rename``."""
    text = village_intent(inv, VILLAGE).devices[hostname].config
    return text.replace("KopNet-Sukadana-", f"KopNet-Sukadana{rename}-") if rename else text


def one(nr: Nornir, hostname: str, task: Any, **kwargs: Any) -> Any:
    result = nr.filter(name=hostname).run(task=task, on_failed=True, **kwargs)[hostname]
    assert not result.failed, result.exception
    return result[0]


def running(nr: Nornir, hostname: str) -> str:
    return str(one(nr, hostname, tasks.fetch_running).result["running"])


def config_commands(lab: DeployLab, hostname: str) -> int:
    return int(lab.stats()[hostname]["config_commands"])


@pytest.mark.parametrize("hostname", [ROUTEROS, AIROS])
def test_plan_shows_the_diff_and_changes_nothing(
    lab: DeployLab, inv: Inventory, nr: Nornir, hostname: str
) -> None:
    before = running(nr, hostname)
    lab.stats(reset=True)
    result = one(nr, hostname, tasks.plan_config, intended=intended(inv, hostname))
    assert result.result["changed"] and result.result["operations"] > 0
    assert result.diff == result.result["diff"] and result.changed is False
    assert "canary-" not in result.diff  # secrets masked in the plan
    assert config_commands(lab, hostname) == 0
    assert running(nr, hostname) == before


@pytest.mark.parametrize("hostname", [ROUTEROS, AIROS])
def test_apply_armed_then_revert_puts_the_device_back(
    inv: Inventory, nr: Nornir, hostname: str
) -> None:
    before = running(nr, hostname)
    applied = one(
        nr, hostname, tasks.arm_and_apply, intended=intended(inv, hostname), revert_in=300
    )
    assert applied.changed and applied.result["armed"] and applied.result["operations"] > 0
    assert one(nr, hostname, tasks.pending_commit).result["pending"] is True
    reverted = one(nr, hostname, tasks.revert)
    assert reverted.result == {"hostname": hostname, "pending_before": True, "reverted": True}
    assert one(nr, hostname, tasks.pending_commit).result["pending"] is False
    platform = "routeros" if hostname == ROUTEROS else "airos"
    assert same_configuration(platform, before, running(nr, hostname))
    # nothing pending: a second revert leaves the device alone (it would undo the release
    # before), unless forced
    again = one(nr, hostname, tasks.revert)
    assert again.result["reverted"] is False and again.changed is False


def test_a_plan_that_no_longer_matches_the_device_is_refused(inv: Inventory, nr: Nornir) -> None:
    lab_text = intended(inv, ROUTEROS)
    stale = "some other plan that was shown to the operator"
    result = nr.filter(name=ROUTEROS).run(
        task=tasks.arm_and_apply, intended=lab_text, revert_in=300, expected_diff=stale
    )[ROUTEROS]
    assert result.failed
    exc = result[0].exception
    assert isinstance(exc, ApplyError) and exc.step == "apply" and exc.village == VILLAGE
    assert "changed since the plan" in str(exc)
    assert one(nr, ROUTEROS, tasks.pending_commit).result["pending"] is False


@pytest.mark.parametrize("hostname", [ROUTEROS, AIROS])
def test_confirmed_change_converges_is_free_again_and_forced_revert_undoes_it(
    lab: DeployLab, inv: Inventory, nr: Nornir, hostname: str
) -> None:
    before = running(nr, hostname)
    text = intended(inv, hostname)
    one(nr, hostname, tasks.arm_and_apply, intended=text, revert_in=300)
    confirmed = one(nr, hostname, tasks.confirm)
    assert confirmed.result == {"hostname": hostname, "confirmed": True}
    assert one(nr, hostname, tasks.plan_config, intended=text).result["changed"] is False
    lab.stats(reset=True)
    again = one(nr, hostname, tasks.arm_and_apply, intended=text, revert_in=300)
    assert again.changed is False and again.result["operations"] == 0
    assert again.result["armed"] is False
    assert config_commands(lab, hostname) == 0
    assert one(nr, hostname, tasks.confirm).result["confirmed"] is False  # nothing pending
    undone = one(nr, hostname, tasks.revert, force=True)
    assert undone.result["reverted"] is True
    platform = "routeros" if hostname == ROUTEROS else "airos"
    assert same_configuration(platform, before, running(nr, hostname))


def test_collect_observation_feeds_the_role_checks(inv: Inventory, nr: Nornir) -> None:
    text = intended(inv, CORE)
    one(nr, CORE, tasks.arm_and_apply, intended=text, revert_in=300)
    one(nr, CORE, tasks.confirm)
    spec = load_verify_spec()
    expect = village_expectations(inv, VILLAGE)[CORE]
    targets = ping_targets(spec, expect, lab=True)
    obs = one(nr, CORE, tasks.collect_observation, intended=text, ping_targets=targets).result
    assert isinstance(obs, Observation) and obs.reachable and obs.diff == ""
    assert obs.facts["model"] == expect.model
    assert obs.interfaces is not None and "ether1" in obs.interfaces
    assert obs.pppoe_servers is not None and len(obs.pppoe_servers) == 2
    assert obs.hotspot_servers is not None and len(obs.hotspot_servers) == 2
    results = {r.check: r for r in evaluate(spec, expect, obs, lab=True)}
    assert all(r.ok for r in results.values()), results
    assert results["pppoe-server"].detail.startswith("2 PPPoE server(s) enabled")


# --------------------------------------------------------------------------- recovery


def _begin(store: ReleaseStore, inv: Inventory, hosts: list[str]) -> str:
    """A release as a controller leaves it when it dies after applying ``hosts``."""
    rendered = village_intent(inv, VILLAGE).rendered
    changed = {p: t.replace("KopNet-Sukadana-", "KopNet-SukadanaR-") for p, t in rendered.items()}
    rid = store.begin_release(
        VILLAGE,
        "deploy",
        operator="test",
        git_revision=None,
        git_dirty=True,
        rendered=changed,
    )
    for hostname in hosts:
        store.journal(rid, "apply", hostname, {"revert_in": 300})
    return rid


def _resolve(lab: DeployLab, inv: Inventory, store: ReleaseStore) -> Any:
    (resolved,) = resolve_unfinished(inv, store, VILLAGE, lab_dir=lab.lab_dir)
    return resolved


def test_recover_carries_out_an_armed_revert_and_records_reverted(
    lab: DeployLab, inv: Inventory, nr: Nornir, tmp_path: Path
) -> None:
    store = ReleaseStore.open(tmp_path / "state")
    before = {h: running(nr, h) for h in (ROUTEROS, AIROS)}
    rid = _begin(store, inv, [ROUTEROS, AIROS])
    for hostname in (ROUTEROS, AIROS):
        one(nr, hostname, tasks.arm_and_apply, intended=intended(inv, hostname, "R"), revert_in=300)
    nr.close_connections()
    resolved = _resolve(lab, inv, store)
    assert resolved.release == rid and resolved.outcome == "reverted"
    assert {d.hostname: (d.state, d.action) for d in resolved.devices} == {
        ROUTEROS: ("old", "reverted now"),
        AIROS: ("old", "reverted now"),
    }
    assert same_configuration("routeros", before[ROUTEROS], running(nr, ROUTEROS))
    assert same_configuration("airos", before[AIROS], running(nr, AIROS))
    release = store.get_release(rid)
    assert release.outcome == "reverted" and not store.unfinished(VILLAGE)
    assert [j["step"] for j in release.journal][-1] == "finish"


def test_recover_finds_a_release_confirmed_before_the_controller_died(
    lab: DeployLab, inv: Inventory, nr: Nornir, tmp_path: Path
) -> None:
    store = ReleaseStore.open(tmp_path / "state")
    rid = _begin(store, inv, [AIROS])
    one(nr, AIROS, tasks.arm_and_apply, intended=intended(inv, AIROS, "R"), revert_in=300)
    store.journal(rid, "confirm", AIROS)
    one(nr, AIROS, tasks.confirm)
    nr.close_connections()
    resolved = _resolve(lab, inv, store)
    assert resolved.outcome == "confirmed"
    assert [(d.state, d.pending, d.action) for d in resolved.devices] == [("new", False, "none")]
    after = open_nornir(lab, inv)
    one(after, AIROS, tasks.revert, force=True)  # back for the next test
    after.close_connections()


def test_recover_reports_a_split_village_and_changes_nothing(
    lab: DeployLab, inv: Inventory, nr: Nornir, tmp_path: Path
) -> None:
    store = ReleaseStore.open(tmp_path / "state")
    _begin(store, inv, [ROUTEROS, AIROS])
    one(nr, ROUTEROS, tasks.arm_and_apply, intended=intended(inv, ROUTEROS, "R"), revert_in=300)
    one(nr, ROUTEROS, tasks.confirm)  # confirmed; the airOS radio was never changed
    nr.close_connections()
    lab.stats(reset=True)
    resolved = _resolve(lab, inv, store)
    assert resolved.outcome == "failed" and "split" in resolved.error
    assert {d.hostname: d.state for d in resolved.devices} == {ROUTEROS: "new", AIROS: "old"}
    assert config_commands(lab, ROUTEROS) == config_commands(lab, AIROS) == 0
    after = open_nornir(lab, inv)
    one(after, ROUTEROS, tasks.revert, force=True)
    after.close_connections()


def test_recover_of_a_release_that_never_changed_anything(
    lab: DeployLab, inv: Inventory, tmp_path: Path
) -> None:
    store = ReleaseStore.open(tmp_path / "state")
    rid = _begin(store, inv, [])
    resolved = _resolve(lab, inv, store)
    assert resolved.outcome == "failed" and "before any change" in resolved.error
    assert store.get_release(rid).outcome == "failed"


def test_a_deploy_first_resolves_a_release_left_in_doubt(
    lab: DeployLab, inv: Inventory, nr: Nornir, tmp_path: Path
) -> None:
    from kopnet_iac.deploy.transaction import DeployOptions, deploy_village

    state = tmp_path / "state"
    store = ReleaseStore.open(state)
    rid = _begin(store, inv, [AIROS])
    one(nr, AIROS, tasks.arm_and_apply, intended=intended(inv, AIROS, "R"), revert_in=300)
    nr.close_connections()
    options = DeployOptions(
        village=VILLAGE,
        inventory_dir=lab.inventory,
        lab_dir=lab.lab_dir,
        state_dir=state,
        only=(AIROS,),
        dry_run=True,
    )
    planned = deploy_village(options)  # a dry run changes nothing: the release stays in doubt
    assert planned.recovered == [
        {"release": rid, "outcome": "in-doubt", "error": "not resolved in a dry run"}
    ]
    assert [r.id for r in store.unfinished(VILLAGE)] == [rid]
    options.dry_run = False
    report = deploy_village(options)
    (recovered,) = report.recovered
    assert recovered["release"] == rid and recovered["outcome"] == "reverted"
    assert recovered["devices"][0]["action"] == "reverted now"
    assert report.outcome == "confirmed" and report.release != rid
    assert store.get_release(rid).outcome == "reverted" and not store.unfinished(VILLAGE)
