"""Semantic checks the schema cannot express: references, uniqueness, regulation, topology.

Every check adds findings to a ``Problems`` list with the field path of the offending value, so
one run reports everything. Checks only run on parts that passed the schema.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Set
from ipaddress import IPv4Network

from kopnet_iac.inventory import fieldchecks
from kopnet_iac.inventory.models import Fleet, Hardware, HardwareModel, Village
from kopnet_iac.inventory.yamlpos import Loc, Problems, Where, YamlDoc

#: outdoor 5 GHz spectrum allowed in Indonesia (MHz)
BAND_5GHZ = (5725, 5825)
BAND_2GHZ = (2400, 2483)
CGNAT_SPACE = IPv4Network("100.64.0.0/10")
#: block-size limits per pool purpose (prefix length of each village block)
SIZE_LIMITS = {
    "management": (8, 29),
    "loopback": (8, 30),
    "link": (8, 31),
    "uplink": (31, 31),
    "subscriber": (8, 25),
    "public-nat": (8, 32),
}
REQUIRED_PURPOSES = ("management", "loopback", "link", "subscriber", "public-nat")


def _pos(doc: YamlDoc, loc: Loc) -> str:
    p = doc.position(loc)
    return f"{p.file}:{p.line}"


# --------------------------------------------------------------------------- fleet.yaml


def check_fleet(fleet: Fleet, doc: YamlDoc, out: Problems) -> None:
    purposes = {pool.purpose for pool in fleet.pools.values()}
    for purpose in REQUIRED_PURPOSES:
        if purpose not in purposes:
            out.add(doc, ("pools",), f"no pool with purpose {purpose!r}", where="key")
    for name, pool in fleet.pools.items():
        net = IPv4Network(pool.prefix)
        lo, hi = SIZE_LIMITS[pool.purpose]
        if pool.size < net.prefixlen:
            out.add(doc, ("pools", name, "size"), f"/{pool.size} blocks do not fit in {net}")
        elif not lo <= pool.size <= hi:
            out.add(
                doc,
                ("pools", name, "size"),
                f"a {pool.purpose} pool needs blocks between /{lo} and /{hi}",
            )
        if pool.purpose == "subscriber" and not net.subnet_of(CGNAT_SPACE):
            out.add(
                doc, ("pools", name, "prefix"), f"subscriber pools must be inside {CGNAT_SPACE}"
            )

    networks: list[tuple[IPv4Network, Loc, str]] = []
    for name, pool in fleet.pools.items():
        networks.append((IPv4Network(pool.prefix), ("pools", name, "prefix"), f"pool {name}"))
    for i, text in enumerate(fleet.noc.networks):
        networks.append((IPv4Network(text), ("noc", "networks", i), "NOC network"))
    for (net, loc, label), (other, other_loc, other_label) in overlaps(networks):
        out.add(doc, loc, f"{label} {net} overlaps {other_label} {other} ({_pos(doc, other_loc)})")

    for utype, profile in fleet.partner_isp.uplinks.items():
        ploc: Loc = ("partner_isp", "uplinks", utype, "pool")
        target = fleet.pools.get(profile.pool)
        if target is None:
            out.add(doc, ploc, f"unknown pool {profile.pool!r} (pools: {', '.join(fleet.pools)})")
        elif target.purpose != "uplink":
            out.add(
                doc, ploc, f"pool {profile.pool!r} has purpose {target.purpose!r}, not 'uplink'"
            )

    _check_secret(fleet, doc, ("noc", "snmp", "community"), fleet.noc.snmp.community, out)
    if fleet.partner_isp.bgp_password_secret is not None:
        secret = fleet.partner_isp.bgp_password_secret
        _check_secret(fleet, doc, ("partner_isp", "bgp_password_secret"), secret, out)
    _check_port_blocks(fleet, doc, out)
    for i, server in enumerate(fleet.radius):
        _check_secret(fleet, doc, ("radius", i, "secret"), server.secret, out)
    _unique(
        doc,
        [(("radius", i, "name"), r.name) for i, r in enumerate(fleet.radius)],
        "RADIUS server",
        out,
    )
    _unique(doc, [(("plans", i, "name"), p.name) for i, p in enumerate(fleet.plans)], "plan", out)


def overlaps(
    items: list[tuple[IPv4Network, Loc, str]],
) -> Iterator[tuple[tuple[IPv4Network, Loc, str], tuple[IPv4Network, Loc, str]]]:
    """Pairs (later, earlier) of overlapping networks, by a sweep over sorted starts."""
    ordered = sorted(items, key=lambda item: (int(item[0].network_address), item[0].prefixlen))
    widest: tuple[IPv4Network, Loc, str] | None = None
    for item in ordered:
        if widest is not None and int(item[0].network_address) <= int(widest[0].broadcast_address):
            yield item, widest
            if int(item[0].broadcast_address) <= int(widest[0].broadcast_address):
                continue
        widest = item


def _check_port_blocks(fleet: Fleet, doc: YamlDoc, out: Problems) -> None:
    """Every subscriber address gets a CGNAT port block of at least ``cgnat.min_block`` ports."""
    sizes = {p.purpose: p.size for p in fleet.pools.values()}
    if "subscriber" not in sizes or "public-nat" not in sizes:
        return
    subscribers, public = 2 ** (32 - sizes["subscriber"]), 2 ** (32 - sizes["public-nat"])
    ports = (65536 - fleet.cgnat.first_port) * public // subscribers
    if ports < fleet.cgnat.min_block:
        out.add(
            doc,
            ("cgnat", "min_block"),
            f"{subscribers} subscriber addresses share {public} public addresses: "
            f"{ports} ports each, fewer than min_block {fleet.cgnat.min_block} "
            "(a larger public-nat block or a smaller subscriber block per village)",
        )


def _check_secret(fleet: Fleet | None, doc: YamlDoc, loc: Loc, name: str, out: Problems) -> None:
    if fleet is not None and name not in fleet.secrets:
        out.add(doc, loc, f"unknown secret {name!r} (declare it under secrets: in fleet.yaml)")


def _unique(doc: YamlDoc, entries: list[tuple[Loc, str]], what: str, out: Problems) -> None:
    seen: dict[str, Loc] = {}
    for loc, value in entries:
        if value in seen:
            out.add(doc, loc, f"duplicate {what} {value!r} (first at {_pos(doc, seen[value])})")
        else:
            seen[value] = loc


# --------------------------------------------------------------------------- hardware.yaml


def check_hardware(hardware: Hardware, doc: YamlDoc, out: Problems) -> None:
    for name, model in hardware.models.items():
        _unique(
            doc, [(("models", name, "ports", i), p) for i, p in enumerate(model.ports)], "port", out
        )
        if model.wireless != "none" and not model.bands:
            out.add(
                doc,
                ("models", name, "bands"),
                "a wireless model needs at least one band",
                "value" if "bands" in model.model_fields_set else "mapping",
            )
        if model.max_channel_width not in (10, 20, 40, 80, 160):
            out.add(doc, ("models", name, "max_channel_width"), "must be 10, 20, 40, 80 or 160 MHz")
        if model.wireless == "airos" and model.platform != "airos":
            out.add(doc, ("models", name, "wireless"), "airOS wireless needs platform airos")
        if model.wireless == "routeros-wireless" and model.platform != "routeros":
            out.add(doc, ("models", name, "wireless"), "RouterOS wireless needs platform routeros")
        fieldchecks.check_radio_standard(name, model, doc, out)


# --------------------------------------------------------------------------- villages


def check_village_id(
    village: Village,
    doc: YamlDoc,
    villages: Mapping[str, Village],
    docs: Mapping[str, YamlDoc],
    out: Problems,
) -> None:
    if village.id != doc.path.stem:
        out.add(
            doc, ("id",), f"village id {village.id!r} must equal the file name {doc.path.stem!r}"
        )
    if village.id in villages:
        first = docs[village.id]
        out.add(doc, ("id",), f"duplicate village id {village.id!r} (also in {first.path.name})")


def check_villages(
    fleet: Fleet | None,
    hardware: Hardware,
    villages: Mapping[str, Village],
    docs: Mapping[str, YamlDoc],
    out: Problems,
    broken_models: set[str] | None = None,
    established: Set[tuple[str, str]] = frozenset(),
) -> None:
    """Fleet-wide uniqueness, then each village (models in ``broken_models`` were reported).

    ``established`` holds ``(village, hostname)`` pairs the address lock already knows: of two
    devices sharing a hostname or serial, an established one is the original and the newcomer
    (the file that introduced the duplicate) gets the error; otherwise file order decides.
    """
    for key, what in (("hostname", "hostname"), ("serial", "serial")):
        seen: dict[str, list[tuple[bool, int, YamlDoc, Loc]]] = {}
        order = 0
        for vid, village in villages.items():
            for i, device in enumerate(village.devices):
                value = getattr(device, key)
                old = (vid, device.hostname) in established or (
                    device.role == "gateway" and (vid, "") in established
                )
                seen.setdefault(value, []).append((not old, order, docs[vid], ("devices", i, key)))
                order += 1
        for value, places in seen.items():
            if len(places) < 2:
                continue
            places.sort(key=lambda p: (p[0], p[1]))
            _n, _o, first_doc, first_loc = places[0]
            for _new, _order, doc, loc in places[1:]:
                out.add(
                    doc, loc, f"duplicate {what} {value!r} (first at {_pos(first_doc, first_loc)})"
                )
    for vid, village in villages.items():
        VillageChecker(fleet, hardware, village, docs[vid], out, broken_models or set()).run()


class VillageChecker:
    """Checks inside one village file."""

    def __init__(
        self,
        fleet: Fleet | None,
        hardware: Hardware,
        village: Village,
        doc: YamlDoc,
        out: Problems,
        broken_models: set[str],
    ) -> None:
        self.broken_models = broken_models
        self.fleet = fleet
        self.hardware = hardware
        self.village = village
        self.doc = doc
        self.out = out
        self.index = {d.hostname: i for i, d in enumerate(village.devices)}
        self.models: dict[str, HardwareModel] = {}

    def add(self, loc: Loc, message: str, where: Where = "value") -> None:
        self.out.add(self.doc, loc, message, where)

    def run(self) -> None:
        self.devices()
        self.uplink()
        self.links()
        self.hamlets()
        self.services()
        fieldchecks.check_radio_plan(self.village, self.doc, self.out)
        fieldchecks.check_management_reachable(self.village, self.models, self.doc, self.out)

    def devices(self) -> None:
        roles: dict[str, list[int]] = {}
        for i, device in enumerate(self.village.devices):
            roles.setdefault(device.role, []).append(i)
            model = self.hardware.models.get(device.model)
            if model is None and device.model in self.broken_models:
                continue  # its catalogue entry is invalid and already reported
            if model is None:
                known = ", ".join(sorted(self.hardware.models))
                self.add(
                    ("devices", i, "model"),
                    f"unknown model {device.model!r} (hardware.yaml has: {known})",
                )
                continue
            self.models[device.hostname] = model
            if device.role == "gateway" and model.platform != "linux":
                self.add(
                    ("devices", i, "model"),
                    f"a gateway must be a linux model, {device.model} is {model.platform}",
                )
            if device.role == "core-router" and model.platform != "routeros":
                self.add(
                    ("devices", i, "model"),
                    f"a core router must be a routeros model, {device.model} is {model.platform}",
                )
            if device.role in ("sector-radio", "backhaul-radio") and model.wireless == "none":
                self.add(
                    ("devices", i, "model"),
                    f"a {device.role} must be a wireless model, {device.model} has no radio",
                )
            _check_secret(
                self.fleet, self.doc, ("devices", i, "credentials"), device.credentials, self.out
            )
        for role in ("gateway", "core-router"):
            found = roles.get(role, [])
            if not found:
                self.add(("devices",), f"a village needs exactly one {role}, found none", "key")
            for extra in found[1:]:
                self.add(
                    ("devices", extra, "role"),
                    f"a village needs exactly one {role}, found {len(found)}",
                )

    def uplink(self) -> None:
        uplink = self.village.uplink
        if self.fleet is not None and uplink.type not in self.fleet.partner_isp.uplinks:
            self.add(
                ("uplink", "type"),
                f"partner_isp.uplinks in fleet.yaml has no profile for {uplink.type!r}",
            )
        if uplink.type == "vsat" and uplink.orbit is None:
            self.add(("uplink", "orbit"), "a vsat uplink needs 'orbit' (geo or leo)", "mapping")
        gateways = [d for d in self.village.devices if d.role == "gateway"]
        if len(gateways) == 1 and gateways[0].hostname in self.models:
            model = self.models[gateways[0].hostname]
            if uplink.gateway_port not in model.ports:
                explicit = "gateway_port" in uplink.model_fields_set
                self.add(
                    ("uplink", "gateway_port"),
                    f"gateway {gateways[0].hostname} ({gateways[0].model}) has no port "
                    f"{uplink.gateway_port!r} (ports: {', '.join(model.ports)})",
                    "value" if explicit else "mapping",
                )

    def _end(self, loc: Loc, end: str, used: dict[str, Loc]) -> str | None:
        host, _, port = end.partition(":")
        if host not in self.index:
            self.add(loc, f"unknown device {host!r} (devices: {', '.join(self.index)})")
            return None
        model = self.models.get(host)
        if model is not None and port not in model.ports:
            device_model = self.village.devices[self.index[host]].model
            self.add(
                loc,
                f"{host} ({device_model}) has no port {port!r} (ports: {', '.join(model.ports)})",
            )
            return host
        if end in used:
            self.add(
                loc, f"port {end} is already used by another link (at {_pos(self.doc, used[end])})"
            )
        else:
            used[end] = loc
        return host

    def links(self) -> None:
        used: dict[str, Loc] = {}
        for i, link in enumerate(self.village.links):
            a = self._end(("links", i, "a"), link.a, used)
            b = self._end(("links", i, "b"), link.b, used)
            if a is not None and a == b:
                self.add(("links", i, "b"), "a link cannot connect a device to itself")
            if link.radio is None:
                continue
            radio = link.radio
            if radio.ap not in (a, b):
                self.add(
                    ("links", i, "radio", "ap"),
                    f"ap {radio.ap!r} must be one end of the link ({a}, {b})",
                )
            for host, key in ((a, "a"), (b, "b")):
                model = self.models.get(host) if host else None
                if model is None:
                    continue
                if model.wireless == "none":
                    self.add(
                        ("links", i, key),
                        f"{host} has no radio, a radio link needs wireless models",
                    )
                    continue
                self.radio(
                    ("links", i, "radio"), model, host or "", radio.frequency, radio.channel_width
                )
            _check_secret(self.fleet, self.doc, ("links", i, "radio", "key"), radio.key, self.out)
        self.topology()

    def topology(self) -> None:
        """The gateway reaches the core router directly; its uplink port faces the ISP side."""
        roles = {d.hostname: d.role for d in self.village.devices}
        gateways = [h for h, r in roles.items() if r == "gateway"]
        cores = [h for h, r in roles.items() if r == "core-router"]
        if len(gateways) != 1 or len(cores) != 1:
            return  # already reported
        gw, core = gateways[0], cores[0]
        ends = [(link.a.partition(":")[0], link.b.partition(":")[0]) for link in self.village.links]
        if not any({a, b} == {gw, core} for a, b in ends):
            self.add(
                ("links",),
                f"no link between the gateway {gw} and the core router {core}",
                "key" if "links" in self.village.model_fields_set else "mapping",
            )
        uplink_end = f"{gw}:{self.village.uplink.gateway_port}"
        for i, link in enumerate(self.village.links):
            for key, end, other in (("a", link.a, link.b), ("b", link.b, link.a)):
                peer = other.partition(":")[0]
                if end == uplink_end and roles.get(peer) not in (None, "backhaul-radio"):
                    self.add(
                        ("links", i, key),
                        f"{end} is the uplink port (uplink.gateway_port); only the ISP side or a "
                        f"backhaul radio may be linked to it, not the {roles[peer]} {peer}",
                    )

    def radio(self, loc: Loc, model: HardwareModel, host: str, freq: int, width: int) -> None:
        if width > model.max_channel_width:
            self.add(
                (*loc, "channel_width"),
                f"{host} supports at most {model.max_channel_width} MHz channels",
            )
        if "5ghz" in model.bands:
            band = BAND_5GHZ
        elif "2ghz" in model.bands:
            band = BAND_2GHZ
        else:
            return
        low, high = freq - width / 2, freq + width / 2
        if not (band[0] <= low and high <= band[1]):
            if band[0] <= freq <= band[1]:
                msg = (
                    f"{freq} MHz ± {width // 2} MHz ({low:g}-{high:g}) leaves the allowed band "
                    f"{band[0]}-{band[1]} MHz (Indonesia); use a narrower channel or move inward"
                )
            else:
                msg = (
                    f"{freq} MHz is outside the band allowed in Indonesia ({band[0]}-{band[1]} MHz)"
                )
            self.add((*loc, "frequency"), msg)

    def hamlets(self) -> None:
        mgmt_vlan = self.fleet.fleet.management_vlan if self.fleet is not None else None
        ids: dict[str, Loc] = {}
        vlans: dict[int, Loc] = {}
        sector_radios: dict[str, Loc] = {}
        for h, hamlet in enumerate(self.village.hamlets):
            if hamlet.id in ids:
                self.add(
                    ("hamlets", h, "id"),
                    f"duplicate hamlet id {hamlet.id!r} (first at {_pos(self.doc, ids[hamlet.id])})",
                )
            ids.setdefault(hamlet.id, ("hamlets", h, "id"))
            if hamlet.vlan == mgmt_vlan:
                self.add(
                    ("hamlets", h, "vlan"),
                    f"VLAN {hamlet.vlan} is the management VLAN (fleet.management_vlan)",
                )
            elif hamlet.vlan in vlans:
                self.add(
                    ("hamlets", h, "vlan"),
                    f"VLAN {hamlet.vlan} is already used (at {_pos(self.doc, vlans[hamlet.vlan])})",
                )
            vlans.setdefault(hamlet.vlan, ("hamlets", h, "vlan"))
            for s, sector in enumerate(hamlet.sectors):
                loc: Loc = ("hamlets", h, "sectors", s)
                _check_secret(self.fleet, self.doc, (*loc, "key"), sector.key, self.out)
                if sector.radio not in self.index:
                    self.add((*loc, "radio"), f"unknown device {sector.radio!r}")
                    continue
                if sector.radio in sector_radios:
                    self.add(
                        (*loc, "radio"),
                        f"{sector.radio} already serves a sector (at {_pos(self.doc, sector_radios[sector.radio])})",
                    )
                sector_radios.setdefault(sector.radio, (*loc, "radio"))
                device = self.village.devices[self.index[sector.radio]]
                if device.role != "sector-radio":
                    self.add(
                        (*loc, "radio"), f"{sector.radio} is a {device.role}, not a sector-radio"
                    )
                model = self.models.get(sector.radio)
                if model is None:
                    continue
                if model.wireless == "none":
                    self.add(
                        (*loc, "radio"), f"{sector.radio} ({device.model}) is not a wireless model"
                    )
                    continue
                self.radio(loc, model, sector.radio, sector.frequency, sector.channel_width)

    def services(self) -> None:
        if self.fleet is None:
            return
        plans = {p.name: p for p in self.fleet.plans}
        services = self.village.services
        if not services.pppoe_plans and not self.village.hotspot_hamlets():
            self.add(
                ("services",),
                "a village must offer at least one plan (pppoe_plans, or hotspot_plans of the "
                "village or of a hamlet)",
                "key",
            )
        lists: list[tuple[Loc, list[str], str]] = [
            (("services", "pppoe_plans"), services.pppoe_plans, "pppoe"),
            (("services", "hotspot_plans"), services.hotspot_plans, "hotspot"),
        ]
        for h, hamlet in enumerate(self.village.hamlets):
            if hamlet.hotspot_plans is not None:
                lists.append((("hamlets", h, "hotspot_plans"), hamlet.hotspot_plans, "hotspot"))
        for base, names, kind in lists:
            for i, name in enumerate(names):
                plan = plans.get(name)
                if plan is None:
                    self.add((*base, i), f"unknown plan {name!r} (plans: {', '.join(plans)})")
                elif plan.kind != kind:
                    self.add((*base, i), f"plan {name!r} is a {plan.kind} plan, not {kind}")
