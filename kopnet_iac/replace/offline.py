"""The offline bundle of one device from the village's current release (I/O around
:mod:`.bundle`)."""

from __future__ import annotations

from pathlib import Path

from kopnet_iac.deploy.intent import village_intent
from kopnet_iac.errors import KopnetError
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.inventory.secrets import PLACEHOLDER_RE, SecretResolver
from kopnet_iac.replace.bundle import Bundle, write_bundle
from kopnet_iac.replace.target import _device


def make_bundle(
    inventory_dir: Path,
    village: str,
    hostname: str,
    out: Path,
    *,
    state_dir: Path | None = None,
    vault_password: str | None = None,
) -> tuple[Bundle, str | None]:
    """Write the bundle; returns it and the release it came from (None: the working tree)."""
    from kopnet_iac.state import ReleaseStore

    inv = load_inventory(inventory_dir)
    device = _device(inv, village, hostname)
    platform = inv.hardware_of(device).platform
    if platform not in ("routeros", "airos"):
        raise KopnetError(
            f"no offline bundle for a {platform} device",
            village=village,
            host=hostname,
            step="select",
        )
    store = ReleaseStore.open(state_dir)
    release = store.last_successful(village)
    rendered = dict(release.rendered) if release is not None and release.rendered else None
    config = village_intent(inv, village, rendered=rendered).devices[hostname].config
    values: dict[str, str] = {}
    if vault_password is not None:
        resolver = SecretResolver(inv)
        for name in sorted(set(PLACEHOLDER_RE.findall(config))):
            values[name] = resolver.get(name)
    result = write_bundle(
        out,
        village=village,
        host=hostname,
        platform=platform,
        config=config,
        secret_values=values,
        vault_password=vault_password,
    )
    return result, release.id if release is not None else None


__all__ = ["make_bundle"]
