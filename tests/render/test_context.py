"""Template context, helpers and the synthetic fleet generator."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks.fleetgen import generate_fleet
from kopnet_iac.cli.main import cli
from kopnet_iac.errors import RenderError
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.render.context import device_context, device_links, secret_placeholder
from kopnet_iac.render.environment import format_rate, posix_tz, rate_bps, rate_percent, ros_quote
from kopnet_iac.render.manifest import load_manifest
from kopnet_iac.render.renderer import Renderer
from tests.render.conftest import EXAMPLE_INVENTORY, TEMPLATES

INV = load_inventory(EXAMPLE_INVENTORY)


def test_context_has_the_contract_keys() -> None:
    ctx = device_context(INV, "sukadana", "core-sukadana")
    contract = {"fleet", "village", "device", "hardware", "addr", "devices", "links"}
    contract |= {"uplink_profile", "plans", "hamlets", "secret"}
    assert contract <= set(ctx)
    assert ctx["secret"]("radius-secret") == "@@secret:radius-secret@@"  # type: ignore[operator]
    assert [p.name for p in ctx["plans"]] == [
        "hemat-5",
        "keluarga-10",
        "usaha-20",
        "voucher-harian",
        "voucher-mingguan",
    ]  # type: ignore[attr-defined]
    assert ctx["uplink_profile"].routing == "bgp"  # type: ignore[attr-defined]
    assert sorted(ctx["devices"]) == [
        "core-sukadana",
        "gw-sukadana",
        "sec-sukadana-1",
        "sec-sukadana-2",
    ]  # type: ignore[arg-type]


def test_device_links_seen_from_each_side() -> None:
    village = INV.village("lebung-itam")
    a = device_links(village, "bh-lebung-itam-a")
    b = device_links(village, "bh-lebung-itam-b")
    assert a == [
        {
            "local_port": "ath0",
            "peer": "bh-lebung-itam-b",
            "peer_port": "ath0",
            "radio": a[0]["radio"],
        }
    ]
    assert a[0]["radio"].ap == "bh-lebung-itam-a"
    assert [(x["local_port"], x["peer"]) for x in b] == [
        ("ath0", "bh-lebung-itam-a"),
        ("eth0", "gw-lebung-itam"),
    ]


def test_core_ports_follow_links_through_ptp_hops() -> None:
    ports = device_context(INV, "pematang-panggang", "core-pematang")["ports"]
    table = {p["port"]: (p["peer"], [h.id for h in p["hamlets"]], p["pvid"]) for p in ports}  # type: ignore[attr-defined]
    assert table["ether1"] == ("gw-pematang", [], None)
    assert table["ether2"] == ("sec-pematang-1", ["dusun-1"], 121)
    assert table["ether4"] == ("bh-pematang-a", ["dusun-3"], 123)


def test_unknown_device_and_village() -> None:
    with pytest.raises(RenderError, match="unknown device"):
        device_context(INV, "sukadana", "nope")
    with pytest.raises(RenderError, match="unknown village"):
        device_context(INV, "nowhere", "core-sukadana")


def test_undeclared_secret_raises() -> None:
    ctx = device_context(INV, "sukadana", "core-sukadana")
    with pytest.raises(RenderError, match="not declared"):
        ctx["secret"]("typo-secret")  # type: ignore[operator]


@pytest.mark.parametrize(
    ("rate", "bps"), [("750k", 750_000), ("15M", 15_000_000), ("1G", 1_000_000_000), ("64", 64)]
)
def test_rates(rate: str, bps: int) -> None:
    assert rate_bps(rate) == bps
    assert format_rate(rate_bps(rate)) == rate


def test_rate_percent_and_quoting() -> None:
    assert rate_percent("15M", 75) == "11250k"
    assert rate_percent("7M", 75) == "5250k"
    with pytest.raises(ValueError):
        rate_bps("fast")
    assert ros_quote("ether1") == "ether1"
    assert ros_quote("Dusun I Lebung") == '"Dusun I Lebung"'
    assert ros_quote('a"b$c\\') == '"a\\"b\\$c\\\\"'
    assert ros_quote(secret_placeholder("x")) == '"@@secret:x@@"'
    assert posix_tz("Asia/Jakarta") == "WIB-7" and posix_tz("Asia/Jayapura") == "WIT-9"
    with pytest.raises(ValueError):
        posix_tz("Europe/Paris")


def test_manifest_maps_platform_roles() -> None:
    manifest = load_manifest(TEMPLATES)
    assert [s.suffix for s in manifest.outputs("routeros", "core-router")] == [".rsc"]
    (airos,) = manifest.outputs("airos", "sector-radio")
    assert airos.postprocess == ("sort-lines",)
    assert manifest.outputs("routeros", "nonexistent-role") == ()


def test_bad_manifest_is_a_render_error(tmp_path: Path) -> None:
    (tmp_path / "manifest.yaml").write_text("routeros:\n  core-router:\n    - {template: x.j2}\n")
    with pytest.raises(RenderError, match="suffix"):
        load_manifest(tmp_path)
    with pytest.raises(RenderError, match="cannot read"):
        load_manifest(tmp_path / "missing")


def test_generated_fleet_is_valid_and_renders(tmp_path: Path) -> None:
    summary = generate_fleet(tmp_path / "inventory", villages=12, seed=7)
    inv = load_inventory(tmp_path / "inventory")
    assert len(inv.villages) == 12 and summary.devices == sum(
        len(v.devices) for v in inv.villages.values()
    )
    platforms = {inv.hardware_of(d).platform for v in inv.villages.values() for d in v.devices}
    assert platforms == {"linux", "routeros", "airos"}
    assert {v.uplink.type for v in inv.villages.values()} == {"fiber", "ptp-radio", "vsat"}
    out = tmp_path / "build"
    result = CliRunner().invoke(
        cli,
        ["--inventory", str(tmp_path / "inventory"), "render", "--all", "--out", str(out),
         "--templates", str(TEMPLATES)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len([p for p in out.iterdir() if p.is_dir()]) == 12
    # same seed, same fleet: byte for byte
    generate_fleet(tmp_path / "again", villages=12, seed=7)
    for path in sorted((tmp_path / "inventory").rglob("*.yaml")):
        again = tmp_path / "again" / path.relative_to(tmp_path / "inventory")
        assert again.read_bytes() == path.read_bytes()


def test_port_leading_to_several_hamlets_carries_them_tagged(inventory_copy: Path) -> None:
    village = inventory_copy / "villages" / "sukadana.yaml"
    village.write_text(
        village.read_text().replace(
            '{a: "core-sukadana:ether3", b: "sec-sukadana-2:eth0"}',
            '{a: "sec-sukadana-1:sfp1", b: "sec-sukadana-2:eth0"}',
        )
    )
    inv = load_inventory(inventory_copy)
    ports = device_context(inv, "sukadana", "core-sukadana")["ports"]
    by_port = {p["port"]: p for p in ports}  # type: ignore[attr-defined]
    assert [h.id for h in by_port["ether2"]["hamlets"]] == ["dusun-1", "dusun-2"]
    assert by_port["ether2"]["pvid"] is None and "ether3" not in by_port
    text = Renderer(TEMPLATES).render_villages(inv, ["sukadana"])
    core = next(a.text for a in text if a.host == "core-sukadana")
    assert "add bridge=bridge-pop tagged=bridge-pop,ether2 vlan-ids=101" in core
    assert "add bridge=bridge-pop tagged=bridge-pop,ether2 vlan-ids=102" in core
    assert "interface=ether2 pvid=" not in core
