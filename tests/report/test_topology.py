"""The village drawn from its inventory: every device, link port, hamlet; state colours."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.inventory.models import Village
from kopnet_iac.report.html import STATE_COLOURS
from kopnet_iac.report.topology import render_topology_svg

NS = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def _boxes(root: ET.Element) -> dict[str, tuple[float, float, str]]:
    """hostname -> (x, y, fill) of its box."""
    out = {}
    for group in root.iter(f"{NS}g"):
        if group.get("class") == "device":
            rect = group.find(f"{NS}rect")
            assert rect is not None
            out[group.get("data-host", "")] = (
                float(rect.get("x", 0)),
                float(rect.get("y", 0)),
                rect.get("fill", ""),
            )
    return out


@pytest.mark.parametrize("village_id", ["sukadana", "lebung-itam", "pematang-panggang"])
def test_every_device_link_port_and_hamlet_is_drawn(inventory: Inventory, village_id: str) -> None:
    village = inventory.villages[village_id]
    svg = render_topology_svg(village, standalone=True)
    root = _parse(svg)
    boxes = _boxes(root)
    assert set(boxes) == {d.hostname for d in village.devices}
    ports = [t.text for t in root.iter(f"{NS}text") if t.get("class") == "port"]
    for link in village.links:
        assert link.a.split(":", 1)[1] in ports and link.b.split(":", 1)[1] in ports
    text = " ".join(t.text or "" for t in root.iter(f"{NS}text"))
    for hamlet in village.hamlets:
        assert f"VLAN {hamlet.vlan}" in text and hamlet.id in text
        for sector in hamlet.sectors:
            assert f"{sector.ssid} {sector.frequency} MHz" in text
    assert village.uplink.type in text and f"{village.uplink.bandwidth_mbps} Mbit/s" in text
    # no two boxes overlap
    placed = sorted(boxes.values())
    for i, (x, y, _) in enumerate(placed):
        for x2, y2, _ in placed[i + 1 :]:
            assert abs(x - x2) >= 196 or abs(y - y2) >= 62


def test_uplink_side_is_above_the_gateway_and_the_rest_below(inventory: Inventory) -> None:
    village = inventory.villages["lebung-itam"]  # PtP backhaul: bh-a (ISP side) - bh-b - gw
    boxes = _boxes(_parse(render_topology_svg(village, standalone=True)))
    y = {host: pos[1] for host, pos in boxes.items()}
    assert y["bh-lebung-itam-a"] < y["bh-lebung-itam-b"] < y["gw-lebung-itam"]
    assert y["gw-lebung-itam"] < y["core-lebung-itam"] < y["sec-lebung-itam-1"]


def test_a_device_sits_under_the_one_it_hangs_off(inventory: Inventory) -> None:
    village = inventory.villages["pematang-panggang"]  # core - bh-a ~ bh-b - sec-3
    boxes = _boxes(_parse(render_topology_svg(village, standalone=True)))
    assert boxes["bh-pematang-b"][0] == boxes["bh-pematang-a"][0]
    assert boxes["sec-pematang-3"][0] == boxes["bh-pematang-b"][0]
    assert boxes["sec-pematang-3"][1] > boxes["bh-pematang-b"][1] > boxes["bh-pematang-a"][1]


def test_state_colours_and_legend(inventory: Inventory) -> None:
    village = inventory.villages["sukadana"]
    states = {"core-sukadana": "reverted", "sec-sukadana-1": "failed"}
    svg = render_topology_svg(village, states, standalone=True)
    boxes = _boxes(_parse(svg))
    assert boxes["core-sukadana"][2] == STATE_COLOURS["reverted"][0]
    assert boxes["sec-sukadana-1"][2] == STATE_COLOURS["failed"][0]
    assert boxes["gw-sukadana"][2] == "#ffffff"
    legend = re.search(r'<g class="legend".*?</g>', svg)
    assert legend is not None
    assert "failed" in legend.group(0) and "reverted" in legend.group(0)
    assert "no release" in legend.group(0)
    everything = {h.hostname: "confirmed" for h in village.devices}
    legend_all = re.search(r'<g class="legend".*?</g>', render_topology_svg(village, everything))
    assert legend_all is not None and "no release" not in legend_all.group(0)


def test_embedded_svg_has_no_url_at_all(inventory: Inventory) -> None:
    svg = render_topology_svg(inventory.villages["sukadana"])
    assert "http" not in svg and "xmlns" not in svg
    standalone = render_topology_svg(inventory.villages["sukadana"], standalone=True)
    assert re.findall(r"https?://[^\"' ]+", standalone) == ["http://www.w3.org/2000/svg"]


def test_names_are_escaped(inventory: Inventory) -> None:
    village = inventory.villages["sukadana"]
    data = village.model_dump()
    data["hamlets"][0]["name"] = 'Dusun <script>alert("x")</script> & Co'
    odd = Village.model_validate(data)
    svg = render_topology_svg(odd, standalone=True)
    _parse(svg)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_a_village_without_links_still_draws(inventory: Inventory) -> None:
    data = inventory.villages["sukadana"].model_dump()
    data["links"] = []
    lonely = Village.model_validate(data)
    boxes = _boxes(_parse(render_topology_svg(lonely, standalone=True)))
    assert set(boxes) == {d.hostname for d in lonely.devices}
