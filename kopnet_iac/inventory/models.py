"""The inventory schema: what an engineer writes in YAML, as frozen pydantic models.

Layout of an inventory folder::

    fleet.yaml        partner ISP, NOC services, RADIUS, plans, address pools, secrets, defaults
    hardware.yaml     hardware catalogue (model -> platform, ports, wireless, factory state)
    addresses.lock.yaml   address allocations, maintained by ``kopnet addresses`` (reviewed in git)
    villages/*.yaml   one file per village

Secrets are never written here: fields named ``*_secret``/``credentials`` hold the *name* of a
secret declared under ``secrets:`` in fleet.yaml; values are resolved at push time.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Hostname = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
SecretRef = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
Rate = Annotated[str, Field(pattern=r"^[0-9]+[kKMG]?$")]
Platform = Literal["routeros", "airos", "linux"]
Role = Literal["gateway", "core-router", "backhaul-radio", "sector-radio"]
UplinkType = Literal["fiber", "ptp-radio", "vsat"]


class Model(BaseModel):
    """Base: frozen, unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _network(value: str) -> str:
    """An IPv4 network written with its prefix length and no host bits (``10.90.0.0/16``)."""
    ipaddress.IPv4Network(value, strict=True)
    return value


def _address(value: str) -> str:
    ipaddress.ip_address(value)
    return value


# --------------------------------------------------------------------------- fleet.yaml


class FleetInfo(Model):
    name: str
    regency: str = Field(description="Kabupaten the fleet operates in")
    timezone: str = "Asia/Jakarta"
    country: Literal["indonesia"] = "indonesia"
    domain: str
    management_vlan: int = Field(99, ge=2, le=4094)


class UplinkProfile(Model):
    """How a village with this uplink type reaches the partner ISP edge."""

    routing: Literal["bgp", "static"]
    pool: Name = Field(description="address pool for the gateway-edge transfer network")
    mtu: int = Field(1500, ge=576, le=9000)


class PartnerIsp(Model):
    name: str
    asn: int = Field(ge=1, le=4294967295, description="partner ISP edge ASN")
    pop_asn: int = Field(ge=64512, le=65534, description="private ASN of the village gateways")
    uplinks: dict[UplinkType, UplinkProfile]
    # --- gateway eBGP session hardening (linux gateway templates)
    bgp_password_secret: SecretRef | None = Field(
        None, description="secret with the eBGP TCP-MD5 password (unset: the ISP supports none)"
    )
    bgp_ttl_security: bool = Field(
        True, description="GTSM (RFC 5082): accept eBGP packets only from a directly connected edge"
    )


# --- gateway subscriber policy: regulator DNS and CGNAT traceability (linux gateway templates)


class RegulatorDns(Model):
    """The resolver the regulator requires for subscribers (content filtering)."""

    name: str = Field(description="who runs it, e.g. the partner ISP's TrustPositif resolver")
    resolvers: list[str] = Field(min_length=1, description="IPv4 addresses the gateways forward to")
    enforce: bool = Field(
        True, description="redirect subscribers' own DNS queries (port 53) to the gateway's cache"
    )

    _resolvers = field_validator("resolvers")(lambda v: [_address(x) for x in v])


class CgnatPolicy(Model):
    """CGNAT traceability: per-subscriber port blocks, logged to the NOC syslog."""

    first_port: int = Field(1024, ge=1024, le=60000, description="lowest port handed out")
    min_block: int = Field(
        256, ge=64, le=32768, description="smallest acceptable ports per subscriber"
    )
    log_retention_days: int = Field(
        365, ge=1, description="how long the NOC syslog keeps the block log (documented policy)"
    )


class SnmpSettings(Model):
    community: SecretRef
    contact: str
    trap_host: str | None = None

    _trap = field_validator("trap_host")(lambda v: v if v is None else _address(v))


class Noc(Model):
    """Network operations centre services every POP uses."""

    networks: list[str] = Field(min_length=1, description="NOC source networks for management")
    dns: list[str] = Field(min_length=1)
    ntp: list[str] = Field(min_length=1)
    syslog: str
    snmp: SnmpSettings
    ssh_keys: list[str] = Field(default_factory=list, description="public keys for admin users")
    controller_key_login: bool = Field(
        False,
        description="the deploy controller logs in to airOS radios with an SSH key listed in "
        "ssh_keys; only then is SSH password login disabled on them (keys are installed either way)",
    )
    # -- device hardening (additive)
    device_user: Name = Field(
        "noc",
        description="named NOC account rendered on RouterOS and airOS devices in place of the "
        "built-in admin/ubnt (its password is the device's credentials secret)",
    )
    api_certificate: str | None = Field(
        None,
        description="RouterOS certificate name for api-ssl (installed on each device); without "
        "it the plaintext API stays, limited to the NOC and management networks",
    )

    _nets = field_validator("networks")(lambda v: [_network(x) for x in v])
    _dns = field_validator("dns", "ntp")(lambda v: [_address(x) for x in v])
    _syslog = field_validator("syslog")(lambda v: _address(v))


class RadiusServer(Model):
    name: Name
    address: str
    secret: SecretRef
    auth_port: int = 1812
    acct_port: int = 1813

    _addr = field_validator("address")(lambda v: _address(v))


class Burst(Model):
    download: Rate
    upload: Rate
    threshold_percent: int = Field(75, ge=1, le=100)
    time_s: int = Field(8, ge=1, le=3600)


class ServicePlan(Model):
    name: Name
    kind: Literal["pppoe", "hotspot"]
    download: Rate
    upload: Rate
    burst: Burst | None = None
    price_idr: int | None = Field(None, ge=0)


class Pool(Model):
    """A fleet address pool carved into one block of ``size`` per village."""

    prefix: str
    size: int = Field(ge=8, le=32, description="prefix length of each village's block")
    purpose: Literal["management", "loopback", "link", "uplink", "subscriber", "public-nat"]

    _prefix = field_validator("prefix")(lambda v: _network(v))


class SecretDecl(Model):
    description: str = ""
    env: str | None = Field(None, description="environment variable (default KOPNET_SECRET_<NAME>)")


class Fleet(Model):
    fleet: FleetInfo
    partner_isp: PartnerIsp
    noc: Noc
    radius: list[RadiusServer] = Field(min_length=1)
    plans: list[ServicePlan] = Field(min_length=1)
    pools: dict[Name, Pool]
    secrets: dict[SecretRef, SecretDecl]
    regulator_dns: RegulatorDns | None = Field(
        None, description="subscriber DNS the regulator requires (unset: the NOC resolvers)"
    )
    cgnat: CgnatPolicy = Field(default_factory=CgnatPolicy)
    vault: str | None = Field(None, description="ansible-vault file with secret values")


# --------------------------------------------------------------------------- hardware.yaml


class FactoryDefaults(Model):
    address: str = Field(description="factory management address with prefix length")
    username: str
    password: Literal["empty", "label", "ubnt"] = "empty"


class HardwareModel(Model):
    platform: Platform
    vendor: str
    ports: list[str] = Field(min_length=1)
    wireless: Literal["none", "routeros-wireless", "airos"] = "none"
    bands: list[Literal["2ghz", "5ghz", "60ghz"]] = Field(default_factory=list)
    max_channel_width: int = Field(80, ge=10, le=160, description="MHz")
    factory: FactoryDefaults | None = None
    # -- field-grade radio facts (additive)
    radio_standard: Literal["802.11n", "802.11ac"] | None = Field(
        None,
        description="radio standard of a wireless model: 802.11ac renders band 5ghz-a/n/ac "
        "(RouterOS) and ieee_mode 11acvht* (airOS); 802.11n renders 5ghz-a/n / 11na*",
    )
    # -- linux gateways
    network_backend: Literal["networkd", "ifupdown"] = Field(
        "networkd", description="linux: how the gateway's own interfaces are configured"
    )


class Hardware(Model):
    models: dict[str, HardwareModel]


# --------------------------------------------------------------------------- villages/*.yaml


class Location(Model):
    """Where the POP stands (WGS84, inside Indonesia)."""

    lat: float = Field(ge=-11.5, le=6.5, description="latitude, degrees")
    lon: float = Field(ge=94.5, le=141.5, description="longitude, degrees")
    elevation_m: int | None = Field(None, description="metres above sea level")


class Uplink(Model):
    """How the village reaches the partner ISP (its profile is partner_isp.uplinks[type])."""

    type: UplinkType = Field(description="fiber | ptp-radio | vsat")
    bandwidth_mbps: int = Field(ge=1, description="contracted capacity, Mbit/s")
    gateway_port: str = Field("enp1s0", description="gateway port facing the partner ISP edge")
    circuit_id: str | None = Field(None, description="the partner ISP's circuit reference")
    # vsat
    orbit: Literal["geo", "leo"] | None = Field(None, description="vsat only (required there)")
    rtt_ms: int | None = Field(None, ge=1, description="expected round-trip time, ms (vsat)")


class Device(Model):
    """One box of the POP; exactly one gateway and one core-router per village."""

    hostname: Hostname = Field(description="unique in the fleet; also the device identity")
    role: Role
    model: str = Field(description="a model of hardware.yaml")
    serial: str = Field(min_length=4, description="unique in the fleet")
    credentials: SecretRef = Field(description="secret holding the device admin password")
    # -- recorded by `kopnet replace` (additive)
    mac: str | None = Field(
        None,
        pattern=r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$",
        description="MAC address of the device's first port (upper case, colon separated)",
    )


#: channel widths a radio may use (MHz)
ChannelWidth = Literal[10, 20, 40, 80]
#: centre frequencies the JSON Schema allows (5 GHz band; the checks narrow it to Indonesia's)
Frequency = Annotated[int, Field(ge=2400, le=6000, description="centre frequency, MHz")]


class RadioParams(Model):
    """Parameters of a wireless link (PtP backhaul)."""

    ap: Hostname = Field(description="which end is the access point")
    ssid: str = Field(min_length=1, max_length=32)
    frequency: Frequency = Field(description="centre frequency, MHz (5725-5825 in Indonesia)")
    channel_width: ChannelWidth = Field(description="MHz (10, 20, 40 or 80)")
    key: SecretRef = Field(description="secret holding the WPA2 / Nv2 pre-shared key")
    expected_signal_dbm: int = Field(-60, ge=-95, le=-20)
    # -- field-grade radio facts (additive)
    distance_km: float = Field(
        gt=0,
        le=100,
        description="path length, km: sets RouterOS nv2-cell-radius and the airOS ack distance",
    )


class Link(Model):
    """A cable or radio link between two device ports, written ``host:port``."""

    a: str = Field(pattern=r"^[a-z0-9-]+:[A-Za-z0-9/._+-]+$", description="hostname:port")
    b: str = Field(pattern=r"^[a-z0-9-]+:[A-Za-z0-9/._+-]+$", description="hostname:port")
    radio: RadioParams | None = None


class Sector(Model):
    """A sector access point serving a hamlet."""

    radio: Hostname = Field(description="hostname of a sector-radio of this village")
    ssid: str = Field(min_length=1, max_length=32)
    frequency: Frequency = Field(
        description="centre frequency, MHz (5725-5825 with the channel inside)"
    )
    channel_width: ChannelWidth = Field(description="MHz, at most the model's maximum")
    key: SecretRef = Field(description="secret holding the WPA2 / Nv2 pre-shared key")
    # -- field-grade radio facts (additive)
    range_km: float = Field(
        gt=0,
        le=30,
        description="distance to the farthest subscriber, km: sets RouterOS nv2-cell-radius "
        "and the airOS ack distance",
    )


class Hamlet(Model):
    """A dusun with its own VLAN and sector radios."""

    id: Name = Field(description="unique in the village, e.g. dusun-1")
    name: str
    vlan: int = Field(ge=2, le=4094, description="unique in the village, not the management VLAN")
    households: int | None = Field(None, ge=0)
    sectors: list[Sector] = Field(default_factory=list)
    # -- per-hamlet services (additive)
    hotspot_plans: list[Name] | None = Field(
        None,
        description="hotspot plans sold in this hamlet (fleet.yaml plans of kind hotspot); "
        "[] = no hotspot here; absent = the village's services.hotspot_plans",
    )


class Services(Model):
    """Plans (fleet.yaml plans) the village sells; at least one."""

    pppoe_plans: list[Name] = Field(default_factory=list, description="names of pppoe plans")
    hotspot_plans: list[Name] = Field(
        default_factory=list,
        description="hotspot plans of every hamlet that does not list its own hotspot_plans",
    )


class Village(Model):
    """One village POP (``villages/<id>.yaml``)."""

    id: Name = Field(description="equals the file name without .yaml")
    name: str
    district: str = Field(description="kecamatan")
    location: Location
    uplink: Uplink
    devices: list[Device] = Field(min_length=1)
    links: list[Link] = Field(default_factory=list)
    hamlets: list[Hamlet] = Field(min_length=1)
    services: Services

    def hotspot_plans_of(self, hamlet: Hamlet) -> list[str]:
        """The hotspot plans sold in ``hamlet`` (its own list, else the village's)."""
        if hamlet.hotspot_plans is not None:
            return hamlet.hotspot_plans
        return self.services.hotspot_plans

    def hotspot_hamlets(self) -> list[Hamlet]:
        """Hamlets with a hotspot (at least one hotspot plan), in inventory order."""
        return [h for h in self.hamlets if self.hotspot_plans_of(h)]
