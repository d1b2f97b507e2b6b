"""The Linux gateway templates render for every example village and the daemons accept them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kopnet_iac.inventory.addressing import village_addressing
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.platforms.linux.files import FILE_NAMES, rendered_files
from kopnet_iac.platforms.linux.gateway import gateway_device

VILLAGES = ["sukadana", "lebung-itam", "pematang-panggang"]


def _files(inv: Inventory, village: str) -> dict[str, str]:
    return rendered_files(inv, village, gateway_device(inv, village).hostname)


@pytest.mark.parametrize("village", VILLAGES)
def test_every_gateway_file_renders(inv: Inventory, village: str) -> None:
    files = _files(inv, village)
    assert sorted(files) == sorted(FILE_NAMES)
    for name, text in files.items():
        assert text.endswith("\n"), name
        assert "@@secret:" not in text, name


@pytest.mark.parametrize("village", ["sukadana", "lebung-itam"])
def test_bgp_uplinks_peer_with_the_partner_isp(inv: Inventory, village: str) -> None:
    bird = _files(inv, village)["bird.conf"]
    addr = village_addressing(inv, village)
    isp = inv.fleet.partner_isp
    assert "protocol bgp isp" in bird
    assert f"define ISP_ASN = {isp.asn};" in bird
    assert f"define POP_ASN = {isp.pop_asn};" in bird
    assert f"local {addr.uplink_gateway.ip} as POP_ASN;" in bird
    assert f"define ISP_EDGE = {addr.uplink_edge.ip};" in bird
    assert "route 0.0.0.0/0" not in bird
    # only the default comes in, only the public NAT block goes out
    assert "if net = 0.0.0.0/0 then accept;" in bird
    assert (
        f"if net = {addr.public_nat} then {{ bgp_community.add((POP_ASN, 200)); accept; }}"
    ) in bird
    # the village's management prefixes go to the ISP for the NOC, tagged
    mgmt = [line for line in bird.splitlines() if "bgp_community.add((POP_ASN, 100))" in line]
    assert len(mgmt) == 1 and str(addr.management) in mgmt[0]
    for loopback in addr.loopbacks.values():
        assert f"{loopback}/32" in mgmt[0]


def test_vsat_uplink_has_a_static_default_and_no_bgp(inv: Inventory) -> None:
    bird = _files(inv, "pematang-panggang")["bird.conf"]
    addr = village_addressing(inv, "pematang-panggang")
    assert "protocol bgp" not in bird
    assert "route 0.0.0.0/0 via ISP_EDGE;" in bird
    assert f"define ISP_EDGE = {addr.uplink_edge.ip};" in bird


@pytest.mark.parametrize("village", VILLAGES)
def test_subscriber_pool_routed_via_core_and_natted(inv: Inventory, village: str) -> None:
    files = _files(inv, village)
    addr = village_addressing(inv, village)
    assert f"route {addr.subscribers} via CORE;" in files["bird.conf"]
    assert f"define CORE = {addr.gateway_core_core.ip};" in files["bird.conf"]
    nat = addr.public_nat
    port = inv.village(village).uplink.gateway_port
    assert (
        f'oifname "{port}" ip saddr {addr.subscribers} meta l4proto {{ tcp, udp }} '
        "snat ip to ip saddr map @cgnat_blocks"
    ) in files["nftables.conf"]
    # other protocols: the same public address per subscriber, by prefix
    assert (
        f'oifname "{port}" ip saddr {next(addr.subscribers.subnets(3))} snat to {nat[0]} '
        in (files["nftables.conf"])
    )


@pytest.mark.parametrize("village", VILLAGES)
def test_input_policy_admits_management_only_from_noc_and_village(
    inv: Inventory, village: str
) -> None:
    nft = _files(inv, village)["nftables.conf"]
    addr = village_addressing(inv, village)
    assert "type filter hook input priority filter; policy drop;" in nft
    for net in inv.fleet.noc.networks:
        assert net in nft
    assert f"elements = {{ {addr.management}, {addr.gateway_core} }}" in nft
    ssh_rules = [line.strip() for line in nft.splitlines() if "tcp dport 22 accept" in line]
    assert ssh_rules == [
        'ip saddr @noc tcp dport 22 accept comment "management from the NOC"',
        'ip saddr @village_mgmt tcp dport 22 accept comment "management from the village"',
    ]


def test_dns_cache_serves_the_village_and_forwards_to_the_noc(inv: Inventory) -> None:
    unbound = _files(inv, "sukadana")["unbound.conf"]
    addr = village_addressing(inv, "sukadana")
    assert f"access-control: {addr.subscribers} allow" in unbound
    assert "access-control: 0.0.0.0/0 refuse" in unbound
    for server in inv.fleet.noc.dns:
        assert f"forward-addr: {server}" in unbound
    assert f"gw-sukadana.sukadana.{inv.fleet.fleet.domain}. 300 IN A" in unbound


def test_sysctl_only_per_namespace_keys_and_forwarding_on(inv: Inventory) -> None:
    sysctl = _files(inv, "sukadana")["sysctl.conf"]
    keys = [line.split("=")[0].strip() for line in sysctl.splitlines() if "=" in line]
    assert "net.ipv4.ip_forward" in keys
    assert all(key.startswith("net.") for key in keys)


def _write_all(inv: Inventory, tmp_path: Path, name: str) -> list[Path]:
    paths = []
    for village in VILLAGES:
        path = tmp_path / f"{village}.{name}"
        path.write_text(_files(inv, village)[name])
        paths.append(path)
    return paths


@pytest.mark.skipif(shutil.which("bird") is None, reason="bird (BIRD 2) not installed")
def test_bird_accepts_rendered_configs(inv: Inventory, tmp_path: Path) -> None:
    for path in _write_all(inv, tmp_path, "bird.conf"):
        proc = subprocess.run(["bird", "-p", "-c", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, f"{path.name}: {proc.stderr}"


@pytest.mark.skipif(shutil.which("bird") is None, reason="bird (BIRD 2) not installed")
def test_bird_rejects_a_broken_config(tmp_path: Path) -> None:
    path = tmp_path / "broken.conf"
    path.write_text("protocol bgp isp {\n  neighbor 192.0.2.1 as ;\n}\n")
    proc = subprocess.run(["bird", "-p", "-c", str(path)], capture_output=True, text=True)
    assert proc.returncode != 0


@pytest.mark.skipif(shutil.which("unbound-checkconf") is None, reason="unbound not installed")
def test_unbound_accepts_rendered_configs(inv: Inventory, tmp_path: Path) -> None:
    for path in _write_all(inv, tmp_path, "unbound.conf"):
        proc = subprocess.run(["unbound-checkconf", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, f"{path.name}: {proc.stdout}{proc.stderr}"


@pytest.mark.skipif(shutil.which("chronyd") is None, reason="chrony not installed")
def test_chrony_accepts_rendered_configs(inv: Inventory, tmp_path: Path) -> None:
    for path in _write_all(inv, tmp_path, "chrony.conf"):
        proc = subprocess.run(["chronyd", "-p", "-f", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, f"{path.name}: {proc.stderr}"


@pytest.mark.root
@pytest.mark.skipif(shutil.which("nft") is None, reason="nftables not installed")
def test_nft_accepts_rendered_rulesets(inv: Inventory, tmp_path: Path) -> None:
    for path in _write_all(inv, tmp_path, "nftables.conf"):
        # in a throwaway network namespace: a check must not touch the host's ruleset
        proc = subprocess.run(
            ["unshare", "--net", "nft", "-c", "-f", str(path)], capture_output=True, text=True
        )
        assert proc.returncode == 0, f"{path.name}: {proc.stderr}"
