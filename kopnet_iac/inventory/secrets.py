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
from collections.abc import Callable, Mapping
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
    return _load_plain(path, plain)


def _load_plain(path: Path, plain: bytes) -> dict[str, str]:
    """The decrypted mapping. Errors name the vault and a line number, never decrypted text:
    YAML's own messages quote the offending line, so they are dropped (``from None``)."""
    try:
        loaded: Any = yaml.safe_load(plain)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise SecretError(
            f"vault {path}: decrypted content is not valid YAML{where} "
            "(edit it with `ansible-vault edit`)"
        ) from None
    if not isinstance(loaded, dict):
        raise SecretError(f"vault {path} must hold a mapping of secret name to value")
    out: dict[str, str] = {}
    for k, v in loaded.items():
        if not isinstance(k, str) or isinstance(v, dict | list) or v is None:
            raise SecretError(
                f"vault {path}: every entry must be `name: value` (a text value); "
                f"entry #{len(out) + 1} is not"
            )
        out[k] = str(v)
    return out


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


PLATFORMS = ("routeros", "airos", "linux")
# A double-quoted string on one line (RouterOS and the gateway configs), or a placeholder.
_QUOTED_OR_PLACEHOLDER = re.compile(r'"(?:[^"\\\n]|\\.)*"|' + PLACEHOLDER_RE.pattern)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LINUX_UNQUOTED_BAD = re.compile(r"[\s\"'\\#;{}]")


def _refuse(name: str, platform: str, reason: str) -> SecretError:
    # Names the secret and what is wrong with it, never the value.
    return SecretError(f"secret {name!r} cannot be written into {platform} configuration: {reason}")


def _routeros_sub(text: str, value_of: Callable[[str], str]) -> str:
    from kopnet_iac.platforms.routeros.emitter import escape, quote

    def inside(m: re.Match[str]) -> str:
        return escape(value_of(m.group(1)))

    def outer(m: re.Match[str]) -> str:
        if m.group(1) is not None:  # a bare placeholder: the value becomes one quoted word
            return quote(value_of(m.group(1)))
        return PLACEHOLDER_RE.sub(inside, m.group())  # inside a quoted string: escape only

    return _QUOTED_OR_PLACEHOLDER.sub(outer, text)


def _airos_sub(text: str, value_of: Callable[[str], str]) -> str:
    # system.cfg is flat key=value lines without quoting or escapes: the value runs to the end
    # of the line, so only a line break (or another control character) could break out.
    def one(m: re.Match[str]) -> str:
        value = value_of(m.group(1))
        if _CONTROL.search(value):
            raise _refuse(m.group(1), "airos", "it contains a control character")
        return value

    return PLACEHOLDER_RE.sub(one, text)


def _linux_sub(text: str, value_of: Callable[[str], str]) -> str:
    # Gateway files are several formats (BIRD, nftables, unbound, chrony, sshd) without one
    # escape syntax: a value is written only where it cannot change the syntax around it.
    def inside(m: re.Match[str]) -> str:
        value = value_of(m.group(1))
        if _CONTROL.search(value) or '"' in value or "\\" in value:
            raise _refuse(
                m.group(1), "linux", 'a quoted value cannot hold ", \\ or control characters'
            )
        return value

    def outer(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return PLACEHOLDER_RE.sub(inside, m.group())
        value = value_of(m.group(1))
        if not value or _CONTROL.search(value) or _LINUX_UNQUOTED_BAD.search(value):
            raise _refuse(
                m.group(1),
                "linux",
                "an unquoted value must be one word without quotes, "
                "backslash, #, ; or braces (quote the placeholder in the template)",
            )
        return value

    return _QUOTED_OR_PLACEHOLDER.sub(outer, text)


def substitute_secrets(
    inv: Inventory,
    text: str,
    env: Mapping[str, str] | None = None,
    *,
    platform: str | None = None,
) -> str:
    """Replace every ``@@secret:NAME@@`` in ``text`` with its value (push time only).

    ``platform`` says which syntax the text is in, so a value cannot break it (a password
    holding ``"``, ``\\`` or ``$`` must not end a RouterOS string or inject script):

    * ``"routeros"``: inside a quoted string the value is escaped (``\\"``, ``\\\\``,
      ``\\$``, ``\\?``, control characters); a bare placeholder becomes a properly quoted value;
    * ``"airos"``: ``system.cfg`` has no quoting; a value with a control character (a line
      break would add a key) is refused;
    * ``"linux"``: gateway files have no common escape syntax; a value that would need
      escaping is refused;
    * ``None``: the value verbatim (formats with no syntax of their own).

    A refused value raises :class:`SecretError` naming the secret, never its value.
    """
    resolver = SecretResolver(inv, env)
    if platform is None:
        return PLACEHOLDER_RE.sub(lambda m: resolver.get(m.group(1)), text)
    subs = {"routeros": _routeros_sub, "airos": _airos_sub, "linux": _linux_sub}
    sub = subs.get(platform)
    if sub is None:
        raise SecretError(f"unknown platform {platform!r} for secrets (one of {PLATFORMS})")
    return sub(text, resolver.get)


def referenced_secrets(text: str) -> set[str]:
    """Names of the placeholders in a rendered artifact."""
    return set(PLACEHOLDER_RE.findall(text))
