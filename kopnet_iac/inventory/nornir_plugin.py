"""Nornir inventory plugin: the KopNet inventory as Nornir hosts and groups.

::

    nr = InitNornir(inventory={"plugin": "KopnetInventory",
                               "options": {"inventory_dir": "inventory", "villages": ["sukadana"]}})

Hosts are named by hostname; ``host.hostname`` is the management address (mgmt VLAN address, the
loopback for gateways). Platforms are Nornir/NAPALM names: ``kopnet_routeros`` and
``kopnet_airos`` (KopNet's NAPALM drivers) for RouterOS and airOS, ``linux`` for gateways.
RouterOS and airOS hosts log in as the fleet's NOC account (``noc.device_user``, password: the
device's credentials secret), the account the templates configure in place of ``admin`` /
``ubnt``; a device that does not have it yet (before its first deploy, or a lab device in
its default state) is logged into with the NAPALM option ``fallback_usernames``: the earlier
``admin`` (same password), in the lab the lab's own user (the NOC account gets the lab's
password there).
Groups: ``village:<id>``, ``role:<role>``, ``platform:<platform>``; platform groups carry the
``napalm`` and ``netmiko`` connection options, and each RouterOS/airOS host its own ``napalm``
options: the expected model (the driver refuses another), the host name for errors and the
secret resolver (secrets are filled in at push time). Timeouts are sized for a GEO satellite
hop (~600 ms per round trip, loss bursts). ``lab=True`` points every host at the running lab.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nornir.core.inventory import (
    ConnectionOptions,
    Defaults,
    Group,
    Groups,
    Host,
    Hosts,
    Inventory,
    ParentGroups,
)

from kopnet_iac.errors import KopnetError, SecretError
from kopnet_iac.inventory.addressing import village_addressing
from kopnet_iac.inventory.loader import Inventory as KopnetInv
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.inventory.secrets import SecretResolver

log = logging.getLogger(__name__)

#: inventory platform -> Nornir host platform (NAPALM driver name where there is one)
NORNIR_PLATFORM = {"routeros": "kopnet_routeros", "airos": "kopnet_airos", "linux": "linux"}
NAPALM_PLATFORMS = frozenset({"kopnet_routeros", "kopnet_airos"})
#: login user on each platform before the NOC account: the built-in ``admin`` the earlier
#: templates configured (RouterOS, airOS); linux: the gateway role's admin
USERNAME = {
    "routeros": "admin",
    "airos": "admin",
    "linux": "kopnet",
}
API_PORT = 8728
SSH_PORT = 22
#: read timeout per round trip, TCP connect timeout and retries: sized for 600 ms GEO links
#: with loss bursts (a lost SYN is retried after 1 s, 3 s, 7 s ...)
NAPALM_TIMEOUT = 60
LINK_OPTIONS: dict[str, Any] = {"connect_timeout": 30, "connect_retries": 2}
NETMIKO_EXTRAS: dict[str, Any] = {
    "conn_timeout": 30,
    "auth_timeout": 30,
    "banner_timeout": 30,
    "timeout": 60,
    "keepalive": 15,
}


def napalm_extras(platform: str, **optional: Any) -> dict[str, Any]:
    """``extras`` of a host's ``napalm`` connection (driver timeout and optional_args)."""
    args: dict[str, Any] = dict(LINK_OPTIONS)
    if platform == "kopnet_routeros":
        args["port"] = API_PORT
    args.update({k: v for k, v in optional.items() if v is not None})
    return {"timeout": NAPALM_TIMEOUT, "optional_args": args}


def platform_connection_options(platform: str) -> dict[str, ConnectionOptions]:
    """``napalm``/``netmiko`` options of a Nornir platform group."""
    if platform == "kopnet_routeros":
        return {
            "napalm": ConnectionOptions(platform=platform, extras=napalm_extras(platform)),
            "netmiko": ConnectionOptions(
                platform="mikrotik_routeros", port=SSH_PORT, extras=dict(NETMIKO_EXTRAS)
            ),
        }
    if platform == "kopnet_airos":
        # airOS has a busybox shell: netmiko's generic linux driver fits it best
        return {
            "napalm": ConnectionOptions(platform=platform, extras=napalm_extras(platform)),
            "netmiko": ConnectionOptions(
                platform="linux", port=SSH_PORT, extras=dict(NETMIKO_EXTRAS)
            ),
        }
    return {"netmiko": ConnectionOptions(platform="linux", port=SSH_PORT)}


class LabSecrets:
    """Secrets for an emulated device: its login secret is the lab's password for it (so a
    deploy does not change it), every other secret comes from the real resolver."""

    def __init__(self, resolver: SecretResolver, login_secret: str, password: str) -> None:
        self.resolver = resolver
        self.login_secret = login_secret
        self.password = password

    def get(self, name: str) -> str:
        if name == self.login_secret:
            return self.password
        return self.resolver.get(name)


class KopnetInventory:
    """Nornir inventory plugin (entry point ``KopnetInventory``)."""

    def __init__(
        self,
        inventory_dir: str | Path = "inventory",
        villages: Iterable[str] | str | None = None,
        lab: bool = False,
        lab_dir: str | Path | None = None,
    ) -> None:
        self.inventory_dir = Path(inventory_dir)
        self.villages = [villages] if isinstance(villages, str) else villages
        self.lab = lab
        self.lab_dir = Path(lab_dir) if lab_dir is not None else None
        self.defaults = Defaults()
        self._passwords: dict[str, str | None] = {}
        self._secret_errors: dict[str, str] = {}

    def load(self) -> Inventory:
        inv = load_inventory(self.inventory_dir)
        wanted = list(self.villages) if self.villages is not None else sorted(inv.villages)
        unknown = [v for v in wanted if v not in inv.villages]
        if unknown:
            raise KopnetError(f"unknown village(s) {', '.join(unknown)} in the Nornir options")
        self.defaults = Defaults()
        groups = Groups()
        hosts = Hosts()
        targets = self._lab_targets() if self.lab else None
        resolver = SecretResolver(inv)
        self._passwords = {}
        self._secret_errors = {}
        for vid in wanted:
            self._add_village(inv, vid, groups, hosts, targets, resolver)
        return Inventory(hosts=hosts, groups=groups, defaults=self.defaults)

    def _lab_targets(self) -> dict[str, Any]:
        from kopnet_iac.lab.targets import lab_targets

        return dict(lab_targets(self.lab_dir))

    def _group(self, groups: Groups, name: str, **kwargs: Any) -> Group:
        if name not in groups:
            groups[name] = Group(name=name, defaults=self.defaults, **kwargs)
        return groups[name]

    def _password(self, resolver: SecretResolver, name: str) -> str | None:
        """The secret's value, or None (the reason is kept for ``host.data["secret_error"]``)."""
        if name not in self._passwords:
            try:
                self._passwords[name] = resolver.get(name)
            except SecretError as exc:
                log.info("no password for secret %s yet (%s); connections will fail", name, exc)
                self._passwords[name] = None
                self._secret_errors[name] = exc.message
        return self._passwords[name]

    def _add_village(
        self,
        inv: KopnetInv,
        vid: str,
        groups: Groups,
        hosts: Hosts,
        targets: dict[str, Any] | None,
        resolver: SecretResolver,
    ) -> None:
        village = inv.village(vid)
        addr = village_addressing(inv, vid)
        village_group = self._group(groups, f"village:{vid}", data={"village": vid})
        for device in village.devices:
            hw = inv.hardware_of(device)
            platform = NORNIR_PLATFORM[hw.platform]
            role_group = self._group(groups, f"role:{device.role}")
            platform_group = self._group(
                groups,
                f"platform:{platform}",
                platform=platform,
                connection_options=platform_connection_options(platform),
            )
            mgmt = addr.management_address(device.hostname)
            data: dict[str, Any] = {
                "village": vid,
                "role": device.role,
                "model": device.model,
                "vendor": hw.vendor,
                "serial": device.serial,
                "credentials": device.credentials,
                "management": str(mgmt) if mgmt else None,
                "lab": False,
            }
            managed = platform in NAPALM_PLATFORMS
            # RouterOS and airOS: the named NOC account the templates configure in place of
            # admin/ubnt (same credentials secret); the driver falls back to the earlier
            # account (same password) on a device that does not have it yet
            host_kwargs: dict[str, Any] = {
                "hostname": str(mgmt) if mgmt else None,
                "username": inv.fleet.noc.device_user if managed else USERNAME[hw.platform],
                "password": None,
                "port": None,
                "connection_options": {},
            }
            host_napalm: dict[str, Any]
            if platform == "kopnet_routeros":
                host_napalm = {
                    "expected_model": device.model,
                    "host_label": device.hostname,
                    "secrets": resolver,
                }
            else:  # the airOS driver's option names
                host_napalm = {
                    "model": device.model,
                    "name": device.hostname,
                    "village": vid,
                    "secrets": resolver,
                }
            if targets is not None:
                target = targets.get(device.hostname)
                if target is None:
                    log.info("%s is not running in the lab; left out", device.hostname)
                    continue
                if managed:  # the NOC account gets the lab password there (LabSecrets)
                    host_napalm["fallback_usernames"] = [target.username]
                host_kwargs.update(
                    hostname=target.host,
                    username=host_kwargs["username"] if managed else target.username,
                    password=target.password,
                    port=target.ssh_port,
                    connection_options=self._lab_options(
                        platform,
                        target,
                        **{
                            **host_napalm,
                            "secrets": LabSecrets(resolver, device.credentials, target.password),
                        },
                    ),
                )
                data.update(lab=True, http_port=target.http_port, api_port=target.api_port)
            else:
                host_kwargs["password"] = self._password(resolver, device.credentials)
                if host_kwargs["password"] is None:
                    data["secret_error"] = self._secret_errors[device.credentials]
                if managed:
                    host_napalm["fallback_usernames"] = [USERNAME[hw.platform]]
                if platform in NAPALM_PLATFORMS:
                    host_kwargs["connection_options"] = {
                        "napalm": ConnectionOptions(
                            platform=platform, extras=napalm_extras(platform, **host_napalm)
                        )
                    }
            hosts[device.hostname] = Host(
                name=device.hostname,
                platform=platform,
                groups=ParentGroups([village_group, role_group, platform_group]),
                data=data,
                defaults=self.defaults,
                **host_kwargs,
            )

    @staticmethod
    def _lab_options(platform: str, target: Any, **optional: Any) -> dict[str, ConnectionOptions]:
        """Connection options pointing at an emulated device (its own ports)."""
        options = platform_connection_options(platform)
        out: dict[str, ConnectionOptions] = {}
        if platform == "kopnet_routeros" and target.api_port:
            extras = napalm_extras(platform, **optional, port=target.api_port)
            out["napalm"] = ConnectionOptions(platform=platform, extras=extras)
        elif platform == "kopnet_airos":
            ports = {  # the airOS driver's names: port is SSH
                "port": target.ssh_port,
                "http_port": target.http_port,
                "https_port": getattr(target, "https_port", None),
            }
            extras = napalm_extras(platform, **optional, **ports)
            out["napalm"] = ConnectionOptions(platform=platform, extras=extras)
        if target.ssh_port:
            netmiko = options["netmiko"]
            out["netmiko"] = ConnectionOptions(
                platform=netmiko.platform, port=target.ssh_port, extras=netmiko.extras
            )
        return out
