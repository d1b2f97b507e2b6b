"""Synthetic, valid KopNet fleets of any size (benchmarks, and tests with a small N).

Realistic mix: uplinks fiber / PtP radio / VSAT (GEO and LEO), one to three hamlets per village
with a sector radio each (RouterOS mANTBox or airOS Rocket/LiteBeam), PtP backhaul pairs
(RouterOS LHG or airOS PowerBeam) for radio uplinks and for some far hamlets, PPPoE everywhere
and hotspot in some villages. Fleet-wide files come from the example inventory; the address lock
is allocated with the inventory's own allocator, exactly as ``kopnet addresses update`` does.

Usage: ``python benchmarks/fleetgen.py OUT_DIR [--villages N] [--seed S]``
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kopnet_iac.inventory.lockfile import LOCK_FILE, allocate, write_lock
from kopnet_iac.inventory.models import Fleet, Village

REPO = Path(__file__).resolve().parents[1]
# the project's example fleet as the tests keep it (inventory/ is the user's own fleet)
EXAMPLE = REPO / "tests" / "fixtures" / "fleet"

# centres that keep centre +- width/2 inside 5725-5825 MHz
FREQS = {20: [5745, 5765, 5785, 5805], 40: [5755, 5775, 5795], 80: [5775]}
BAND = (5725, 5825)


def _channel(rng: random.Random, width: int, used: list[tuple[int, int]]) -> tuple[int, int]:
    """A (centre, width) inside the band that overlaps nothing in ``used`` (one mast), on a grid
    aligned to the width (no fragments), narrower when the mast is full; recorded in ``used``."""
    for w in (width, 20, 10):
        if w > width:
            continue
        centres = list(range(BAND[0] + w // 2, BAND[1] - w // 2 + 1, w))
        rng.shuffle(centres)
        for c in centres:
            lo, hi = c - w // 2, c + w // 2
            if all(hi <= a or lo >= b for a, b in used):
                used.append((lo, hi))
                return c, w
    c = rng.choice(FREQS[20])  # a full mast: share (sector-sector overlap is only a warning)
    used.append((c - 10, c + 10))
    return c, 20


SECTOR_MODELS = [("mANTBox-19s", "ether1", "wlan1"), ("Rocket-5AC-Prism", "eth0", "ath0"),
                 ("LiteBeam-5AC-Gen2", "eth0", "ath0")]  # fmt: skip
BACKHAUL_MODELS = [("LHG-XL-5-ac", "ether1", "wlan1"), ("PowerBeam-5AC-Gen2", "eth0", "ath0")]
DISTRICTS = ["Kayuagung", "Tulung Selapan", "Mesuji", "Pedamaran", "Cengal", "Air Sugihan"]


@dataclass(frozen=True)
class FleetSummary:
    root: Path
    villages: int
    devices: int


def _fleet_doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((EXAMPLE / "fleet.yaml").read_text(encoding="utf-8"))
    doc["secrets"]["wifi-sector"] = {"description": "WPA2 key of generated sectors"}
    return doc


def _village(index: int, rng: random.Random) -> dict[str, Any]:
    vid = f"desa-{index:04d}"
    short = f"{index:04d}"
    uplink_type = rng.choices(["fiber", "ptp-radio", "vsat"], weights=[5, 3, 2])[0]
    uplink: dict[str, Any] = {"type": uplink_type, "bandwidth_mbps": rng.choice([30, 50, 100, 200])}
    if uplink_type == "vsat":
        orbit = rng.choice(["geo", "leo"])
        uplink.update(orbit=orbit, rtt_ms=600 if orbit == "geo" else 50)
    core_model = rng.choice(["RB5009UG+S+IN", "RB4011iGS+"])
    devices: list[dict[str, Any]] = [
        {"hostname": f"gw-{short}", "role": "gateway", "model": "APU4D4",
         "serial": f"APU-{index:06d}", "credentials": "gw-admin"},
        {"hostname": f"core-{short}", "role": "core-router", "model": core_model,
         "serial": f"CR{index:08d}", "credentials": "core-admin"},
    ]  # fmt: skip
    links: list[dict[str, Any]] = [{"a": f"gw-{short}:enp2s0", "b": f"core-{short}:ether1"}]
    serial = 0

    def radio(hostname: str, role: str, model: str) -> None:
        nonlocal serial
        serial += 1
        devices.append({"hostname": hostname, "role": role, "model": model,
                        "serial": f"RD{index:06d}{serial:02d}", "credentials": "radio-admin"})  # fmt: skip

    main_mast: list[tuple[int, int]] = []  # spectrum used on the POP mast (one site)

    def pair(name: str, far_mast: list[tuple[int, int]]) -> tuple[str, str, str, str]:
        model, eth, wlan = rng.choice(BACKHAUL_MODELS)
        a, b = f"{name}-a", f"{name}-b"
        radio(a, "backhaul-radio", model)
        radio(b, "backhaul-radio", model)
        # the POP mast holds up to four radios: 20 MHz each always fits the 100 MHz band
        freq, width = _channel(rng, 20, main_mast)
        far_mast.append((freq - width // 2, freq + width // 2))
        links.append({"a": f"{a}:{wlan}", "b": f"{b}:{wlan}", "radio": {
            "ap": a, "ssid": f"KopNet-BH-{short}-{name[-1]}", "frequency": freq,
            "channel_width": width, "key": "backhaul-key",
            "distance_km": round(rng.uniform(1.0, 15.0), 1)}})  # fmt: skip
        return a, b, eth, wlan

    if uplink_type == "ptp-radio":
        _, b, eth, _ = pair(f"bh-{short}-up", [])
        links.append({"a": f"{b}:{eth}", "b": f"gw-{short}:enp1s0"})
    hamlets: list[dict[str, Any]] = []
    core_port = 2
    for h in range(1, rng.choice([1, 1, 2, 2, 2, 3]) + 1):
        model, eth, _ = rng.choice(SECTOR_MODELS)
        sector = f"sec-{short}-{h}"
        radio(sector, "sector-radio", model)
        far = h == 3 or (h == 2 and rng.random() < 0.2)  # far hamlet behind a PtP hop
        mast = main_mast
        if far:
            mast = []
            a, b, bh_eth, _ = pair(f"bh-{short}-h{h}", mast)
            links.append({"a": f"core-{short}:ether{core_port}", "b": f"{a}:{bh_eth}"})
            links.append({"a": f"{b}:{bh_eth}", "b": f"{sector}:{eth}"})
        else:
            links.append({"a": f"core-{short}:ether{core_port}", "b": f"{sector}:{eth}"})
        core_port += 1
        freq, width = _channel(rng, 20 if mast is main_mast else rng.choice([20, 40]), mast)
        hamlets.append({"id": f"dusun-{h}", "name": f"Dusun {h} {short}", "vlan": 100 + h,
                        "households": rng.randint(40, 250), "sectors": [{
                            "radio": sector, "ssid": f"KopNet-{short}-{h}",
                            "frequency": freq, "channel_width": width,
                            "key": "wifi-sector", "range_km": round(rng.uniform(1.0, 6.0), 1)}]})  # fmt: skip
    hotspot = rng.random() < 0.4
    return {
        "id": vid,
        "name": f"Desa Contoh {short}",
        "district": rng.choice(DISTRICTS),
        "location": {
            "lat": round(rng.uniform(-4.0, -2.9), 4),
            "lon": round(rng.uniform(104.6, 106.0), 4),
        },
        "uplink": uplink,
        "devices": devices,
        "links": links,
        "hamlets": hamlets,
        "services": {
            "pppoe_plans": rng.choice(
                [["hemat-5", "keluarga-10"], ["hemat-5", "keluarga-10", "usaha-20"]]
            ),
            "hotspot_plans": ["voucher-harian"] if hotspot else [],
        },
    }


def generate_fleet(root: Path, villages: int, seed: int = 1) -> FleetSummary:
    """Write a valid inventory of ``villages`` villages (with its address lock) under ``root``."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "villages").mkdir(exist_ok=True)
    fleet_doc = _fleet_doc()
    (root / "fleet.yaml").write_text(yaml.safe_dump(fleet_doc, sort_keys=False), encoding="utf-8")
    shutil.copy(EXAMPLE / "hardware.yaml", root / "hardware.yaml")
    fleet = Fleet.model_validate(fleet_doc)
    models: dict[str, Village] = {}
    devices = 0
    for index in range(1, villages + 1):
        doc = _village(index, rng)
        models[doc["id"]] = Village.model_validate(doc)
        devices += len(doc["devices"])
        text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=120)
        (root / "villages" / f"{doc['id']}.yaml").write_text(text, encoding="utf-8")
    lock, report = allocate(fleet, models, None)
    if report.failed:
        raise RuntimeError("address pools too small: " + "; ".join(report.failed[:5]))
    write_lock(root / LOCK_FILE, lock)
    return FleetSummary(root=root, villages=villages, devices=devices)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--villages", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    summary = generate_fleet(args.out, args.villages, args.seed)
    print(f"{summary.villages} villages, {summary.devices} devices in {summary.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
