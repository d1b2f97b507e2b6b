"""Lab topology rules: link state from both ends and faults; ping over up links."""

from __future__ import annotations

from dataclasses import dataclass, field

from kopnet_iac.lab.faults import Faults
from kopnet_iac.lab.network import LabTopology
from kopnet_iac.lab.spec import DeviceSpec, LinkSpec


@dataclass
class StandIn:
    """A device as the topology sees it: a state and its addresses."""

    state: str = "running"
    addresses: list[str] = field(default_factory=list)

    def configured_addresses(self) -> list[str]:
        return self.addresses


def spec(hostname: str, *links: LinkSpec) -> DeviceSpec:
    return DeviceSpec(
        village="v",
        hostname=hostname,
        platform="routeros",
        model="m",
        host="127.0.0.1",
        links=links,
    )


def chain() -> tuple[LabTopology, dict[str, StandIn], dict[str, Faults]]:
    """core:ether2 -- bh-a:ether1, bh-a:wlan1 ~~ bh-b:wlan1 (radio), core:ether1 -- gw (not emulated)."""
    topology = LabTopology()
    devices = {
        "core": StandIn(addresses=["10.0.0.1/24"]),
        "bh-a": StandIn(addresses=["10.0.0.2/24"]),
        "bh-b": StandIn(addresses=["10.0.0.3/24"]),
    }
    faults = {name: Faults() for name in devices}
    specs = [
        spec(
            "core",
            LinkSpec("ether2", "bh-a", "ether1"),
            LinkSpec("ether1", "gw", "enp2s0"),
        ),
        spec(
            "bh-a",
            LinkSpec("ether1", "core", "ether2"),
            LinkSpec("wlan1", "bh-b", "wlan1", kind="wireless", signal_dbm=-61),
        ),
        spec("bh-b", LinkSpec("wlan1", "bh-a", "wlan1", kind="wireless", signal_dbm=-61)),
    ]
    for item in specs:
        topology.add(item, faults[item.hostname], devices[item.hostname])
    return topology, devices, faults


def test_link_state_follows_faults_and_peer_state() -> None:
    topology, devices, faults = chain()
    state = topology.link_state("bh-b", "wlan1")
    assert state is not None and state.running and state.signal_dbm == -61
    assert state.peer_hostname == "bh-a" and state.peer_port == "wlan1"
    assert topology.link_state("bh-b", "ether9") is None
    assert topology.link_state("unknown", "ether1") is None
    # external peer (gateway namespace) counts as up
    gw_link = topology.link_state("core", "ether1")
    assert gw_link is not None and gw_link.running
    faults["bh-a"].links_down.add("wlan1")
    for host in ("bh-a", "bh-b"):  # a link is down from both ends
        down = topology.link_state(host, "wlan1")
        assert down is not None and not down.running and down.signal_dbm is None
    faults["bh-a"].links_down.clear()
    devices["bh-a"].state = "booting"
    wlan = topology.link_state("bh-b", "wlan1")
    assert wlan is not None and not wlan.running


def test_ping_over_up_links_only() -> None:
    topology, devices, faults = chain()
    assert topology.ping("bh-b", "10.0.0.1")  # over the radio and the cable
    assert topology.ping("core", "10.0.0.1")  # itself
    assert not topology.ping("core", "10.9.9.9")
    faults["core"].links_down.add("ether2")
    assert not topology.ping("bh-b", "10.0.0.1")
    assert topology.ping("bh-b", "10.0.0.2")
    faults["core"].links_down.clear()
    devices["core"].state = "stopped"
    assert not topology.ping("bh-b", "10.0.0.1")
    topology.remove("core")
    assert not topology.ping("bh-a", "10.0.0.1")
