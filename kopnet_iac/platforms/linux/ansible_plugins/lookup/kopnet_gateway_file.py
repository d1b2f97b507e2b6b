"""Ansible lookup ``kopnet_gateway_file``: one gateway configuration file for the current host.

``lookup('kopnet_gateway_file', 'bird.conf')`` renders it with KopNet's renderer from the
inventory in ``kopnet_inventory_dir`` (secrets substituted), or, when
``kopnet_gateway_source_dir`` is set, reads ``<hostname>.bird.conf`` from that folder (a
snapshot being restored); a file missing there yields ``__KOPNET_ABSENT__``, which the
``kopnet_config_files`` module skips (a file that did not exist before is left alone).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

ABSENT = "__KOPNET_ABSENT__"

DOCUMENTATION = r"""
name: kopnet_gateway_file
short_description: A KopNet-rendered gateway configuration file
description: Renders (or reads from kopnet_gateway_source_dir) one gateway file by name.
options:
  _terms:
    description: File names (bird.conf, nftables.conf, ...).
    required: true
"""


class LookupModule(LookupBase):  # type: ignore[misc]
    def run(
        self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[str]:
        variables = variables or {}
        hostname = str(variables.get("inventory_hostname", ""))
        source_dir = str(variables.get("kopnet_gateway_source_dir") or "")
        results: list[str] = []
        for term in terms:
            name = str(term)
            if source_dir:
                path = Path(source_dir) / f"{hostname}.{name}"
                if not path.exists():
                    results.append(ABSENT)
                    continue
                try:
                    text = path.read_text(encoding="utf-8")
                except OSError as exc:
                    raise AnsibleLookupError(f"{hostname}: cannot read {path}: {exc}") from exc
                if "@@secret:" in text:  # rendered ahead: secrets are substituted at push time
                    text = _substitute(variables, text)
                results.append(text)
                continue
            results.append(_render(variables, hostname, name))
        return results


def _render(variables: dict[str, Any], hostname: str, name: str) -> str:
    from kopnet_iac.errors import KopnetError
    from kopnet_iac.inventory.loader import load_inventory
    from kopnet_iac.platforms.linux.files import push_text, rendered_files

    village = str(variables.get("kopnet_village", ""))
    root = str(variables.get("kopnet_inventory_dir", ""))
    if not village or not root:
        raise AnsibleLookupError(f"{hostname}: kopnet_village/kopnet_inventory_dir not set")
    try:
        inv = load_inventory(Path(root))
        files = rendered_files(inv, village, hostname)
        if name not in files:
            raise AnsibleLookupError(f"{village}/{hostname}: no rendered file {name!r}")
        return push_text(inv, files[name])
    except KopnetError as exc:
        raise AnsibleLookupError(f"render failed: {exc}") from exc


def _substitute(variables: dict[str, Any], text: str) -> str:
    from kopnet_iac.errors import KopnetError
    from kopnet_iac.inventory.loader import load_inventory
    from kopnet_iac.platforms.linux.files import push_text

    try:
        return push_text(load_inventory(Path(str(variables.get("kopnet_inventory_dir")))), text)
    except KopnetError as exc:
        raise AnsibleLookupError(f"secret substitution failed: {exc}") from exc
