"""The emulated radio's ``status.cgi`` document (also the source of ``mca-status``)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from kopnet_iac.lab.airos.config import FIRMWARE

FACTORY_SSID = "ubnt"  # what a radio out of the box broadcasts

if TYPE_CHECKING:
    from kopnet_iac.lab.airos.device import AirOSDevice


def mac_for(hostname: str) -> str:
    """A stable, locally administered MAC address for a lab device."""
    digest = hashlib.sha256(hostname.encode()).digest()
    return "02:" + ":".join(f"{byte:02X}" for byte in digest[:5])


def stations(device: AirOSDevice) -> list[dict[str, Any]]:
    """Registered peers over running wireless links of the topology.

    As on air, both ends must use the same SSID: a factory-fresh radio (SSID ``ubnt``) registers
    nobody, and a pair that was renamed together (a deploy changing the link's SSID) still
    registers. When the peer's SSID is unknown (not emulated here, or a RouterOS radio), a radio
    that is not in its factory state registers it; a factory-fresh peer is registered by a radio
    configured with the link's SSID."""
    found: list[dict[str, Any]] = []
    ssid = device.active.values.get("wireless.1.ssid", "")
    ask_peer = getattr(device.network, "peer_ssid", None)
    for link in device.spec.links:
        if link.kind != "wireless":
            continue
        if not ssid or ssid == FACTORY_SSID:
            continue
        peer_ssid = ask_peer(device.spec.hostname, link.local_port) if ask_peer else None
        if peer_ssid == FACTORY_SSID:
            # a factory-fresh partner: the radio registers it only when it is set up for this
            # link (what a replacement's radio-link check must earn); the partner registers nobody
            if link.ssid and ssid != link.ssid:
                continue
        elif peer_ssid is not None and peer_ssid != ssid:
            continue
        state = device.network.link_state(device.spec.hostname, link.local_port)
        if state is None or not state.running:
            continue
        signal = state.signal_dbm if state.signal_dbm is not None else link.signal_dbm
        signal = signal if signal is not None else -60
        # airMAX link quality (%) falls with the signal; a stand-in for the radio's own figure
        quality = max(0, min(100, 100 + 2 * (signal + 50)))
        tx_rate, rx_rate = link.tx_rate_mbps or 0, link.rx_rate_mbps or 0
        found.append(
            {
                "mac": mac_for(link.peer_hostname),
                "signal": signal,
                "tx_rate": tx_rate,
                "rx_rate": rx_rate,
                "ccq": quality,
                "airmax": {
                    "quality": quality,
                    "capacity": quality,
                    "dl_capacity": tx_rate * 1000,
                    "ul_capacity": rx_rate * 1000,
                },
                "remote": {"hostname": link.peer_hostname},
            }
        )
    return found


def status(device: AirOSDevice) -> dict[str, Any]:
    """The ``status.cgi`` document."""
    values = device.active.values
    access_point = values.get("radio.1.mode", "managed").lower() == "master"
    ptp = values.get("radio.1.ptpmode", "enabled") != "disabled"
    mode = ("ap" if access_point else "sta") + ("-ptp" if ptp else "-ptmp")
    freq = int(values.get("radio.1.freq", "0") or 0) or (device._link_frequency() or 0)
    chanbw = int(values.get("radio.1.chanbw", "20") or 20)
    peers = stations(device)
    capacity = sum(s["tx_rate"] for s in peers)
    interfaces = []
    for port in device.spec.ports or ("eth0", "ath0"):
        state = device.network.link_state(device.spec.hostname, port)
        interfaces.append(
            {
                "ifname": port,
                "hwaddr": mac_for(f"{device.spec.hostname}/{port}"),
                "enabled": True,
                "status": {"plugged": bool(state and state.running), "speed": 1000},
            }
        )
    return {
        "host": {
            "hostname": values.get("resolv.host.1.name", device.spec.hostname),
            "fwversion": FIRMWARE,
            "devmodel": device.spec.model,
            "uptime": device.uptime,
            "netrole": values.get("netmode", "bridge"),
        },
        "wireless": {
            "mode": mode,
            "essid": values.get("wireless.1.ssid", ""),
            "frequency": freq,
            "center1_freq": freq,
            "chanbw": chanbw,
            "countrycode": int(values.get("radio.countrycode", "0") or 0),
            "count": len(peers),
            "sta": peers,
            "polling": {"enabled": 1, "capacity": capacity, "use": 0},
        },
        "interfaces": interfaces,
    }
