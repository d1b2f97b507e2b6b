"""Ansible's view of the fleet, derived from the KopNet inventory (no second source of truth).

Two shapes of the same data: :func:`ansible_inventory` is the ``--list`` JSON of a dynamic
inventory (what ``kopnet ansible-inventory`` prints); :func:`host_groups` feeds the ``kopnet``
inventory plugin. Passwords never appear: ``ansible_password`` is a lookup that resolves the
device's ``credentials`` secret (or the lab password) at connection time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kopnet_iac.errors import KopnetError
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.platforms.linux.gateway import GatewayConnection, connection

PASSWORD_LOOKUP = "{{ lookup('kopnet_password') }}"
GATEWAYS_GROUP = "gateways"


@dataclass(frozen=True)
class AnsibleHost:
    """One Ansible host with its variables and the groups it belongs to."""

    name: str
    groups: tuple[str, ...]
    variables: dict[str, Any]


def _group_name(prefix: str, value: str) -> str:
    return f"{prefix}_{value.replace('-', '_')}"


def host_vars(inv: Inventory, conn: GatewayConnection, lab_dir: Path | None) -> dict[str, Any]:
    """Variables of one gateway host (connection, KopNet context, service manager)."""
    village = inv.village(conn.village)
    profile = inv.fleet.partner_isp.uplinks[village.uplink.type]
    variables: dict[str, Any] = {
        "ansible_host": conn.host,
        "ansible_port": conn.port,
        "ansible_user": conn.username,
        "ansible_password": PASSWORD_LOOKUP,
        "ansible_python_interpreter": "/usr/bin/python3",
        "kopnet_village": conn.village,
        "kopnet_inventory_dir": str(inv.root.resolve()),
        "kopnet_credentials": conn.credentials,
        "kopnet_uplink_type": village.uplink.type,
        "kopnet_uplink_routing": profile.routing,
        "kopnet_service_manager": "lab" if conn.lab else "systemd",
        "kopnet_noc_syslog": inv.fleet.noc.syslog,
        "kopnet_network_backend": _network_backend(inv, conn),
    }
    if conn.key_file:
        variables["ansible_ssh_private_key_file"] = conn.key_file
        del variables["ansible_password"]
    elif conn.username != "root":
        # the admin user's sudo asks for the same password it logs in with
        variables["ansible_become_password"] = PASSWORD_LOOKUP
    if lab_dir is not None:
        variables["kopnet_lab_dir"] = str(lab_dir.resolve())
        # Lab namespaces are recreated with new host keys at every `kopnet lab up`.
        variables["ansible_ssh_common_args"] = (
            "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
        )
    return variables


def _network_backend(inv: Inventory, conn: GatewayConnection) -> str:
    device = next(d for d in inv.village(conn.village).devices if d.hostname == conn.hostname)
    return inv.hardware_of(device).network_backend


def gateway_hosts(
    inv: Inventory, village_ids: list[str] | None = None, lab_dir: Path | None = None
) -> list[AnsibleHost]:
    """The gateway hosts of the given villages (default: all; with a lab, those running)."""
    ids = sorted(inv.villages) if village_ids is None else village_ids
    hosts = []
    for village_id in ids:
        if lab_dir is not None and village_ids is None:
            try:
                conn = connection(inv, village_id, lab_dir)
            except KopnetError:  # not running in the lab: not part of the lab inventory
                continue
        else:
            conn = connection(inv, village_id, lab_dir)
        village = inv.village(village_id)
        groups = (
            GATEWAYS_GROUP,
            _group_name("village", village_id),
            _group_name("uplink", village.uplink.type),
        )
        hosts.append(AnsibleHost(conn.hostname, groups, host_vars(inv, conn, lab_dir)))
    return hosts


def ansible_inventory(
    inv: Inventory, village_ids: list[str] | None = None, lab_dir: Path | None = None
) -> dict[str, Any]:
    """Dynamic-inventory ``--list`` JSON: groups with hosts, ``_meta.hostvars``."""
    hosts = gateway_hosts(inv, village_ids, lab_dir)
    groups: dict[str, list[str]] = {}
    for host in hosts:
        for group in host.groups:
            groups.setdefault(group, []).append(host.name)
    result: dict[str, Any] = {
        "_meta": {"hostvars": {host.name: host.variables for host in hosts}},
        "all": {"children": ["ungrouped", *sorted(groups)]},
        "ungrouped": {"hosts": []},
    }
    for group, members in sorted(groups.items()):
        result[group] = {"hosts": sorted(members)}
    return result


def runner_inventory(hosts: list[AnsibleHost]) -> dict[str, Any]:
    """The same hosts in Ansible's YAML inventory shape (what ansible-runner writes to disk)."""
    children: dict[str, dict[str, Any]] = {}
    for host in hosts:
        for group in host.groups:
            children.setdefault(group, {"hosts": {}})["hosts"][host.name] = None
    return {
        "all": {
            "hosts": {host.name: dict(host.variables) for host in hosts},
            "children": children,
        }
    }
