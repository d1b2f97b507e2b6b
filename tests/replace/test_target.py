"""Where a replacement is looked for in the field, and with which logins (no device needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kopnet_iac.errors import KopnetError, SecretError
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.inventory.secrets import env_var_name
from kopnet_iac.replace.flow import ReplaceOptions
from kopnet_iac.replace.target import replace_target
from tests.conftest import EXAMPLE_FLEET

NOC_SECRET = "canary-core-admin-Tg2"


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env_var_name("core-admin"), NOC_SECRET)
    monkeypatch.setenv(env_var_name("radio-admin"), "canary-radio-admin-Tg2")


def _opts(village: str, host: str, **kw: object) -> ReplaceOptions:
    return ReplaceOptions(village=village, hostname=host, inventory_dir=EXAMPLE_FLEET, **kw)  # type: ignore[arg-type]


def test_routeros_with_an_empty_factory_password(secrets: None) -> None:
    inv = load_inventory(EXAMPLE_FLEET)
    target = replace_target(inv, _opts("lebung-itam", "core-lebung-itam"))
    assert target.platform == "routeros" and target.routeros is not None
    assert target.factory_address == "192.168.88.1"  # the catalogue's, without the prefix
    assert target.management == "10.90.0.1"  # the address plan's management address
    assert target.routeros.factory_logins == [("admin", "")]
    assert target.routeros.noc_login == (inv.fleet.noc.device_user, NOC_SECRET)
    assert target.routeros.port == 8728
    assert NOC_SECRET not in repr(target) and NOC_SECRET not in repr(target.routeros)


def test_label_password_is_required_then_tried_before_an_empty_one(secrets: None) -> None:
    inv = load_inventory(EXAMPLE_FLEET)
    with pytest.raises(KopnetError, match="label: give it with --password") as info:
        replace_target(inv, _opts("sukadana", "core-sukadana"))
    assert info.value.step == "select" and info.value.host == "core-sukadana"
    target = replace_target(
        inv, _opts("sukadana", "core-sukadana", password="LBL-1", address="10.9.9.9")
    )
    assert target.factory_address == "10.9.9.9"  # --address takes any address
    assert target.routeros is not None
    assert target.routeros.factory_logins == [("admin", "LBL-1"), ("admin", "")]


def test_airos_defaults(secrets: None) -> None:
    inv = load_inventory(EXAMPLE_FLEET)
    target = replace_target(inv, _opts("lebung-itam", "bh-lebung-itam-a"))
    assert target.airos is not None and target.routeros is None
    assert target.factory_address == "192.168.1.20"
    assert target.airos.factory_password == "ubnt"
    assert (target.airos.ssh_port, target.airos.https_port) == (22, 443)
    assert target.secret("radio-admin") == "canary-radio-admin-Tg2"


def test_unknown_names_and_the_gateway_are_usage_errors(secrets: None) -> None:
    inv = load_inventory(EXAMPLE_FLEET)
    with pytest.raises(KopnetError, match="unknown village 'nowhere'") as info:
        replace_target(inv, _opts("nowhere", "x"))
    assert info.value.step == "select"
    with pytest.raises(KopnetError, match="its devices: gw-lebung-itam, core-lebung-itam"):
        replace_target(inv, _opts("lebung-itam", "core-x"))
    with pytest.raises(KopnetError, match="kopnet gateway apply"):
        replace_target(inv, _opts("lebung-itam", "gw-lebung-itam"))


def test_a_missing_noc_secret_stops_before_any_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(env_var_name("core-admin"), raising=False)
    monkeypatch.delenv("KOPNET_VAULT_PASSWORD", raising=False)
    inv = load_inventory(EXAMPLE_FLEET)
    with pytest.raises(SecretError) as info:
        replace_target(inv, _opts("lebung-itam", "core-lebung-itam"))
    assert info.value.step == "secrets" and info.value.host == "core-lebung-itam"


def test_lab_without_a_running_lab(tmp_path: Path, secrets: None) -> None:
    inv = load_inventory(EXAMPLE_FLEET)
    with pytest.raises(KopnetError):
        replace_target(inv, _opts("lebung-itam", "core-lebung-itam", lab_dir=tmp_path / "lab"))
