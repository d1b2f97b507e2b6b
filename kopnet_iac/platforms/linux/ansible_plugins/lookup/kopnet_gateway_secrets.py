"""Ansible lookup ``kopnet_gateway_secrets``: the secret values in the current host's files.

``query('kopnet_gateway_secrets')`` lists the values of every secret the gateway's files
reference (rendered from the inventory, or read from ``kopnet_gateway_source_dir``), so the
``kopnet_config_files`` module can mask them in its diffs and messages (its ``secrets`` option
is ``no_log``). A secret that cannot be resolved is left out: the file lookup itself fails on
it with the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

DOCUMENTATION = r"""
name: kopnet_gateway_secrets
short_description: Values of the secrets a KopNet gateway's files carry (to mask them)
description: Resolves every secret placeholder of the host's rendered (or source) files.
"""


class LookupModule(LookupBase):  # type: ignore[misc]
    def run(
        self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[str]:
        from kopnet_iac.errors import KopnetError
        from kopnet_iac.inventory.loader import load_inventory
        from kopnet_iac.platforms.linux.files import rendered_files, secret_values

        variables = variables or {}
        hostname = str(variables.get("inventory_hostname", ""))
        village = str(variables.get("kopnet_village", ""))
        root = str(variables.get("kopnet_inventory_dir", ""))
        source_dir = str(variables.get("kopnet_gateway_source_dir") or "")
        try:
            inv = load_inventory(Path(root))
            if source_dir:
                texts = [
                    p.read_text(encoding="utf-8", errors="replace")
                    for p in sorted(Path(source_dir).glob(f"{hostname}.*"))
                ]
            else:
                texts = list(rendered_files(inv, village, hostname).values())
            return secret_values(inv, texts)
        except (KopnetError, OSError) as exc:
            raise AnsibleLookupError(f"{village}/{hostname}: gateway secrets: {exc}") from exc
