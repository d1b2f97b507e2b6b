"""Ansible inventory plugin ``kopnet``: the gateways of a KopNet inventory.

Config file (``*.kopnet.yml``/``kopnet.yml``)::

    plugin: kopnet
    inventory_dir: ../../inventory   # relative to this file
    lab: false                       # true: the running lab's gateways (kopnet lab up)
    lab_dir: ""                      # default: $KOPNET_LAB_DIR or .kopnet/lab
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin

DOCUMENTATION = r"""
name: kopnet
short_description: Village gateways from a KopNet inventory
description:
  - Hosts, groups (gateways, village_<id>, uplink_<type>) and variables of the Linux gateways,
    derived from the KopNet inventory folder. Passwords are lookups, never inline.
options:
  plugin:
    description: Must be C(kopnet).
    required: true
    choices: [kopnet]
  inventory_dir:
    description: KopNet inventory folder, relative to this config file.
    type: str
    default: inventory
  lab:
    description: Use the running lab's gateways instead of production addresses.
    type: bool
    default: false
  lab_dir:
    description: Lab folder (default $KOPNET_LAB_DIR or .kopnet/lab).
    type: str
    default: ""
"""


class InventoryModule(BaseInventoryPlugin):  # type: ignore[misc]
    NAME = "kopnet"
    # Our variables come from the reviewed KopNet inventory and include templates (the
    # ansible_password lookup), so they must be trusted as templates (ansible-core >= 2.19).
    trusted_by_default = True

    def verify_file(self, path: str) -> bool:
        return bool(super().verify_file(path)) and path.endswith(("kopnet.yml", "kopnet.yaml"))

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        from kopnet_iac.errors import KopnetError
        from kopnet_iac.inventory.loader import load_inventory
        from kopnet_iac.inventory.targets import named_source
        from kopnet_iac.platforms.linux.inventory import gateway_hosts

        base = Path(path).resolve().parent
        root = (base / str(self.get_option("inventory_dir"))).resolve()
        lab_dir = None
        try:
            if self.get_option("lab"):  # the registered ``lab`` target source
                source = named_source("lab", self.get_option("lab_dir") or None)
                lab_dir = Path(source.location)
            inv = load_inventory(root)
            hosts = gateway_hosts(inv, None, lab_dir)
        except KopnetError as exc:
            raise AnsibleParserError(f"kopnet inventory {root}: {exc}") from exc
        for host in hosts:
            for group in host.groups:
                self.inventory.add_group(group)
                self.inventory.add_host(host.name, group=group)
            for key, value in host.variables.items():
                self.inventory.set_variable(host.name, key, value)
