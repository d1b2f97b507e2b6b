"""What a lab gateway looks like, computed from the inventory (pure, no system access).

One village in the namespace lab is three network namespaces and three veth pairs::

    root ns (controller)                 <ns>-gw (gateway)                 <ns>-edge (ISP edge)
    kopnet<N>m  10.255.0.x/32  ──veth──  mgmt0   198.51.100.(N+1)/32
                                         enp1s0  uplink_gateway/31  ──veth──  eth1 uplink_edge/31
                                         enp2s0  gateway_core_gateway/31 ─veth─ <ns>-core ether1
                                         lo      gateway loopback/32          lo: NOC DNS/NTP /32s

What is lab-only and what is the gateway's intent: the veth pairs are the lab's cabling; the
``mgmt0`` link and its routes are the lab's stand-in for the NOC's path to the gateway (on
hardware the NOC reaches the loopback through the ISP, see playbooks/README.md), so they stay
lab-only; the edge and core stub are other devices. The gateway's own addresses on ``enp1s0``,
``enp2s0`` and ``lo`` and its routes to the NOC are NOT set by the lab: they come from the
gateway's rendered network files (``net-uplink``, ``net-core``, ``net-loopback``), applied at
lab start with the role's own applier, as on a box installed with them.

The controller's end of the management link uses an address of the first NOC network so the
gateway's input policy admits it. The gateway end uses an address of TEST-NET-2 (198.51.100.0/24,
never routed anywhere) per *slot*, so several labs (or the same village in two labs) can run at
once without clashing routes in the root namespace. Slots are allocated by ``system.claim_slot``.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import TYPE_CHECKING

from kopnet_iac.errors import LabError
from kopnet_iac.inventory.addressing import village_addressing

if TYPE_CHECKING:
    from kopnet_iac.inventory.loader import Inventory
    from kopnet_iac.inventory.models import Device, Village

MAX_SLOTS = 200
LAB_MGMT_NET = IPv4Network("198.51.100.0/24")
LAB_USER = "kopnet"
EDGE_PORT = "eth1"
CORE_STUB_PORT = "ether1"
MGMT_PORT = "mgmt0"
SSH_PORT = 22


@dataclass(frozen=True)
class GatewayLabLayout:
    """Names, addresses and settings of one village's lab gateway (see module docstring)."""

    village: str
    hostname: str
    model: str
    slot: int
    routing: str  # "bgp" | "static"
    isp_asn: int
    pop_asn: int
    mtu: int
    uplink_port: str
    core_port: str
    uplink_edge: IPv4Interface
    uplink_gateway: IPv4Interface
    gateway_core_gateway: IPv4Interface
    gateway_core_core: IPv4Interface
    loopback: IPv4Address
    public_nat: IPv4Network
    subscribers: IPv4Network
    noc_services: tuple[IPv4Address, ...]
    noc_dns: tuple[IPv4Address, ...]
    domain: str
    controller_ip: IPv4Address
    mgmt_ip: IPv4Address
    # eBGP hardening the edge must match; regulator DNS and NOC syslog stand-ins on the edge
    bgp_password_secret: str | None = None
    ttl_security: bool = False
    regulator_dns: tuple[IPv4Address, ...] = ()
    noc_syslog: IPv4Address | None = None

    @property
    def ns_gateway(self) -> str:
        return f"kopnet{self.slot}-gw"

    @property
    def ns_edge(self) -> str:
        return f"kopnet{self.slot}-edge"

    @property
    def ns_core(self) -> str:
        return f"kopnet{self.slot}-core"

    @property
    def namespaces(self) -> tuple[str, str, str]:
        return (self.ns_gateway, self.ns_edge, self.ns_core)

    @property
    def root_link(self) -> str:
        """Controller end of the management veth (in the root namespace)."""
        return f"kopnet{self.slot}m"

    @property
    def password(self) -> str:
        """Lab-only password of the lab user (not a secret: the lab prints it)."""
        return f"lab-{self.hostname}"


def gateway_device(village: Village) -> Device:
    """The village's gateway device; LabError when it has none."""
    for device in village.devices:
        if device.role == "gateway":
            return device
    raise LabError(f"village {village.id} has no gateway device", village=village.id)


def core_port_of(village: Village, gateway: str) -> str:
    """The gateway port cabled to the core router (``enp2s0`` when the links do not say)."""
    roles = {device.hostname: device.role for device in village.devices}
    for link in village.links:
        (a_host, a_port), (b_host, b_port) = (link.a.split(":", 1), link.b.split(":", 1))
        if a_host == gateway and roles.get(b_host) == "core-router":
            return a_port
        if b_host == gateway and roles.get(a_host) == "core-router":
            return b_port
    return "enp2s0"


def controller_addresses(inv: Inventory) -> list[IPv4Address]:
    """Addresses of the first NOC network the lab may use for the controller, highest first.

    Addresses of NOC services (DNS, NTP, syslog, RADIUS, SNMP trap host) are skipped: the lab
    edge answers on those.
    """
    noc = inv.fleet.noc
    network = IPv4Network(noc.networks[0])
    used = {IPv4Address(a) for a in (*noc.dns, *noc.ntp, noc.syslog)}
    used |= {IPv4Address(r.address) for r in inv.fleet.radius}
    if noc.snmp.trap_host:
        used.add(IPv4Address(noc.snmp.trap_host))
    hosts = [a for a in network.hosts() if a not in used]
    return list(reversed(hosts))


def gateway_layout(inv: Inventory, village_id: str, slot: int) -> GatewayLabLayout:
    """Compute the lab layout of ``village_id``'s gateway in ``slot``."""
    if village_id not in inv.villages:
        raise LabError(f"unknown village {village_id!r}", village=village_id)
    village = inv.village(village_id)
    device = gateway_device(village)
    addr = village_addressing(inv, village_id)
    isp = inv.fleet.partner_isp
    profile = isp.uplinks.get(village.uplink.type)
    if profile is None:
        raise LabError(
            f"fleet.partner_isp.uplinks has no profile for uplink type {village.uplink.type}",
            village=village_id,
        )
    controllers = controller_addresses(inv)
    if not 0 <= slot < min(MAX_SLOTS, len(controllers)):
        raise LabError(f"no free lab gateway slot (slot {slot})", village=village_id)
    noc = inv.fleet.noc
    regulator = inv.fleet.regulator_dns
    regulator_dns = tuple(IPv4Address(a) for a in regulator.resolvers) if regulator else ()
    services = tuple(
        dict.fromkeys(IPv4Address(a) for a in (*noc.dns, *noc.ntp, *regulator_dns, noc.syslog))
    )
    return GatewayLabLayout(
        village=village_id,
        hostname=device.hostname,
        model=device.model,
        slot=slot,
        routing=profile.routing,
        isp_asn=isp.asn,
        pop_asn=isp.pop_asn,
        mtu=profile.mtu,
        uplink_port=village.uplink.gateway_port,
        core_port=core_port_of(village, device.hostname),
        uplink_edge=addr.uplink_edge,
        uplink_gateway=addr.uplink_gateway,
        gateway_core_gateway=addr.gateway_core_gateway,
        gateway_core_core=addr.gateway_core_core,
        loopback=addr.loopbacks[device.hostname],
        public_nat=addr.public_nat,
        subscribers=addr.subscribers,
        noc_services=services,
        noc_dns=tuple(IPv4Address(a) for a in noc.dns),
        domain=inv.fleet.fleet.domain,
        controller_ip=controllers[slot],
        mgmt_ip=LAB_MGMT_NET.network_address + slot + 1,
        bgp_password_secret=isp.bgp_password_secret,
        ttl_security=isp.bgp_ttl_security,
        regulator_dns=regulator_dns,
        noc_syslog=IPv4Address(noc.syslog),
    )


# --------------------------------------------------------------------------- edge configs


def edge_bird_conf(plan: GatewayLabLayout, log_file: str, bgp_password: str | None = None) -> str:
    """BIRD 2 config of the partner ISP edge: blackhole default exported over eBGP, or (static
    uplinks) static routes back to the gateway's public NAT block and loopback. The eBGP
    session matches the gateway's hardening: TCP-MD5 with ``bgp_password`` (the value of the
    fleet's secret; the caller keeps it off the disk), GTSM when the fleet enables it."""
    edge, gw = plan.uplink_edge.ip, plan.uplink_gateway.ip
    lines = [
        f'log "{log_file}" all;',
        f"router id {edge};",
        "protocol device { scan time 5; }",
        "protocol kernel {",
        '  ipv4 { export where proto != "upstream_default"; };',
        "}",
    ]
    if plan.routing == "bgp":
        lines += [
            "protocol static upstream_default {",
            "  ipv4;",
            "  route 0.0.0.0/0 blackhole;",
            "}",
            f"protocol bgp pop_{plan.slot} {{",
            f'  description "KopNet POP {plan.village}";',
            f"  local {edge} as {plan.isp_asn};",
            f"  neighbor {gw} as {plan.pop_asn};",
            *([f'  password "{bgp_password}";'] if bgp_password is not None else []),
            *(["  ttl security on;"] if plan.ttl_security else []),
            "  connect delay time 1;",
            "  connect retry time 2;",
            "  error wait time 1, 4;",
            "  hold time 9;",
            "  keepalive time 3;",
            "  ipv4 {",
            "    import all;",
            '    export where proto = "upstream_default";',
            "  };",
            "}",
        ]
    else:
        lines += [
            "protocol static to_pop {",
            "  ipv4;",
            f"  route {plan.public_nat} via {gw};",
            f"  route {plan.loopback}/32 via {gw};",
            "}",
        ]
    return "\n".join(lines) + "\n"


def edge_unbound_conf(plan: GatewayLabLayout, state_dir: str) -> str:
    """A tiny DNS server on the NOC DNS addresses (inside the edge namespace) that answers the
    fleet domain locally, so a gateway's DNS cache resolves offline."""
    domain = plan.domain.rstrip(".") + "."
    ns = plan.noc_dns[0]
    lines = [
        "server:",
        *(f"  interface: {a}" for a in (*plan.noc_dns, *plan.regulator_dns)),
        "  port: 53",
        "  do-ip6: no",
        '  chroot: ""',
        '  username: ""',
        f'  directory: "{state_dir}"',
        f'  pidfile: "{state_dir}/unbound.pid"',
        "  use-syslog: no",
        f'  logfile: "{state_dir}/unbound.log"',
        "  access-control: 0.0.0.0/0 allow",
        '  module-config: "iterator"',
        f'  local-zone: "{domain}" static',
        f'  local-data: "{domain} 300 IN SOA ns1.{domain} noc.{domain} 1 3600 600 86400 300"',
        f'  local-data: "{domain} 300 IN NS ns1.{domain}"',
        f'  local-data: "ns1.{domain} 300 IN A {ns}"',
        f'  local-data: "noc.{domain} 300 IN A {ns}"',
        f'  local-data: "{plan.hostname}.{domain} 300 IN A {plan.loopback}"',
        "remote-control:",
        "  control-enable: no",
    ]
    return "\n".join(lines) + "\n"


def edge_chrony_conf(plan: GatewayLabLayout, state_dir: str) -> str:
    """NTP server of the NOC stand-in in the edge namespace: serves its local clock (run with
    ``chronyd -x``: the clock is shared with the host and must never be stepped)."""
    lines = [
        f"pidfile {state_dir}/chronyd.pid",
        "local stratum 8",
        "allow all",
        "cmdport 0",
        "bindcmdaddress /",
    ]
    return "\n".join(lines) + "\n"


SYSLOG_RECEIVER = r"""
import socket, sys, threading, time
addr, path = sys.argv[1], sys.argv[2]
out = open(path, "a", buffering=1)
lock = threading.Lock()
def record(src, port, data):
    text = data.decode(errors="replace").replace(chr(10), " ")
    with lock:
        out.write("%.3f %s:%d %s%s" % (time.time(), src, port, text, chr(10)))
def stream(conn, src, port):
    with conn, conn.makefile("rb") as lines:
        for line in lines:
            if line.strip():
                record(src, port, line.rstrip(b"\r\n"))
def tcp():
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, 514))
    t.listen(16)
    while True:
        conn, (src, port) = t.accept()
        threading.Thread(target=stream, args=(conn, src, port), daemon=True).start()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, 514))
threading.Thread(target=tcp, daemon=True).start()
while True:
    data, (src, port) = s.recvfrom(65535)
    record(src, port, data)
"""
"""The NOC syslog stand-in on the edge: one line per message (receive time, source, message),
so tests read what a gateway sent, from where (a CGNAT'd source shows its public port). UDP 514
and TCP 514 (RFC 6587 newline framing, how the gateway sends its CGNAT block log)."""


# --------------------------------------------------------------------------- gateway boot


SSHD_DROP_IN = """\
# KopNet lab: the controller logs in with the lab user (password or key)
PasswordAuthentication yes
PidFile /run/sshd.pid
MaxStartups 100:30:200
MaxSessions 50
"""


def boot_script(plan: GatewayLabLayout, gw_dir: str) -> str:
    """Shell script run as the first process of the gateway's mount + UTS namespace.

    It gives the gateway its own view of ``/etc``, ``/var``, ``/usr`` (overlays whose upper
    layers live under ``gw_dir``) and fresh ``/run``, ``/tmp``, ``/home``, ``/root`` (tmpfs), then
    prepares a fresh-Debian-like box (host keys, lab user with sudo) and execs sshd in the
    foreground. The lab password comes from the environment, never from this file.
    """
    overlays = "\n".join(
        f"mkdir -p {gw_dir}/upper/{d} {gw_dir}/work/{d}\n"
        f"mount -t overlay overlay -o lowerdir=/{d},upperdir={gw_dir}/upper/{d},"
        f"workdir={gw_dir}/work/{d} /{d}"
        for d in ("etc", "usr", "var")
    )
    return f"""\
set -eu
pubkey=$(cat {gw_dir}/id_ed25519.pub)
{overlays}
for d in run tmp home root; do mount -t tmpfs -o nosuid,nodev,mode=0755 "tmpfs-$d" /$d; done
chmod 1777 /tmp
chmod 0700 /root
mkdir -p /run/lock /run/sshd /run/bird /run/unbound /run/chrony
chmod 1777 /run/lock
if id bird >/dev/null 2>&1; then chown bird:bird /run/bird; fi
if id _chrony >/dev/null 2>&1; then chown _chrony:_chrony /run/chrony; fi
hostname {plan.hostname}
echo {plan.hostname} > /etc/hostname
printf '127.0.1.1\\t{plan.hostname}\\n' >> /etc/hosts
rm -f /etc/ssh/ssh_host_*
# fresh host keys per gateway (RSA 2048: keygen time dominates the boot)
ssh-keygen -q -N '' -t rsa -b 2048 -f /etc/ssh/ssh_host_rsa_key
ssh-keygen -q -N '' -t ecdsa -f /etc/ssh/ssh_host_ecdsa_key
ssh-keygen -q -N '' -t ed25519 -f /etc/ssh/ssh_host_ed25519_key
if ! id {LAB_USER} >/dev/null 2>&1; then useradd -m -s /bin/bash {LAB_USER}; fi
mkdir -p /home/{LAB_USER}
echo "{LAB_USER}:$KOPNET_LAB_PASSWORD" | chpasswd
unset KOPNET_LAB_PASSWORD
install -d -m 0700 -o {LAB_USER} -g {LAB_USER} /home/{LAB_USER} /home/{LAB_USER}/.ssh
echo "$pubkey" > /home/{LAB_USER}/.ssh/authorized_keys
chown {LAB_USER}:{LAB_USER} /home/{LAB_USER}/.ssh/authorized_keys
chmod 0600 /home/{LAB_USER}/.ssh/authorized_keys
mkdir -p /etc/sudoers.d
echo '{LAB_USER} ALL=(ALL:ALL) NOPASSWD: ALL' > /etc/sudoers.d/kopnet-lab
chmod 0440 /etc/sudoers.d/kopnet-lab
mkdir -p /etc/ssh/sshd_config.d
cat > /etc/ssh/sshd_config.d/kopnet-lab.conf <<'EOF'
{SSHD_DROP_IN}EOF
exec /usr/sbin/sshd -D -e
"""
