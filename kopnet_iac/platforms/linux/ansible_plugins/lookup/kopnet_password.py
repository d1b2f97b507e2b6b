"""Ansible lookup ``kopnet_password``: the login password of the current gateway.

Production: the device's ``credentials`` secret, resolved like every KopNet secret
(``KOPNET_SECRET_<NAME>`` or the ansible-vault file). Lab (``kopnet_lab_dir`` set): the
lab-only password recorded by ``kopnet lab up``. The value is never logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

DOCUMENTATION = r"""
name: kopnet_password
short_description: Login password of a KopNet gateway
description: Resolves the gateway's credentials secret (or the lab password).
"""


class LookupModule(LookupBase):  # type: ignore[misc]
    def run(
        self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[str]:
        from kopnet_iac.errors import KopnetError
        from kopnet_iac.inventory.loader import load_inventory
        from kopnet_iac.inventory.secrets import resolve_secret
        from kopnet_iac.platforms.linux.gateway import lab_connection

        variables = variables or {}
        village = str(variables.get("kopnet_village", ""))
        root = str(variables.get("kopnet_inventory_dir", ""))
        name = str(variables.get("kopnet_credentials", ""))
        lab_dir = str(variables.get("kopnet_lab_dir") or "")
        try:
            inv = load_inventory(Path(root))
            if lab_dir:
                password = lab_connection(inv, village, Path(lab_dir)).password
                if password is None:
                    raise AnsibleLookupError(f"{village}: the lab recorded no gateway password")
                return [password]
            return [resolve_secret(inv, name)]
        except KopnetError as exc:
            raise AnsibleLookupError(f"{village}: gateway password: {exc}") from exc
