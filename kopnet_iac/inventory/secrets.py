"""Secret values, resolved only at push time.

The inventory names secrets (declared under ``secrets:`` in fleet.yaml); rendered artifacts carry
placeholders ``@@secret:NAME@@``. A value comes from, in order:

1. the environment variable declared for it (``env:``) or ``KOPNET_SECRET_<NAME>`` (upper case,
   ``-`` → ``_``);
2. the ansible-vault file (``vault:`` in fleet.yaml, default ``fleet.vault`` next to it): an
   encrypted YAML mapping ``name: value``, opened with the password from
   ``KOPNET_VAULT_PASSWORD`` or the file named by ``KOPNET_VAULT_PASSWORD_FILE``.

Values are never logged and never appear in error messages.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kopnet_iac.errors import SecretError

if TYPE_CHECKING:
    from kopnet_iac.inventory.loader import Inventory

log = logging.getLogger(__name__)

DEFAULT_VAULT = "fleet.vault"
PLACEHOLDER_RE = re.compile(r"@@secret:([a-z0-9][a-z0-9_-]{0,62})@@")


def placeholder(name: str) -> str:
    """The stable marker written into artifacts instead of a secret value."""
    return f"@@secret:{name}@@"


def env_var_name(name: str) -> str:
    """``radius-secret`` → ``KOPNET_SECRET_RADIUS_SECRET``."""
    return "KOPNET_SECRET_" + name.upper().replace("-", "_")


def vault_path(inv: Inventory) -> Path:
    return inv.root / (inv.fleet.vault or DEFAULT_VAULT)


def _vault_password(env: Mapping[str, str]) -> str | None:
    if env.get("KOPNET_VAULT_PASSWORD"):
        return env["KOPNET_VAULT_PASSWORD"]
    file = env.get("KOPNET_VAULT_PASSWORD_FILE")
    if file:
        try:
            return Path(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretError(f"cannot read KOPNET_VAULT_PASSWORD_FILE {file}: {exc}") from exc
    return None


def decrypt_vault(path: Path, password: str) -> dict[str, str]:
    """Open an ansible-vault file holding a YAML mapping of secret name → value."""
    from ansible.parsing.vault import AnsibleVaultError, VaultLib, VaultSecret

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SecretError(f"cannot read vault {path}: {exc}") from exc
    vault = VaultLib([("default", VaultSecret(password.encode("utf-8")))])
    try:
        plain = vault.decrypt(data)
    except AnsibleVaultError as exc:
        # the vault's own message names no values; keep only its type to be safe
        raise SecretError(f"cannot decrypt vault {path} (wrong password or not a vault)") from exc
    loaded: Any = yaml.safe_load(plain)
    if not isinstance(loaded, dict):
        raise SecretError(f"vault {path} must hold a mapping of secret name to value")
    return {str(k): str(v) for k, v in loaded.items()}


def encrypt_vault(values: Mapping[str, str], password: str) -> bytes:
    """Ansible-vault text for a mapping of secret name → value (tests, ``kopnet`` helpers)."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([("default", VaultSecret(password.encode("utf-8")))])
    text = yaml.safe_dump(dict(values), default_flow_style=False)
    result: bytes = vault.encrypt(text)
    return result


class SecretResolver:
    """Resolves many secrets of one inventory, decrypting the vault at most once."""

    def __init__(self, inv: Inventory, env: Mapping[str, str] | None = None) -> None:
        self.inv = inv
        self.env: Mapping[str, str] = os.environ if env is None else env
        self._vault: dict[str, str] | None = None

    def _from_vault(self, name: str) -> str | None:
        if self._vault is None:
            path = vault_path(self.inv)
            if not path.exists():
                return None
            password = _vault_password(self.env)
            if password is None:
                raise SecretError(
                    f"secret {name!r} is not in the environment and the vault {path.name} needs "
                    "KOPNET_VAULT_PASSWORD or KOPNET_VAULT_PASSWORD_FILE"
                )
            self._vault = decrypt_vault(path, password)
        return self._vault.get(name)

    def get(self, name: str) -> str:
        decl = self.inv.fleet.secrets.get(name)
        if decl is None:
            raise SecretError(f"secret {name!r} is not declared under secrets: in fleet.yaml")
        var = decl.env or env_var_name(name)
        value = self.env.get(var)
        if value is None:
            value = self._from_vault(name)
        if value is None:
            raise SecretError(
                f"secret {name!r} not found: set {var} or add it to the vault "
                f"{vault_path(self.inv).name}"
            )
        log.debug("resolved secret %s", name)
        return value


def resolve_secret(inv: Inventory, name: str, env: Mapping[str, str] | None = None) -> str:
    """The value of secret ``name`` (env var first, then the vault); ``SecretError`` if absent."""
    return SecretResolver(inv, env).get(name)


def substitute_secrets(inv: Inventory, text: str, env: Mapping[str, str] | None = None) -> str:
    """Replace every ``@@secret:NAME@@`` in ``text`` with its value (push time only)."""
    resolver = SecretResolver(inv, env)
    return PLACEHOLDER_RE.sub(lambda m: resolver.get(m.group(1)), text)


def referenced_secrets(text: str) -> set[str]:
    """Names of the placeholders in a rendered artifact."""
    return set(PLACEHOLDER_RE.findall(text))
