"""Secrets from the environment and from a real ansible-vault file (fake values only)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

from kopnet_iac.errors import SecretError
from kopnet_iac.inventory.loader import Inventory, load_inventory
from kopnet_iac.inventory.secrets import (
    decrypt_vault,
    encrypt_vault,
    env_var_name,
    placeholder,
    referenced_secrets,
    resolve_secret,
    substitute_secrets,
)
from tests.inventory.conftest import edit

VAULT_PW = "fake-vault-password"
VALUES = {
    "core-admin": "fake-core-pw-1",
    "radius-secret": "fake-radius-2",
    "wifi-sukadana": "fake-wifi-3",
}


def write_vault(path: Path, values: dict[str, str], password: str = VAULT_PW) -> None:
    """Encrypt like ``ansible-vault encrypt`` does, with ansible's own VaultLib."""
    vault = VaultLib([("default", VaultSecret(password.encode()))])
    path.write_bytes(vault.encrypt(yaml.safe_dump(values)))


@pytest.fixture
def inv(inv_dir: Path) -> Inventory:
    return load_inventory(inv_dir)


def test_env_var_name() -> None:
    assert env_var_name("radius-secret") == "KOPNET_SECRET_RADIUS_SECRET"
    assert env_var_name("wifi_pematang") == "KOPNET_SECRET_WIFI_PEMATANG"


def test_from_environment(inv: Inventory) -> None:
    env = {"KOPNET_SECRET_CORE_ADMIN": "fake-env-pw"}
    assert resolve_secret(inv, "core-admin", env) == "fake-env-pw"


def test_declared_env_var(inv_dir: Path) -> None:
    edit(
        inv_dir / "fleet.yaml",
        "core-admin: {description: core router admin password}",
        "core-admin: {description: core router admin password, env: CORE_PW}",
    )
    inv = load_inventory(inv_dir)
    assert resolve_secret(inv, "core-admin", {"CORE_PW": "fake-declared"}) == "fake-declared"
    with pytest.raises(SecretError, match="set CORE_PW"):
        resolve_secret(inv, "core-admin", {"KOPNET_SECRET_CORE_ADMIN": "ignored"})


def test_from_vault_with_password(inv: Inventory) -> None:
    write_vault(inv.root / "fleet.vault", VALUES)
    assert (inv.root / "fleet.vault").read_bytes().startswith(b"$ANSIBLE_VAULT;1.1;AES256")
    env = {"KOPNET_VAULT_PASSWORD": VAULT_PW}
    assert resolve_secret(inv, "radius-secret", env) == "fake-radius-2"


def test_from_vault_with_password_file(inv: Inventory, tmp_path: Path) -> None:
    write_vault(inv.root / "fleet.vault", VALUES)
    pw_file = tmp_path / "vault-pass"
    pw_file.write_text(VAULT_PW + "\n")
    env = {"KOPNET_VAULT_PASSWORD_FILE": str(pw_file)}
    assert resolve_secret(inv, "wifi-sukadana", env) == "fake-wifi-3"


def test_environment_wins_over_vault(inv: Inventory) -> None:
    write_vault(inv.root / "fleet.vault", VALUES)
    env = {"KOPNET_VAULT_PASSWORD": VAULT_PW, "KOPNET_SECRET_CORE_ADMIN": "fake-override"}
    assert resolve_secret(inv, "core-admin", env) == "fake-override"


def test_vault_named_in_fleet(inv_dir: Path) -> None:
    edit(inv_dir / "fleet.yaml", "\nsecrets:\n", "\nvault: secrets/oki.vault\nsecrets:\n")
    (inv_dir / "secrets").mkdir()
    write_vault(inv_dir / "secrets" / "oki.vault", VALUES)
    inv = load_inventory(inv_dir)
    assert (
        resolve_secret(inv, "core-admin", {"KOPNET_VAULT_PASSWORD": VAULT_PW}) == "fake-core-pw-1"
    )


def test_wrong_vault_password(inv: Inventory) -> None:
    write_vault(inv.root / "fleet.vault", VALUES)
    with pytest.raises(SecretError) as info:
        resolve_secret(inv, "core-admin", {"KOPNET_VAULT_PASSWORD": "not-it"})
    assert "wrong password" in str(info.value)
    assert "not-it" not in str(info.value) and "fake-core" not in str(info.value)


def test_vault_without_password(inv: Inventory) -> None:
    write_vault(inv.root / "fleet.vault", VALUES)
    with pytest.raises(SecretError, match="KOPNET_VAULT_PASSWORD"):
        resolve_secret(inv, "core-admin", {})


def test_missing_everywhere(inv: Inventory) -> None:
    write_vault(inv.root / "fleet.vault", VALUES)
    with pytest.raises(SecretError) as info:
        resolve_secret(inv, "radio-admin", {"KOPNET_VAULT_PASSWORD": VAULT_PW})
    assert "KOPNET_SECRET_RADIO_ADMIN" in str(info.value)
    assert not any(v in str(info.value) for v in VALUES.values())


def test_no_vault_no_env(inv: Inventory) -> None:
    with pytest.raises(SecretError, match="secret 'gw-admin' not found"):
        resolve_secret(inv, "gw-admin", {})


def test_undeclared_secret(inv: Inventory) -> None:
    with pytest.raises(SecretError, match="not declared"):
        resolve_secret(inv, "root-password", {"KOPNET_SECRET_ROOT_PASSWORD": "fake"})


def test_vault_must_hold_a_mapping(inv: Inventory) -> None:
    vault = VaultLib([("default", VaultSecret(VAULT_PW.encode()))])
    (inv.root / "fleet.vault").write_bytes(vault.encrypt("- just\n- a list\n"))
    with pytest.raises(SecretError, match="mapping"):
        resolve_secret(inv, "core-admin", {"KOPNET_VAULT_PASSWORD": VAULT_PW})


def test_substitute_placeholders(inv: Inventory) -> None:
    write_vault(inv.root / "fleet.vault", VALUES)
    text = (
        f"/user set admin password={placeholder('core-admin')}\n"
        f"/radius add secret={placeholder('radius-secret')}\n"
        f"wpa={placeholder('wifi-sukadana')} again={placeholder('core-admin')}\n"
    )
    assert referenced_secrets(text) == {"core-admin", "radius-secret", "wifi-sukadana"}
    out = substitute_secrets(inv, text, {"KOPNET_VAULT_PASSWORD": VAULT_PW})
    assert out == (
        "/user set admin password=fake-core-pw-1\n"
        "/radius add secret=fake-radius-2\n"
        "wpa=fake-wifi-3 again=fake-core-pw-1\n"
    )
    assert "@@secret:" not in out


def test_substitute_fails_on_a_missing_secret(inv: Inventory) -> None:
    with pytest.raises(SecretError):
        substitute_secrets(inv, f"x={placeholder('gw-admin')}", {})


def test_encrypt_helper_is_ansible_compatible(tmp_path: Path) -> None:
    path = tmp_path / "v.vault"
    path.write_bytes(encrypt_vault({"a": "fake-a"}, VAULT_PW))
    vault = VaultLib([("default", VaultSecret(VAULT_PW.encode()))])
    assert yaml.safe_load(vault.decrypt(path.read_bytes())) == {"a": "fake-a"}
    assert decrypt_vault(path, VAULT_PW) == {"a": "fake-a"}


def test_unreadable_password_file(inv: Inventory, tmp_path: Path) -> None:
    write_vault(inv.root / "fleet.vault", VALUES)
    with pytest.raises(SecretError, match="cannot read KOPNET_VAULT_PASSWORD_FILE"):
        resolve_secret(inv, "core-admin", {"KOPNET_VAULT_PASSWORD_FILE": str(tmp_path / "absent")})


def test_vault_is_decrypted_once_per_resolver(inv: Inventory) -> None:
    from kopnet_iac.inventory.secrets import SecretResolver

    write_vault(inv.root / "fleet.vault", VALUES)
    resolver = SecretResolver(inv, {"KOPNET_VAULT_PASSWORD": VAULT_PW})
    assert resolver.get("core-admin") == "fake-core-pw-1"
    (inv.root / "fleet.vault").write_bytes(b"not a vault any more")
    assert resolver.get("radius-secret") == "fake-radius-2"  # served from the opened vault
    with pytest.raises(SecretError, match="wrong password or not a vault"):
        SecretResolver(inv, {"KOPNET_VAULT_PASSWORD": VAULT_PW}).get("core-admin")
