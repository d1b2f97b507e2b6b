"""Where a replaced device answers and with which logins, in the field or in the lab.

Field: the factory address is the catalogue's (``hardware.yaml`` ``factory.address``, e.g.
192.168.88.1 on a laptop cabled to the device) unless ``--address`` names another; the
management address is the village's address plan; the NOC account is ``fleet.noc.device_user``
with the device's ``credentials`` secret.

Lab (``--lab``): the lab runs every device on a loopback address of its own, factory state
included, so both addresses are the device's lab address. The NOC account gets the lab
password (``lab-<hostname>``), which the lab reports for the device from then on, so later lab
deploys log in with it as they do on every lab device.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kopnet_iac.errors import KopnetError, SecretError
from kopnet_iac.inventory.models import Device
from kopnet_iac.replace.airos import AirOSFactory
from kopnet_iac.replace.routeros import Probe, RouterOSFactory

if TYPE_CHECKING:
    from kopnet_iac.inventory.loader import Inventory
    from kopnet_iac.replace.flow import ReplaceOptions

API_PORT = 8728
SSH_PORT = 22
HTTPS_PORT = 443


@dataclass
class ReplaceTarget:
    """One device to replace: inventory facts, addresses, the platform's factory helper."""

    village: str
    device: Device
    platform: str
    factory_address: str
    management: str
    noc_password: str = field(repr=False)
    secrets: Any = field(repr=False)
    routeros: RouterOSFactory | None = None
    airos: AirOSFactory | None = None
    ssh_port: int = SSH_PORT

    def secret(self, name: str) -> str:
        value = self.secrets.get(name)
        if value is None:
            raise SecretError(
                f"secret {name!r} not found",
                village=self.village,
                host=self.device.hostname,
                step="day0",
            )
        return str(value)

    def probe(self) -> Probe:
        if self.routeros is not None:
            return self.routeros.probe(self.management)
        assert self.airos is not None
        return self.airos.probe(self.management)

    def round_trips(self) -> int:
        helper: Any = self.routeros or self.airos
        return int(helper.round_trips)

    def forget_old_keys(self) -> None:
        """New hardware has a new SSH host key: drop the pins of the old device and of the
        factory address (every factory-fresh device shares it); the next SSH login records
        the new key."""
        from kopnet_iac.transport.hostkeys import HostKeyStore

        store = HostKeyStore.open()
        store.forget(self.device.hostname)
        store.forget(self.management, self.ssh_port)
        store.forget(self.factory_address, self.ssh_port)


def _device(inv: Inventory, village: str, hostname: str) -> Device:
    if village not in inv.villages:
        known = ", ".join(sorted(inv.villages))
        raise KopnetError(f"unknown village {village!r} (known: {known})", step="select")
    devices = inv.village(village).devices
    for device in devices:
        if device.hostname == hostname:
            return device
    names = ", ".join(d.hostname for d in devices)
    raise KopnetError(
        f"no device {hostname!r} in the village (its devices: {names})",
        village=village,
        step="select",
    )


def replace_target(inv: Inventory, opts: ReplaceOptions) -> ReplaceTarget:
    """Addresses, logins and secrets of ``opts.hostname`` (see the module docstring)."""
    from kopnet_iac.deploy.runner import SecretOverlay
    from kopnet_iac.inventory.secrets import SecretResolver

    device = _device(inv, opts.village, opts.hostname)
    hardware = inv.hardware_of(device)
    platform = hardware.platform
    where = {"village": opts.village, "host": opts.hostname}
    if platform not in ("routeros", "airos"):
        raise KopnetError(
            f"a {platform} device is rebuilt by its own playbooks (kopnet gateway apply), "
            "not replaced from factory state",
            step="select",
            **where,
        )
    resolver = SecretResolver(inv)
    factory = hardware.factory
    api_port, ssh_port = API_PORT, SSH_PORT
    http_port: int | None = None
    https_port: int | None = HTTPS_PORT
    if opts.lab_dir is not None:
        from kopnet_iac.lab.targets import lab_targets
        from kopnet_iac.lab.topology import lab_password

        lab = lab_targets(opts.lab_dir).get(opts.hostname)
        if lab is None:
            raise KopnetError(
                f"not running in the lab (kopnet lab up {opts.village} --factory-default)",
                step="select",
                **where,
            )
        factory_address = opts.address or lab.host
        management = lab.host
        api_port, ssh_port = lab.api_port or API_PORT, lab.ssh_port or SSH_PORT
        http_port, https_port = lab.http_port, None if lab.http_port else lab.https_port
        noc_password = lab_password(opts.hostname)
        if platform == "airos":
            factory_password = opts.password or "ubnt"
        else:
            factory_password = opts.password if opts.password is not None else lab.password
    else:
        from kopnet_iac.inventory.addressing import village_addressing

        mgmt = village_addressing(inv, opts.village).management_address(opts.hostname)
        if mgmt is None:
            raise KopnetError("no management address in the address plan", step="select", **where)
        management = str(mgmt)
        catalogue = factory.address.split("/", 1)[0] if factory is not None else ""
        factory_address = opts.address or catalogue
        if not factory_address:
            raise KopnetError(
                f"the catalogue has no factory address for {device.model}: give --address",
                step="select",
                **where,
            )
        kind = factory.password if factory is not None else "empty"
        if opts.password is not None:
            factory_password = opts.password
        elif kind == "label":
            raise KopnetError(
                f"a {device.model} has its factory password on its label: give it with --password",
                step="select",
                **where,
            )
        else:
            factory_password = "ubnt" if kind == "ubnt" else ""
        try:
            noc_password = resolver.get(device.credentials)
        except SecretError as exc:
            raise SecretError(exc.message, step="secrets", **where) from exc
    secrets = SecretOverlay(resolver, device.credentials, noc_password)
    noc = (inv.fleet.noc.device_user, noc_password)
    target = ReplaceTarget(
        opts.village,
        device,
        platform,
        factory_address,
        management,
        noc_password,
        secrets,
        ssh_port=ssh_port,
    )
    if platform == "routeros":
        user = factory.username if factory is not None else "admin"
        logins = [(user, factory_password)]
        if factory_password:  # a label password, or a device that still has none
            logins.append((user, ""))
        target.routeros = RouterOSFactory(
            opts.village, opts.hostname, factory_address, api_port, logins, noc
        )
    else:
        target.airos = AirOSFactory(
            opts.village,
            opts.hostname,
            factory_address,
            ssh_port,
            http_port,
            https_port,
            factory_password,
            noc,
        )
    return target


__all__ = ["ReplaceTarget", "replace_target"]
