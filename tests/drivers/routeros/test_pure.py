"""Pure parts of the RouterOS driver: candidates, secrets, merge target, users plan, getters,
model matching, and the normaliser's equivalent spellings (no device)."""

from __future__ import annotations

import pytest

from kopnet_iac.drivers.routeros import getters
from kopnet_iac.drivers.routeros.candidate import (
    escape_value,
    fill_secrets,
    merge_target,
    model_matches,
    parse_candidate,
    resolve_secret,
)
from kopnet_iac.drivers.routeros.state import export_roots
from kopnet_iac.drivers.routeros.users import plan_users
from kopnet_iac.errors import PlanError, SecretError
from kopnet_iac.lab.routeros.printing import export_props, format_duration
from kopnet_iac.platforms.routeros import parse_export, parse_script, plan
from kopnet_iac.platforms.routeros.parser import unescape

CANDIDATE = """/ip pool
add name=p ranges=10.0.0.2-10.0.0.9
/radius
add address=10.0.0.1 secret="@@secret:rad@@" service=ppp
/user
set [ find name=admin ] group=full password="@@secret:adm@@"
add name=ops group=read password="@@secret:ops@@"
# ssh-key user=admin ssh-ed25519 AAAAfake noc@kopnet
"""


def test_candidate_splits_users_and_keys() -> None:
    cand = parse_candidate(CANDIDATE)
    assert ("user",) not in cand.config.sections
    assert [(u.name, u.create, u.password) for u in cand.users] == [
        ("admin", False, "@@secret:adm@@"),
        ("ops", True, "@@secret:ops@@"),
    ]
    assert cand.users[0].props == {"group": "full"}
    assert cand.keys == [("admin", "ssh-ed25519 AAAAfake noc@kopnet")]
    assert cand.secret_names() == {"rad", "adm", "ops"}


@pytest.mark.parametrize("value", ['a"b', "c\\d", "$e", 'all "\\$? of them', "tab\there", "ü"])
def test_escaping_round_trips_through_the_parser(value: str) -> None:
    line = f"/radius add secret={escape_value(value)}"
    (command,) = [c for c in parse_script(line) if c.verb]
    assert command.arg("secret") == value
    assert unescape(escape_value(value)[1:-1]) == value


def test_secrets_filled_in_memory_only() -> None:
    cand = parse_candidate(CANDIDATE)
    filled = fill_secrets(cand.config, {"rad": 'x"y$z'}.__getitem__)
    assert filled.sections[("radius",)][0].props["secret"] == 'x"y$z'
    assert cand.config.sections[("radius",)][0].props["secret"] == "@@secret:rad@@"
    with pytest.raises(SecretError, match="'nope'"):
        resolve_secret({}, "nope")
    assert resolve_secret(lambda name: name.upper(), "abc") == "ABC"


def test_merge_target_overlays_named_entries_only() -> None:
    running = parse_export(
        "/ip pool\nadd name=a ranges=1.0.0.1-1.0.0.9\nadd name=b ranges=2.0.0.1-2.0.0.9\n"
        "/system identity\nset name=old\n"
    )
    candidate = parse_export(
        "/ip pool\nadd comment=x name=b ranges=2.0.0.1-2.0.0.9\nadd name=c ranges=3.0.0.1-3.0.0.9\n"
    )
    target = merge_target(running, candidate)
    result = plan(running, target)
    script = result.script()
    assert "remove" not in script  # merge never removes
    assert "/ip pool set [ find where name=b ] comment=x" in script
    assert "/ip pool add name=c" in script and "identity" not in script


def test_model_matching() -> None:
    assert model_matches("RB5009UG+S+IN", "RB5009UG+S+")
    assert model_matches("rb4011igs+", "RB4011iGS+")
    assert not model_matches("RB4011iGS+", "RB5009UG+S+")
    assert not model_matches("RB5009UG+S+IN", "")


def test_users_plan_never_resets_passwords() -> None:
    cand = parse_candidate(CANDIDATE)
    rows = [{"name": "admin", "group": "full", "address": "", "disabled": "false"}]
    secrets = {"@@secret:adm@@": "pw-now", "@@secret:ops@@": "ops-pw"}
    users = plan_users(
        rows,
        [],
        cand.users,
        cand.keys,
        password_of=secrets.__getitem__,
        login_user="admin",
        login_password="pw-now",
    )
    assert users.script == ["/user ssh-keys import public-key-file=kopnet-key-0.pub user=admin"]
    # a new user is created through the API before the apply script runs (never in a file)
    assert users.create == [("/user/add", {"name": "ops", "group": "read", "password": "ops-pw"})]
    assert users.api_after == []
    assert users.revert_last == ["/user remove [ find where name=ops ]"]  # after the restores
    assert all("password" not in line for line in users.revert + users.script)
    assert users.key_files == [("kopnet-key-0.pub", "ssh-ed25519 AAAAfake noc@kopnet\n")]
    with pytest.raises(PlanError, match="password_update"):
        plan_users([], [], [], [], password_of=str, login_user="a", login_password="b",
                   password_update="sometimes")  # fmt: skip


def test_getter_shapes() -> None:
    assert getters.parse_duration("1w2d") == 777600.0
    station = getters.wireless_registrations(
        [{"interface": "wlan1", "signal-strength": "-61dBm@6Mbps", "tx-ccq": "87",
          "tx-rate": "130Mbps-20MHz/2S", "uptime": "1h2m", "mac-address": "aa:bb:cc:dd:ee:ff"}]
    )[0]  # fmt: skip
    assert (station["signal_dbm"], station["tx_ccq"], station["tx_rate_mbps"]) == (-61, 87, 130.0)
    assert station["uptime_s"] == 3720.0 and station["mac_address"] == "AA:BB:CC:DD:EE:FF"
    assert station["rx_ccq"] is None
    jobs = getters.scheduler_jobs([{"name": "j", "interval": "2m", "disabled": "true"}])
    assert jobs["j"]["interval_s"] == 120 and not jobs["j"]["enabled"]


def test_export_roots_cover_sub_menus_once() -> None:
    paths = {("interface", "bridge"), ("interface", "bridge", "port"), ("ip", "address")}
    assert export_roots(paths) == ["/interface bridge", "/ip address"]


EQUIVALENT = [
    ("/ip address add address=10.0.0.1/32 interface=lo", "/ip address add address=10.0.0.1 interface=lo network=10.0.0.1"),
    ("/ip dhcp-server add name=d interface=e lease-time=60m", "/ip dhcp-server add interface=e lease-time=1h name=d"),
    ("/ip dhcp-server add name=d interface=e lease-time=00:10:00", "/ip dhcp-server add interface=e lease-time=10m name=d"),
    ("/interface bridge add admin-mac=4c:5e:0c:a4:f9:29 name=b", "/interface bridge add admin-mac=4C:5E:0C:A4:F9:29 name=b"),
    ("/interface bridge port add bridge=b frame-types=admit-all interface=e pvid=1", "/interface bridge port add bridge=b interface=e"),
    ("/radius add address=1.1.1.1 service=ppp timeout=300ms authentication-port=1812", "/radius add address=1.1.1.1 service=ppp"),
    ("/radius add address=1.1.1.1 service=ppp timeout=0.3s", "/radius add address=1.1.1.1 service=ppp timeout=300ms"),
    ("/queue simple add max-limit=10M/10M name=q target=1.0.0.0/8", "/queue simple add max-limit=10000000/10000000 name=q target=1.0.0.0/8"),
    ("/system logging action add name=n remote=1.1.1.1 remote-port=514 target=remote", "/system logging action add name=n remote=1.1.1.1 target=remote"),
    ("/ip firewall address-list add address=10.1.1.1/32 list=x", "/ip firewall address-list add address=10.1.1.1 list=x"),
    ("/interface pppoe-server server add interface=v max-mru=1480 max-mtu=1480 service-name=s disabled=no", "/interface pppoe-server server add disabled=no interface=v service-name=s"),
]  # fmt: skip


@pytest.mark.parametrize("typed,printed", EQUIVALENT)
def test_equivalent_spellings_plan_nothing(typed: str, printed: str) -> None:
    assert not plan(parse_export(printed + "\n"), parse_export(typed + "\n"))
    assert not plan(parse_export(typed + "\n"), parse_export(printed + "\n"))


def test_different_values_still_differ() -> None:
    a = parse_export("/ip dhcp-server add name=d interface=e lease-time=1h\n")
    b = parse_export("/ip dhcp-server add name=d interface=e lease-time=2h\n")
    assert plan(a, b)
    c = parse_export("/ip address add address=10.0.0.1/31 interface=e\n")
    d = parse_export("/ip address add address=10.0.0.1 interface=e\n")
    assert plan(c, d)


def test_emulator_prints_like_routeros() -> None:
    printed = export_props(
        "ip address", {"interface": "lo", "address": "10.0.0.1/32", "comment": ""}
    )
    assert printed == {"address": "10.0.0.1", "interface": "lo", "network": "10.0.0.1"}
    assert export_props("ip dhcp-server", {"name": "d", "lease-time": "60m"}) == {
        "lease-time": "1h",
        "name": "d",
    }
    assert export_props("interface bridge port", {"frame-types": "admit-all", "bridge": "b"}) == {
        "bridge": "b"
    }
    assert format_duration(90061) == "1d1h1m1s"
