"""Radio planning on one mast: channels that overlap, and which spectrum is still free.

A *site* (mast) is a set of devices joined by cables: radios on one mast are cabled to the same
switch or router, while a radio link crosses to another site. Each radio on a site transmits on
one channel (centre ± width/2). Two radios on the same mast whose channels overlap interfere:

- a sector and a backhaul (or two backhauls): an error, the backhaul carries the whole village;
- two sectors: a warning (separated antennas can share, but it costs capacity).

Messages name the free spectrum of the band on that mast, so the fix is in the message.

>>> free_spectrum([(5735, 5755), (5775, 5795)], (5725, 5825))
[(5725, 5735), (5755, 5775), (5795, 5825)]
>>> format_free([(5725, 5735), (5755, 5775)], 20)
'5755-5775 MHz (centre 5765 for 20 MHz)'
"""

from __future__ import annotations

from dataclasses import dataclass

from kopnet_iac.inventory.models import Village

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class SiteRadio:
    """One radio's channel on a site, with where the inventory sets it."""

    host: str
    role: str
    frequency: int
    width: int
    loc: Loc  # the mapping holding frequency/channel_width (a sector or a link's radio)

    @property
    def low(self) -> float:
        return self.frequency - self.width / 2

    @property
    def high(self) -> float:
        return self.frequency + self.width / 2

    def overlaps(self, other: SiteRadio) -> bool:
        return self.low < other.high and other.low < self.high


@dataclass(frozen=True)
class Clash:
    later: SiteRadio
    earlier: SiteRadio
    error: bool
    free: str


def sites(village: Village) -> list[set[str]]:
    """Devices joined by cables (links without radio), as connected components."""
    parent = {d.hostname: d.hostname for d in village.devices}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for link in village.links:
        if link.radio is not None:
            continue
        a = find(link.a.partition(":")[0])
        b = find(link.b.partition(":")[0])
        parent[a] = b
    groups: dict[str, set[str]] = {}
    for host in parent:
        groups.setdefault(find(host), set()).add(host)
    return sorted(groups.values(), key=lambda g: sorted(g))


def site_radios(village: Village) -> list[SiteRadio]:
    """Every radio channel of the village, in inventory order (links, then sectors)."""
    roles = {d.hostname: d.role for d in village.devices}
    radios: list[SiteRadio] = []
    for i, link in enumerate(village.links):
        if link.radio is None:
            continue
        for end in (link.a, link.b):
            host = end.partition(":")[0]
            radios.append(
                SiteRadio(
                    host,
                    roles.get(host, "unknown"),
                    link.radio.frequency,
                    link.radio.channel_width,
                    ("links", i, "radio"),
                )
            )
    for h, hamlet in enumerate(village.hamlets):
        for s, sector in enumerate(hamlet.sectors):
            radios.append(
                SiteRadio(
                    sector.radio,
                    roles.get(sector.radio, "unknown"),
                    sector.frequency,
                    sector.channel_width,
                    ("hamlets", h, "sectors", s),
                )
            )
    return radios


def free_spectrum(used: list[tuple[float, float]], band: tuple[int, int]) -> list[tuple[int, int]]:
    """Gaps of ``band`` not covered by any ``(low, high)`` range."""
    gaps: list[tuple[int, int]] = []
    cursor = float(band[0])
    for low, high in sorted(used):
        if low > cursor:
            gaps.append((int(cursor), int(min(low, band[1]))))
        cursor = max(cursor, high)
        if cursor >= band[1]:
            break
    if cursor < band[1]:
        gaps.append((int(cursor), band[1]))
    return [(lo, hi) for lo, hi in gaps if hi > lo]


def format_free(gaps: list[tuple[int, int]], width: int) -> str:
    """The gaps wide enough for a ``width`` MHz channel, with an example centre."""
    fitting = [(lo, hi) for lo, hi in gaps if hi - lo >= width]
    if not fitting:
        wider = ", ".join(f"{lo}-{hi}" for lo, hi in gaps) or "none"
        return f"no gap fits {width} MHz (free: {wider} MHz); use a narrower channel"
    parts = [f"{lo}-{hi} MHz (centre {lo + width // 2} for {width} MHz)" for lo, hi in fitting]
    return ", ".join(parts)


def clashes(village: Village, band: tuple[int, int]) -> list[Clash]:
    """Overlapping channels of different radios on one site (later entry blamed)."""
    radios = site_radios(village)
    found: list[Clash] = []
    for site in sites(village):
        here = [r for r in radios if r.host in site]
        for j, later in enumerate(here):
            for earlier in here[:j]:
                if earlier.host == later.host or not later.overlaps(earlier):
                    continue
                others = [(r.low, r.high) for r in here if r.host != later.host]
                free = format_free(free_spectrum(others, band), later.width)
                error = "backhaul-radio" in (later.role, earlier.role)
                found.append(Clash(later, earlier, error, free))
    return found
