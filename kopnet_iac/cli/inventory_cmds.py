"""``kopnet validate``, ``kopnet inventory show``, ``kopnet schema`` and ``kopnet addresses``."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from kopnet_iac.cli.context import EXIT_ERROR, AppContext, cli_errors, echo_json, pass_app
from kopnet_iac.errors import InventoryError, KopnetError
from kopnet_iac.inventory.addressing import VillageAddressing, addressing_dict, village_addressing
from kopnet_iac.inventory.loader import Inventory, load_inventory
from kopnet_iac.inventory.lockfile import LOCK_FILE, update_lock
from kopnet_iac.inventory.schema import SCHEMAS, json_schema


def _problems_json(exc: InventoryError) -> list[dict[str, Any]]:
    return [
        {
            "file": p.position.file,
            "line": p.position.line,
            "column": p.position.column,
            "field": p.field,
            "message": p.message,
        }
        for p in exc.problems
    ]


def _summary(inv: Inventory) -> dict[str, Any]:
    stale = sorted(set(inv.lock.villages) - set(inv.villages)) if inv.lock else []
    return {
        "villages": len(inv.villages),
        "devices": sum(len(v.devices) for v in inv.villages.values()),
        "links": sum(len(v.links) for v in inv.villages.values()),
        "hamlets": sum(len(v.hamlets) for v in inv.villages.values()),
        "stale_allocations": stale,
    }


def _unknown_village(inv: Inventory, village_id: str) -> KopnetError:
    known = ", ".join(sorted(inv.villages)) or "none"
    return KopnetError(f"unknown village {village_id!r} (villages: {known})")


# --------------------------------------------------------------------------- validate


@click.command("validate")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result.")
@pass_app
def validate_cmd(app: AppContext, as_json: bool) -> None:
    """Check the whole inventory: schema, references, addressing, regulation.

    Every problem is printed as FILE:LINE:COL: field.path: message; exit code 3 if any.
    """
    if as_json:
        try:
            inv = load_inventory(app.inventory_dir)
        except InventoryError as exc:
            echo_json({"ok": False, "problems": _problems_json(exc)})
            sys.exit(EXIT_ERROR)
        except KopnetError as exc:
            echo_json({"ok": False, "problems": [{"message": str(exc)}]})
            sys.exit(EXIT_ERROR)
        warnings = [
            {"position": str(w.position), "field": w.field, "message": w.message}
            for w in inv.warnings
        ]
        echo_json({"ok": True, "problems": [], "warnings": warnings, **_summary(inv)})
        return
    with cli_errors():
        inv = load_inventory(app.inventory_dir)
    for warning in inv.warnings:
        click.echo(f"warning: {warning}")
    s = _summary(inv)
    click.echo(
        f"inventory OK: {s['villages']} villages, {s['devices']} devices, "
        f"{s['links']} links, {s['hamlets']} hamlets"
    )
    if s["stale_allocations"]:
        click.echo(
            f"note: {LOCK_FILE} still holds {', '.join(s['stale_allocations'])}; "
            "`kopnet addresses update --prune` releases them"
        )


# --------------------------------------------------------------------------- schema


@click.command("schema")
@click.argument("kind", type=click.Choice(sorted(SCHEMAS)), default="village")
def schema_cmd(kind: str) -> None:
    """Print the JSON Schema of an inventory file (village, fleet, hardware or lock).

    \b
    For editor completion, save it and point yaml-language-server at it:
      kopnet schema village > .schema/village.json
      # yaml-language-server: $schema=../../.schema/village.json
    """
    click.echo(json.dumps(json_schema(kind), indent=2, sort_keys=True))


# --------------------------------------------------------------------------- inventory show


def _device_rows(
    inv: Inventory, village_id: str, addr: VillageAddressing | None
) -> list[dict[str, Any]]:
    village = inv.village(village_id)
    rows = []
    for device in village.devices:
        hw = inv.hardware.models.get(device.model)
        mgmt = addr.management_address(device.hostname) if addr else None
        rows.append(
            {
                "hostname": device.hostname,
                "role": device.role,
                "model": device.model,
                "platform": hw.platform if hw else None,
                "serial": device.serial,
                "management": str(mgmt) if mgmt else None,
                "credentials": device.credentials,
            }
        )
    return rows


def _show_data(inv: Inventory, village_id: str) -> dict[str, Any]:
    village = inv.village(village_id)
    try:
        addr: VillageAddressing | None = village_addressing(inv, village_id)
    except InventoryError:
        addr = None
    return {
        "id": village.id,
        "name": village.name,
        "district": village.district,
        "location": village.location.model_dump(),
        "uplink": village.uplink.model_dump(exclude_none=True),
        "devices": _device_rows(inv, village_id, addr),
        "links": [
            {
                "a": link.a,
                "b": link.b,
                "radio": link.radio.model_dump() if link.radio else None,
            }
            for link in village.links
        ],
        "hamlets": [h.model_dump() for h in village.hamlets],
        "services": village.services.model_dump(),
        "addressing": addressing_dict(addr) if addr else None,
    }


def _print_show(data: dict[str, Any]) -> None:
    console = Console()
    up = data["uplink"]
    console.print(
        f"[bold]{data['name']}[/bold] ({data['id']}), kecamatan {data['district']}; "
        f"uplink {up['type']} {up['bandwidth_mbps']} Mbit/s"
    )
    devices = Table(title="Devices")
    for col in ("hostname", "role", "model", "platform", "serial", "management", "credentials"):
        devices.add_column(col)
    for row in data["devices"]:
        devices.add_row(*(str(row[c] or "-") for c in row))
    console.print(devices)
    links = Table(title="Links")
    for col in ("a", "b", "radio"):
        links.add_column(col)
    for link in data["links"]:
        radio = link["radio"]
        text = (
            f"{radio['ssid']} {radio['frequency']} MHz/{radio['channel_width']} (ap {radio['ap']})"
            if radio
            else "cable"
        )
        links.add_row(link["a"], link["b"], text)
    console.print(links)
    hotspot = (data["addressing"] or {}).get("hotspot", {})
    hamlets = Table(title="Hamlets (dusun)")
    for col in ("id", "name", "vlan", "households", "sectors", "hotspot"):
        hamlets.add_column(col)
    for h in data["hamlets"]:
        sectors = ", ".join(
            f"{s['radio']} {s['ssid']} {s['frequency']}/{s['channel_width']}" for s in h["sectors"]
        )
        hamlets.add_row(
            h["id"],
            h["name"],
            str(h["vlan"]),
            str(h["households"] or "-"),
            sectors or "-",
            hotspot.get(h["id"], "-"),
        )
    console.print(hamlets)
    if data["addressing"] is None:
        console.print("[red]no address allocation[/red]: run `kopnet addresses update`")
    else:
        _print_addressing(console, data["id"], data["addressing"])


def _print_addressing(console: Console, village_id: str, addr: dict[str, Any]) -> None:
    table = Table(title=f"Addressing of {village_id}")
    table.add_column("what")
    table.add_column("address")
    for key in (
        "management",
        "management_gateway",
        "gateway_core",
        "gateway_core_gateway",
        "gateway_core_core",
        "uplink",
        "uplink_edge",
        "uplink_gateway",
        "subscribers",
        "pppoe_local",
        "public_nat",
    ):
        table.add_row(key, addr[key])
    table.add_row("pppoe_pool", f"{addr['pppoe_pool'][0]} - {addr['pppoe_pool'][1]}")
    for name, value in addr["loopbacks"].items():
        table.add_row(f"loopback {name}", value)
    for name, value in addr["device_management"].items():
        table.add_row(f"mgmt {name}", value)
    for name, value in addr["hotspot"].items():
        table.add_row(f"hotspot {name}", value)
    console.print(table)


@click.group("inventory")
def inventory_group() -> None:
    """Look at the inventory."""


@inventory_group.command("show")
@click.argument("village_id", metavar="VILLAGE")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def show_cmd(app: AppContext, village_id: str, as_json: bool) -> None:
    """Devices (platform, management address), links, hamlets and addressing of VILLAGE."""
    with cli_errors():
        inv = load_inventory(app.inventory_dir, check_lock=False)
        if village_id not in inv.villages:
            raise _unknown_village(inv, village_id)
        data = _show_data(inv, village_id)
    if as_json:
        echo_json(data)
    else:
        _print_show(data)


# --------------------------------------------------------------------------- addresses


@click.group("addresses")
def addresses_group() -> None:
    """The address plan (addresses.lock.yaml)."""


@addresses_group.command("update")
@click.option("--prune", is_flag=True, help="Release villages that left the inventory.")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@pass_app
def update_cmd(app: AppContext, prune: bool, dry_run: bool) -> None:
    """Allocate blocks for new villages, devices and hamlets; never renumber existing ones."""
    with cli_errors():
        inv = load_inventory(app.inventory_dir, check_lock=False)
        _, report = update_lock(inv, prune=prune, dry_run=dry_run)
    tentative = dry_run or bool(report.failed)
    for line in report.added:
        click.echo(f"{'would add' if tentative else 'added'}: {line}")
    for line in report.released:
        click.echo(f"{'would release' if tentative else 'released'}: {line}")
    for line in report.failed:
        click.echo(f"error: {line}", err=True)
    if report.failed:
        click.echo(f"{LOCK_FILE} left unchanged: enlarge or add a pool, then retry", err=True)
        sys.exit(EXIT_ERROR)
    if not report.changed:
        tidy = " (rewritten in canonical form)" if report.rewritten and not dry_run else ""
        click.echo(f"{LOCK_FILE} is up to date{tidy}")
    elif not dry_run:
        click.echo(f"{LOCK_FILE} updated: review and commit it")


@addresses_group.command("show")
@click.argument("village_id", metavar="[VILLAGE]", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def addresses_show_cmd(app: AppContext, village_id: str | None, as_json: bool) -> None:
    """The address plan of VILLAGE (or of every village)."""
    with cli_errors():
        inv = load_inventory(app.inventory_dir)
        if village_id is not None and village_id not in inv.villages:
            raise _unknown_village(inv, village_id)
        ids = [village_id] if village_id else sorted(inv.villages)
        plans = {vid: addressing_dict(village_addressing(inv, vid)) for vid in ids}
    if as_json:
        echo_json(plans if village_id is None else plans[village_id])
        return
    console = Console()
    for vid, addr in plans.items():
        _print_addressing(console, vid, addr)


def register(group: click.Group) -> None:
    """Add this module's commands to the top-level group."""
    group.add_command(validate_cmd)
    group.add_command(schema_cmd)
    group.add_command(inventory_group)
    group.add_command(addresses_group)
