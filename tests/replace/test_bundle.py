"""Offline bundle: files, README, checksums, secrets never in clear."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kopnet_iac.cli.main import cli
from kopnet_iac.errors import KopnetError
from kopnet_iac.inventory.secrets import decrypt_vault, env_var_name
from kopnet_iac.replace.bundle import SUMS, VAULT, filled, verify_bundle, write_bundle
from kopnet_iac.replace.day0 import parse_cfg
from tests.conftest import EXAMPLE_FLEET, REPO_ROOT

CANARIES = {
    name: f"canary-{name}-Bx9"
    for name in ("core-admin", "radio-admin", "radius-secret", "snmp-community", "backhaul-key")
}


def _env() -> dict[str, str]:
    return {env_var_name(k): v for k, v in CANARIES.items()}


def _all_bytes(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.iterdir()))


def _bundle(tmp_path: Path, host: str, *extra: str) -> tuple[Path, Result]:
    out = tmp_path / host
    result = CliRunner().invoke(
        cli,
        [
            "--inventory",
            str(EXAMPLE_FLEET),
            "bundle",
            "lebung-itam",
            host,
            "--out",
            str(out),
            "--state",
            str(tmp_path / "state"),
            *extra,
        ],
        env=_env(),
        catch_exceptions=False,
    )
    return out, result


def test_routeros_bundle_with_placeholders(tmp_path: Path) -> None:
    out, result = _bundle(tmp_path, "core-lebung-itam")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "README.txt",
        SUMS,
        "core-lebung-itam.netinstall.rsc",
        "core-lebung-itam.run-after-reset.rsc",
    ]
    files = verify_bundle(out)
    script = files["core-lebung-itam.run-after-reset.rsc"].decode()
    assert "@@secret:core-admin@@" in script and "/system identity" in script
    assert "/user ssh-keys import public-key-file=kopnet-key0.pub user=noc" in script
    assert script.rstrip().endswith("core-lebung-itam.run-after-reset.rsc ]")
    readme = files["README.txt"].decode()
    assert "English" in readme and "Bahasa Indonesia" in readme
    assert "netinstall" in readme and "run-after-reset" in readme and "--verify-only" in readme
    assert not [v for v in CANARIES.values() if v.encode() in _all_bytes(out)]
    assert "placeholders: core-admin" in result.output


def test_airos_bundle_in_a_vault(tmp_path: Path) -> None:
    password_file = tmp_path / "vault-pass"
    password_file.write_text("bundle-pass\n")
    out, result = _bundle(tmp_path, "bh-lebung-itam-a", "--vault-password-file", str(password_file))
    assert result.exit_code == 0, result.output
    files = verify_bundle(out)
    assert set(files) == {"README.txt", "bh-lebung-itam-a.system.cfg", VAULT}
    config = files["bh-lebung-itam-a.system.cfg"].decode()
    assert parse_cfg(config)["resolv.host.1.name"] == "bh-lebung-itam-a"
    # never in clear anywhere in the bundle, but in the vault
    assert not [v for v in CANARIES.values() if v.encode() in _all_bytes(out)]
    values = decrypt_vault(out / VAULT, "bundle-pass")
    assert values == {n: CANARIES[n] for n in ("backhaul-key", "radio-admin", "snmp-community")}
    done = parse_cfg(filled("x.system.cfg", files["bh-lebung-itam-a.system.cfg"], values))
    assert done["aaa.1.wpa.psk"] == CANARIES["backhaul-key"]
    assert done["users.1.password"].startswith("$1$")  # a crypt hash, as airOS stores it
    assert "ansible-vault view" in files["README.txt"].decode()


@pytest.mark.parametrize("damage", ["truncate", "tamper", "delete", "sums"])
def test_a_damaged_bundle_is_rejected(tmp_path: Path, damage: str) -> None:
    out = tmp_path / "b"
    config = (
        Path(REPO_ROOT) / "tests/fixtures/render/lebung-itam/core-lebung-itam.rsc"
    ).read_text()
    write_bundle(out, village="lebung-itam", host="core", platform="routeros", config=config)
    verify_bundle(out)
    target = out / "core.run-after-reset.rsc"
    data = target.read_bytes()
    if damage == "truncate":
        target.write_bytes(data[: len(data) // 2])
    elif damage == "tamper":
        target.write_bytes(data.replace(b"disabled=yes", b"disabled=no", 1))
    elif damage == "delete":
        target.unlink()
    else:
        (out / SUMS).write_text("not a checksum line\n")
    with pytest.raises(KopnetError, match="bundle rejected") as info:
        verify_bundle(out)
    if damage in ("truncate", "tamper"):
        assert "core.run-after-reset.rsc: checksum mismatch" in str(info.value)


def test_bundle_usage_errors(tmp_path: Path) -> None:
    _, result = _bundle(tmp_path, "gw-lebung-itam")
    assert result.exit_code == 2
    _, result = _bundle(tmp_path, "no-such-host")
    assert result.exit_code == 2 and "no device" in result.output
