"""Field-grade gateway configs: deterministic CGNAT port blocks (traceable), the regulator's DNS
for subscribers, eBGP hardened with TCP-MD5 and GTSM. Rendered from the example fleet and from
edited copies; the daemons' own parsers accept every variant."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from kopnet_iac.errors import InventoryError
from kopnet_iac.inventory.addressing import village_addressing
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.platforms.linux.cgnat import layout, owner_of, port_blocks
from kopnet_iac.platforms.linux.files import rendered_files
from kopnet_iac.platforms.linux.gateway import gateway_device

VILLAGES = ["sukadana", "lebung-itam", "pematang-panggang"]
InventoryCopy = Callable[[Callable[[Path], None] | None], Inventory]
ELEMENT = re.compile(r"^\s+(\S+) : (\S+) \. (\d+)-(\d+),$", re.M)


def _files(inv: Inventory, village: str) -> dict[str, str]:
    return rendered_files(inv, village, gateway_device(inv, village).hostname)


def _edit_fleet(old: str, new: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        fleet = root / "inventory" / "fleet.yaml"
        text = fleet.read_text()
        assert old in text, old
        fleet.write_text(text.replace(old, new, 1))

    return edit


# --------------------------------------------------------------------------- CGNAT


def test_port_blocks_cover_every_subscriber_without_overlap() -> None:
    subs, pub = IPv4Network("100.64.8.0/22"), IPv4Network("198.18.0.16/29")
    blocks = port_blocks(subs, pub, 1024)
    assert [b.subscriber for b in blocks] == list(subs)
    seen: dict[IPv4Address, list[tuple[int, int]]] = {}
    for b in blocks:
        assert b.public in pub and 1024 <= b.first <= b.last <= 65535
        seen.setdefault(b.public, []).append((b.first, b.last))
    for ranges in seen.values():
        ranges.sort()
        assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges))
    assert layout(subs, pub, 1024) == (128, 504)


@pytest.mark.parametrize("first_port", [1024, 4096])
def test_owner_of_inverts_every_block(first_port: int) -> None:
    subs, pub = IPv4Network("100.64.0.0/24"), IPv4Network("198.18.0.0/30")
    for b in port_blocks(subs, pub, first_port):
        for port in (b.first, (b.first + b.last) // 2, b.last):
            assert owner_of(subs, pub, b.public, port, first_port) == b.subscriber
    assert owner_of(subs, pub, IPv4Address("198.18.0.9"), 2000, first_port) is None
    assert owner_of(subs, pub, pub[0], first_port - 1, first_port) is None


@pytest.mark.parametrize("village", VILLAGES)
def test_rendered_map_and_block_log_are_the_computed_table(inv: Inventory, village: str) -> None:
    files = _files(inv, village)
    addr = village_addressing(inv, village)
    expected = port_blocks(addr.subscribers, addr.public_nat, inv.fleet.cgnat.first_port)
    elements = [
        (IPv4Address(s), IPv4Address(p), int(lo), int(hi))
        for s, p, lo, hi in ELEMENT.findall(files["nftables.conf"])
    ]
    assert elements == [(b.subscriber, b.public, b.first, b.last) for b in expected]
    log_lines = [line for line in files["cgnat-blocks"].splitlines() if not line.startswith("#")]
    assert log_lines == [b.log_line(village) for b in expected]
    assert f"NOC syslog {inv.fleet.noc.syslog}" in files["cgnat-blocks"]
    assert f"retention {inv.fleet.cgnat.log_retention_days} days" in files["cgnat-blocks"]


def test_too_many_subscribers_per_public_address_is_an_inventory_error(
    inventory_copy: InventoryCopy,
) -> None:
    with pytest.raises(InventoryError, match="fewer than min_block 256"):
        inventory_copy(
            _edit_fleet(
                "public-nat: {prefix: 198.18.0.0/17, size: 29,",
                "public-nat: {prefix: 198.18.0.0/17, size: 32,",
            )
        )


# --------------------------------------------------------------------------- DNS policy


@pytest.mark.parametrize("village", VILLAGES)
def test_subscribers_resolve_through_the_regulator_resolver(inv: Inventory, village: str) -> None:
    files = _files(inv, village)
    regulator = inv.fleet.regulator_dns
    assert regulator is not None
    unbound = files["unbound.conf"]
    root_zone = unbound.split('forward-zone:\n  name: "."\n')[1].split("\n\n")[0]
    assert re.findall(r"forward-addr: (\S+)", root_zone) == regulator.resolvers
    fleet_zone = unbound.split(f'name: "{inv.fleet.fleet.domain}."\n')[1]
    assert re.findall(r"forward-addr: (\S+)", fleet_zone) == inv.fleet.noc.dns
    subs = village_addressing(inv, village).subscribers
    for proto in ("udp", "tcp"):
        assert f"ip saddr {subs} {proto} dport 53 redirect to :53" in files["nftables.conf"]


def test_without_a_regulator_resolver_the_noc_resolvers_serve_and_nothing_is_redirected(
    inventory_copy: InventoryCopy,
) -> None:
    def drop(root: Path) -> None:
        fleet = root / "inventory" / "fleet.yaml"
        text = fleet.read_text()
        start = text.index("regulator_dns:")
        end = text.index("\n\n", start)
        fleet.write_text(text[:start] + text[end + 2 :])

    inv = inventory_copy(drop)
    files = _files(inv, "sukadana")
    assert "redirect" not in files["nftables.conf"]
    zone = files["unbound.conf"].split('name: "."\n')[1]
    assert re.findall(r"forward-addr: (\S+)", zone) == inv.fleet.noc.dns


# --------------------------------------------------------------------------- eBGP hardening


def test_gtsm_is_on_by_default_and_no_password_without_isp_support(inv: Inventory) -> None:
    bird = _files(inv, "sukadana")["bird.conf"]
    assert "  ttl security on;" in bird
    assert "password" not in bird


def test_tcp_md5_password_is_a_secret_placeholder(inventory_copy: InventoryCopy) -> None:
    inv = inventory_copy(_with_bgp_password)
    bird = _files(inv, "sukadana")["bird.conf"]
    assert '  password "@@secret:isp-bgp@@";' in bird
    assert "ttl security" not in bird
    assert "password" not in _files(inv, "pematang-panggang")["bird.conf"]  # static uplink


def _with_bgp_password(root: Path) -> None:
    fleet = root / "inventory" / "fleet.yaml"
    text = fleet.read_text()
    text = text.replace(
        "  pop_asn: 65010\n",
        "  pop_asn: 65010\n  bgp_password_secret: isp-bgp\n  bgp_ttl_security: false\n",
    )
    text = text.replace("secrets:\n", "secrets:\n  isp-bgp: {description: eBGP TCP-MD5}\n", 1)
    fleet.write_text(text)


def test_an_undeclared_bgp_password_secret_is_named(inventory_copy: InventoryCopy) -> None:
    with pytest.raises(InventoryError, match=r"partner_isp\.bgp_password_secret: unknown secret"):
        inventory_copy(
            _edit_fleet("  pop_asn: 65010\n", "  pop_asn: 65010\n  bgp_password_secret: nope\n")
        )


# --------------------------------------------------------------------------- daemons accept them


@pytest.mark.skipif(not shutil.which("bird"), reason="bird not installed")
def test_bird_accepts_password_and_ttl_security(
    inventory_copy: InventoryCopy, tmp_path: Path
) -> None:
    def both(root: Path) -> None:
        _with_bgp_password(root)
        fleet = root / "inventory" / "fleet.yaml"
        fleet.write_text(
            fleet.read_text().replace("bgp_ttl_security: false", "bgp_ttl_security: true")
        )

    inv = inventory_copy(both)
    bird = _files(inv, "sukadana")["bird.conf"].replace("@@secret:isp-bgp@@", "canary-md5")
    path = tmp_path / "bird.conf"
    path.write_text(bird)
    subprocess.run(["bird", "-p", "-c", str(path)], check=True, capture_output=True)
