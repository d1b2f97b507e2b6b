"""A village POP drawn as SVG from its inventory: the partner ISP edge and the uplink, the
gateway, core router and radios with the ports of every link, radio links with SSID and
frequency, and the hamlets with their VLANs and sectors; devices coloured by state.

Layout is layered and deterministic: the gateway in the middle, the devices on its ISP side
(a PtP backhaul) above it toward the ISP edge, the rest below by their distance from it over
the links, hamlets at the bottom under the sector radios that serve them. Pure: inventory in,
SVG text out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kopnet_iac.inventory.models import Village
from kopnet_iac.report.html import colours, esc

BOX_W, BOX_H = 196, 62
GAP_X, GAP_Y = 28, 96
MARGIN = 24
ISP = "__isp__"
_NS = ' xmlns="http://www.w3.org/2000/svg"'  # a namespace name, never fetched

ROLE_LABEL = {
    "gateway": "gateway",
    "core-router": "core router",
    "backhaul-radio": "backhaul radio",
    "sector-radio": "sector radio",
}


@dataclass(frozen=True)
class _Link:
    a: str
    a_port: str
    b: str
    b_port: str
    label: str = ""
    radio: bool = False


def _links(village: Village) -> list[_Link]:
    out = []
    for link in village.links:
        a, a_port = link.a.split(":", 1)
        b, b_port = link.b.split(":", 1)
        label = ""
        if link.radio is not None:
            label = f"{link.radio.ssid} · {link.radio.frequency} MHz/{link.radio.channel_width}"
        out.append(_Link(a, a_port, b, b_port, label, link.radio is not None))
    return out


def _layers(village: Village, links: list[_Link]) -> tuple[dict[str, int], str, str]:
    """Depth per hostname (gateway 0, ISP side negative), the device the ISP edge attaches
    to, and the port it attaches on."""
    hosts = [d.hostname for d in village.devices]
    gateway = next((d.hostname for d in village.devices if d.role == "gateway"), hosts[0])
    port = village.uplink.gateway_port
    neighbours: dict[str, list[str]] = {h: [] for h in hosts}
    for link in links:
        if link.a in neighbours and link.b in neighbours:
            neighbours[link.a].append(link.b)
            neighbours[link.b].append(link.a)
    depth: dict[str, int] = {gateway: 0}
    # the ISP side: whatever hangs off the gateway's uplink port
    isp_host, isp_port = gateway, port
    first = next(
        (
            (lk.b if lk.a == gateway else lk.a)
            for lk in links
            if (lk.a == gateway and lk.a_port == port) or (lk.b == gateway and lk.b_port == port)
        ),
        None,
    )
    if first is not None and first in neighbours:
        frontier = [first]
        depth[first] = -1
        while frontier:
            nxt = []
            for host in frontier:
                for other in neighbours[host]:
                    if other not in depth:
                        depth[other] = depth[host] - 1
                        nxt.append(other)
            frontier = nxt
        isp_host = min(depth, key=lambda h: (depth[h], hosts.index(h)))
        used = {lk.a_port for lk in links if lk.a == isp_host} | {
            lk.b_port for lk in links if lk.b == isp_host
        }
        isp_port = "uplink" if "uplink" not in used else "isp"
    frontier = [gateway]
    while frontier:
        nxt = []
        for host in frontier:
            for other in neighbours[host]:
                if other not in depth:
                    depth[other] = depth[host] + 1
                    nxt.append(other)
        frontier = nxt
    bottom = max(depth.values()) + 1
    for host in hosts:  # devices without links: a row of their own
        depth.setdefault(host, bottom)
    return depth, isp_host, isp_port


def _px(slot: float) -> float:
    return MARGIN + slot * (BOX_W + GAP_X) + BOX_W / 2


def _slots(
    village: Village,
    links: list[_Link],
    depth: Mapping[str, int],
    served: Mapping[str, list[str]],
    core: str | None,
) -> dict[str, float]:
    """Horizontal slot of every device and hamlet: a tidy tree below the gateway (each
    device under the one it hangs off, parents centred over their children, hamlets as
    children of their sector radios), the ISP side stacked above the gateway."""
    hosts = [d.hostname for d in village.devices]
    children: dict[str, list[str]] = {h: [] for h in hosts}
    parent: dict[str, str] = {}
    for row in sorted({d for d in depth.values() if d > 0}):
        for host in (h for h in hosts if depth[h] == row):
            ups = [
                (lk.b if lk.a == host else lk.a)
                for lk in links
                if host in (lk.a, lk.b) and depth.get(lk.b if lk.a == host else lk.a) == row - 1
            ]
            if ups:
                parent[host] = ups[0]
                children[ups[0]].append(host)
    for hamlet_id, radios in served.items():
        owner = radios[0] if radios else core
        if owner is not None:
            children[owner].append(f"hamlet:{hamlet_id}")
    slots: dict[str, float] = {}
    cursor = 0.0

    def visit(name: str) -> float:
        nonlocal cursor
        kids = children.get(name, [])
        if not kids:
            slots[name] = cursor
            cursor += 1
            return slots[name]
        xs = [visit(k) for k in kids]
        slots[name] = (xs[0] + xs[-1]) / 2
        return slots[name]

    gateway = next((h for h in hosts if depth[h] == 0), hosts[0])
    visit(gateway)
    for host in hosts:  # unlinked devices and orphan hamlets: after the tree
        if host not in slots and depth[host] >= 0 and host not in parent:
            visit(host)
    for hamlet_id in served:
        slots.setdefault(f"hamlet:{hamlet_id}", cursor)
        if slots[f"hamlet:{hamlet_id}"] == cursor:
            cursor += 1
    for host in hosts:  # the ISP side: above the gateway
        if depth[host] < 0:
            slots[host] = slots[gateway]
    return slots


def _uplink_label(village: Village) -> str:
    up = village.uplink
    text = f"{up.type} {up.bandwidth_mbps} Mbit/s"
    if up.type == "vsat" and up.orbit:
        text += f" ({up.orbit.upper()}" + (f", {up.rtt_ms} ms RTT)" if up.rtt_ms else ")")
    if up.circuit_id:
        text += f" · {up.circuit_id}"
    return text


def render_topology_svg(
    village: Village,
    states: Mapping[str, str] | None = None,
    *,
    title: str | None = None,
    standalone: bool = False,
) -> str:
    """The village as SVG (no external reference). ``states``: hostname -> state
    (``confirmed``, ``reverted``, ``failed``, ``drifted``, ...) for the fill colour.
    ``standalone``: a ``.svg`` file of its own (with the SVG namespace declaration), else
    an element to embed in an HTML page (which needs none)."""
    states = states or {}
    links = _links(village)
    depth, isp_host, isp_port = _layers(village, links)
    devices = {d.hostname: d for d in village.devices}
    top = min(depth.values()) - 1
    hamlet_row = max(depth.values()) + 1
    hamlets = list(village.hamlets)
    core = next((d.hostname for d in village.devices if d.role == "core-router"), None)
    served: dict[str, list[str]] = {
        h.id: [s.radio for s in h.sectors if s.radio in devices] for h in hamlets
    }
    slots = _slots(village, links, depth, served, core)
    pos: dict[str, tuple[float, float]] = {}  # centre of each box
    for name, slot in slots.items():
        row = hamlet_row if name.startswith("hamlet:") else depth[name]
        pos[name] = (_px(slot), MARGIN + (row - top) * (BOX_H + GAP_Y) + BOX_H / 2)
    pos[ISP] = (pos[isp_host][0], MARGIN + BOX_H / 2)
    widest = max(slots.values()) + 1
    width = MARGIN * 2 + widest * BOX_W + (widest - 1) * GAP_X + 150  # room for link labels
    height = MARGIN * 2 + (hamlet_row - top + 1) * (BOX_H + GAP_Y) - GAP_Y + 40
    ordered = sorted(hamlets, key=lambda h: (slots[f"hamlet:{h.id}"], h.id))

    out = [
        f'<svg{_NS if standalone else ""} class="topology" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'font-family="system-ui,sans-serif" font-size="12">',
        f"<title>{esc(title or f'{village.name} ({village.id}) topology')}</title>",
    ]
    # links first, boxes drawn over them
    ix, iy = pos[ISP]
    hx, hy = pos[isp_host]
    out.append(_line(ix, iy, hx, hy, dashed=village.uplink.type != "fiber"))
    out.append(_port(hx, hy, ix, iy, isp_port if isp_host != ISP else ""))
    out.append(_mid_label(ix, iy, hx, hy, _uplink_label(village)))
    for link in links:
        if link.a not in pos or link.b not in pos:
            continue
        ax, ay = pos[link.a]
        bx, by = pos[link.b]
        out.append(_line(ax, ay, bx, by, dashed=link.radio))
        out.append(_port(ax, ay, bx, by, link.a_port))
        out.append(_port(bx, by, ax, ay, link.b_port))
        if link.label:
            out.append(_mid_label(ax, ay, bx, by, link.label))
    for hamlet in ordered:
        x, y = pos[f"hamlet:{hamlet.id}"]
        for radio in served[hamlet.id] or ([core] if core else []):
            rx, ry = pos[radio]
            out.append(_line(rx, ry, x, y, dashed=True, colour="#9aa"))
    # boxes
    out.append(_isp_box(ix, iy))
    for host, device in devices.items():
        x, y = pos[host]
        state = states.get(host)
        fill, text = colours(state)
        role = ROLE_LABEL.get(device.role, device.role)
        out.append(
            f'<g class="device" id="dev-{esc(host)}" data-host="{esc(host)}" '
            f'data-state="{esc(state or "unknown")}">'
            f"<title>{esc(host)}: {esc(role)}, {esc(device.model)}, "
            f"state {esc(state or 'unknown')}</title>"
            f'<rect x="{x - BOX_W / 2:.1f}" y="{y - BOX_H / 2:.1f}" width="{BOX_W}" '
            f'height="{BOX_H}" rx="6" fill="{fill}" stroke="{text}" stroke-width="1.5"/>'
            f'<text x="{x:.1f}" y="{y - 12:.1f}" text-anchor="middle" font-weight="600" '
            f'fill="{text}">{esc(host)}</text>'
            f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle" fill="#333" '
            f'font-size="11">{esc(role)} · {esc(_clip(device.model, 18))}</text>'
            f'<text x="{x:.1f}" y="{y + 20:.1f}" text-anchor="middle" fill="{text}" '
            f'font-size="11">{esc(state or "no release")}</text></g>'
        )
    for hamlet in ordered:
        x, y = pos[f"hamlet:{hamlet.id}"]
        sectors = ", ".join(f"{s.ssid} {s.frequency} MHz" for s in hamlet.sectors) or "no sector"
        households = f" · {hamlet.households} households" if hamlet.households is not None else ""
        out.append(
            f'<g class="hamlet" id="hamlet-{esc(hamlet.id)}">'
            f"<title>{esc(hamlet.name)}: VLAN {hamlet.vlan}{esc(households)}; "
            f"{esc(sectors)}</title>"
            f'<rect x="{x - BOX_W / 2:.1f}" y="{y - BOX_H / 2:.1f}" width="{BOX_W}" '
            f'height="{BOX_H}" rx="14" fill="#f4f8fb" stroke="#7a8b99" stroke-dasharray="4 3"/>'
            f'<text x="{x:.1f}" y="{y - 12:.1f}" text-anchor="middle" font-weight="600">'
            f"{esc(_clip(hamlet.name, 26))}</text>"
            f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle">{esc(hamlet.id)} · '
            f"VLAN {hamlet.vlan}</text>"
            f'<text x="{x:.1f}" y="{y + 20:.1f}" text-anchor="middle" font-size="11" '
            f'fill="#555">{esc(_clip(sectors, 30))}</text></g>'
        )
    shown = sorted({states[h] for h in devices if h in states})
    if any(h not in states for h in devices):
        shown.append("no release")
    out.append(_legend(shown, height))
    out.append("</svg>")
    return "".join(out)


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _line(
    ax: float, ay: float, bx: float, by: float, *, dashed: bool = False, colour: str = "#556"
) -> str:
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    return (
        f'<line x1="{ax:.1f}" y1="{ay:.1f}" x2="{bx:.1f}" y2="{by:.1f}" stroke="{colour}" '
        f'stroke-width="1.6"{dash}/>'
    )


def _edge_point(x: float, y: float, tx: float, ty: float) -> tuple[float, float]:
    """Where the line from box centre (x, y) toward (tx, ty) leaves the box, plus a little."""
    dx, dy = tx - x, ty - y
    if dx == 0 and dy == 0:
        return x, y
    scale = min(
        (BOX_W / 2) / abs(dx) if dx else float("inf"),
        (BOX_H / 2) / abs(dy) if dy else float("inf"),
    )
    return x + dx * scale, y + dy * scale


def _port(x: float, y: float, tx: float, ty: float, port: str) -> str:
    if not port:
        return ""
    ex, ey = _edge_point(x, y, tx, ty)
    lx, ly = ex + (8 if tx >= x else -8), ey + (12 if ty > y else -5)
    anchor = "start" if tx >= x else "end"
    return (
        f'<text class="port" x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}" font-size="10" '
        f'fill="#445" font-family="ui-monospace,monospace">{esc(port)}</text>'
    )


def _mid_label(ax: float, ay: float, bx: float, by: float, text: str) -> str:
    mx, my = (ax + bx) / 2, (ay + by) / 2
    return (
        f'<text x="{mx + 8:.1f}" y="{my + 4:.1f}" font-size="11" fill="#2a4d69" '
        f'font-style="italic">{esc(text)}</text>'
    )


def _isp_box(x: float, y: float) -> str:
    return (
        f'<g class="isp"><ellipse cx="{x:.1f}" cy="{y:.1f}" rx="{BOX_W / 2}" ry="{BOX_H / 2 - 4}" '
        f'fill="#eef3fb" stroke="#556"/><text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle" '
        f'font-weight="600">partner ISP edge</text></g>'
    )


def _legend(used: list[str], height: float) -> str:
    parts = [f'<g class="legend" transform="translate({MARGIN},{height - 26:.0f})">']
    x = 0
    for state in used:
        fill, text = colours(state if state != "no release" else None)
        parts.append(
            f'<rect x="{x}" y="0" width="14" height="14" fill="{fill}" stroke="{text}"/>'
            f'<text x="{x + 18}" y="11" font-size="11">{esc(state)}</text>'
        )
        x += 30 + 7 * len(state)
    parts.append("</g>")
    return "".join(parts)


__all__ = ["render_topology_svg"]
