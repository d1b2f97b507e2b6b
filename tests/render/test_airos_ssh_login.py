"""airOS SSH password login follows ``noc.controller_key_login``: the controller's own login
must survive the configuration it pushes."""

from __future__ import annotations

from pathlib import Path

import pytest

from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.platforms.airos.lint import lint_airos
from kopnet_iac.render.renderer import Renderer
from tests.render.conftest import TEMPLATES

KEY_LINE = "  ssh_keys:\n"


def _radios(inventory: Path) -> list[dict[str, str]]:
    inv = load_inventory(inventory)
    artifacts = Renderer(TEMPLATES).render_villages(inv, sorted(inv.villages))
    radios = [a for a in artifacts if a.path.endswith(".cfg")]
    assert radios
    out = []
    for artifact in radios:
        assert not [f for f in lint_airos(artifact.text) if f.rule == "AIR-SVC-002"]
        out.append(dict(ln.split("=", 1) for ln in artifact.text.splitlines() if "=" in ln))
    return out


def _set_fleet(inventory: Path, *, key_login: bool | None, keys: bool = True) -> None:
    fleet = inventory / "fleet.yaml"
    text = fleet.read_text()
    assert text.count(KEY_LINE) == 1
    if key_login is not None:
        text = text.replace(
            KEY_LINE, f"  controller_key_login: {str(key_login).lower()}\n{KEY_LINE}"
        )
    if not keys:
        head, _, tail = text.partition(KEY_LINE)
        rest = tail.split("\n")
        while rest and rest[0].startswith("    - "):
            rest.pop(0)
        text = head + "  ssh_keys: []\n" + "\n".join(rest)
    fleet.write_text(text)


@pytest.mark.parametrize("key_login", [None, False])
def test_password_login_stays_enabled_by_default(
    inventory_copy: Path, key_login: bool | None
) -> None:
    _set_fleet(inventory_copy, key_login=key_login)
    for cfg in _radios(inventory_copy):
        assert cfg["sshd.auth.passwd"] == "enabled"
        assert cfg["sshd.auth.key.1.status"] == "enabled"  # keys are installed all the same
        assert cfg["sshd.auth.key.1.type"] == "ssh-ed25519"


def test_controller_key_login_disables_password_login(inventory_copy: Path) -> None:
    _set_fleet(inventory_copy, key_login=True)
    for cfg in _radios(inventory_copy):
        assert cfg["sshd.auth.passwd"] == "disabled"
        assert cfg["sshd.auth.key.1.status"] == "enabled"


def test_key_login_without_keys_keeps_password_login(inventory_copy: Path) -> None:
    _set_fleet(inventory_copy, key_login=True, keys=False)
    for cfg in _radios(inventory_copy):
        assert cfg["sshd.auth.passwd"] == "enabled"
        assert not any(k.startswith("sshd.auth.key.") for k in cfg)
