"""The router behind the servers: runs one command (path, verb, arguments, items) on the state.

The API server, the SSH console and the script interpreter resolve their own syntax (``.id``
words, ``[ find ... ]``, item numbers) into :class:`Entry` lists and call :meth:`Router.execute`.
"""

from __future__ import annotations

import collections
import hashlib
import ipaddress
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from kopnet_iac.lab.faults import Faults
from kopnet_iac.lab.routeros import schema, system, views
from kopnet_iac.lab.routeros.store import ConfigStore, Entry, Reply, RosError, format_id
from kopnet_iac.lab.spec import DeviceSpec, LabNetwork

if TYPE_CHECKING:
    from kopnet_iac.lab.routeros.script import Interpreter

log = logging.getLogger(__name__)
Row = dict[str, str]

LIST_VERBS = frozenset(
    {
        "print",
        "getall",
        "add",
        "set",
        "remove",
        "unset",
        "move",
        "enable",
        "disable",
        "comment",
        "get",
        "find",
        "export",
        "edit",
        "reset",
    }
)
EXTRA_PATHS = frozenset(
    {
        "ip address",
        "ip route",
        "ip arp",
        "ip pool",
        "ip dhcp-server",
        "ip dhcp-server network",
        "ip dhcp-client",
        "ip firewall filter",
        "ip firewall nat",
        "ip firewall mangle",
        "ip firewall raw",
        "ip firewall address-list",
        "ip dns static",
        "interface list",
        "interface list member",
        "interface bridge port",
        "interface bridge vlan",
        "ppp secret",
        "ppp active",
        "radius",
        "snmp community",
        "system logging",
        "system scheduler",
        "system script",
        "user",
        "user ssh-keys",
        "ipv6 address",
        "ipv6 route",
        "ipv6 neighbor",
        "queue simple",
        "queue type",
        "queue tree",
        "interface pppoe-server server",
        "interface wireless access-list",
        "interface wireless security-profiles",
        "interface bridge host",
        "ip hotspot",
        "ip hotspot profile",
        "ip hotspot user",
        "routing ospf instance",
        "routing ospf area",
        "routing ospf interface-template",
        "routing bgp connection",
        "routing bgp session",
        "routing table",
        "routing filter rule",
        "ip vrf",
        "system script job",
        "tool netwatch",
        "certificate",
        "ip ipsec policy",
        "ppp profile",
        "system logging action",
        "user group",
        "file",
        "log",
        # menus the rendered configs and the planner's paths.yaml use (RouterOS 7)
        "interface bridge filter",
        "interface bridge nat",
        "interface ethernet switch",
        "interface wireguard peers",
        "system ntp client servers",
        "ip hotspot user profile",
        "ip hotspot walled-garden",
        "ip hotspot walled-garden ip",
        "ip dhcp-server lease",
        "ip firewall layer7-protocol",
        "ipv6 firewall filter",
        "ipv6 firewall address-list",
        "routing bgp template",
        "tool graphing interface",
    }
)


def is_true(value: str) -> bool:
    return value in ("yes", "true", "")


class Router:
    """Command semantics of one emulated RouterOS device."""

    def __init__(
        self, spec: DeviceSpec, network: LabNetwork, faults: Faults, store: ConfigStore
    ) -> None:
        self.spec = spec
        self.network = network
        self.faults = faults
        self.store = store
        self.boot_time = time.monotonic()
        self.log_buffer: collections.deque[Row] = collections.deque(maxlen=200)
        self.interpreter: Interpreter | None = None
        # hooks the device installs
        self.request_reboot: Callable[[dict[str, object] | None], None] = lambda _snap: None
        self.reset_configuration: Callable[[bool, bool, str], None] = lambda *_a: None
        self.scheduler_changed: Callable[[], None] = lambda: None
        self.scheduler_status: Callable[[Entry], Row] = lambda _e: {}
        self.exporter: Callable[[bool, bool, bool, str], str] = lambda *_a: ""
        self.after_change: Callable[[], None] = lambda: None

    # -- helpers -----------------------------------------------------------------------

    def software_id(self) -> str:
        digest = hashlib.blake2b(self.spec.hostname.encode(), digest_size=4).hexdigest().upper()
        return f"{digest[:4]}-{digest[4:]}"

    def log_message(self, topics: str, message: str) -> None:
        self.log_buffer.append(
            {
                ".id": format_id(len(self.log_buffer) + 1),
                "time": time.strftime("%H:%M:%S"),
                "topics": topics,
                "message": message,
            }
        )
        log.info("%s: router log: %s", self.spec.hostname, message)

    def identity(self) -> str:
        menu = self.store.menus.get("system identity")
        if menu is not None and menu.props.get("name"):
            return menu.props["name"]
        return "MikroTik"

    def known_path(self, path: str) -> bool:
        return (
            path in self.store.menus
            or path in schema.SINGLETON_PATHS
            or path in EXTRA_PATHS
            or path in schema.INTERFACE_TYPES
            or path in views.COMPUTED
            or path in views.SYSTEM_VIEWS
            or path in schema.BUILTIN_ITEMS
            or path in schema.EXPORT_ORDER
            or (path.startswith("interface wireless") and self.spec.wireless)
        )

    def known_menu(self, path: str) -> bool:
        """Whether ``path`` is a menu or a menu prefix the console can change into."""
        if not path or self.known_path(path):
            return True
        prefix = path + " "
        pools = (
            self.store.menus,
            schema.SINGLETON_PATHS,
            EXTRA_PATHS,
            schema.INTERFACE_TYPES,
            views.SYSTEM_VIEWS,
            schema.EXPORT_ORDER,
        )
        return any(p.startswith(prefix) for pool in pools for p in pool)

    def is_singleton(self, path: str) -> bool:
        menu = self.store.menus.get(path)
        if menu is not None:
            return menu.singleton
        return schema.is_singleton(path) or path in views.SYSTEM_VIEWS

    def resolve_items(self, path: str, items: list[str]) -> list[Entry]:
        """Entries named by ids, names or numbers; ``no such item`` when one is missing."""
        out: list[Entry] = []
        for item in items:
            if not item:
                continue
            entry = self.store.resolve_item(path, item)
            if entry is None and path == "interface":
                entry = self.interface_entry(item)
            if entry is None:
                raise RosError("no such item", 0)
            out.append(entry)
        return out

    def interface_entry(self, item: str) -> Entry | None:
        for path, entry in views.interface_entries(self):
            if item in (entry.get("name"), views.interface_id(path, entry)):
                return entry
        return None

    def rows(self, path: str) -> list[tuple[Entry | None, Row]]:
        """Print rows of a menu (with live columns), paired with their stored entry."""
        if path in views.COMPUTED:
            return [(None, row) for row in views.COMPUTED[path](self)]
        computed = views.system_rows(self, path)
        if computed is not None:
            return [(None, row) for row in computed]
        if path == "file":
            return [
                (None, system.file_row(index, f))
                for index, f in enumerate(self.store.files.values())
            ]
        if path == "log":
            return [(None, dict(row)) for row in self.log_buffer]
        menu = self.store.menus.get(path)
        if self.is_singleton(path):
            row = dict(schema.SINGLETON_DEFAULTS.get(path, {}))
            if path == "snmp":
                row["engine-id"] = "80003a8c04" + self.software_id().replace("-", "").lower()
            if menu is not None:
                row.update(menu.props)
            if path == "system ntp client":
                if not row.get("servers"):  # RouterOS 7: the servers submenu fills it
                    row["servers"] = ",".join(
                        e.get("address")
                        for e in self.store.entries("system ntp client servers")
                        if not is_true(e.get("disabled", "no"))
                    )
                _ntp_compat(row)
            return [(None, row)]
        out: list[tuple[Entry | None, Row]] = []
        if path == "ip route":
            out.extend((None, row) for row in views.connected_routes(self))
        names = views.interface_names(self) if path == "ip address" else None
        for entry in menu.entries if menu is not None else []:
            row = {".id": format_id(entry.id)}
            row.update(schema.LIST_DEFAULTS.get(path, {}))
            row.update(entry.view())
            row.setdefault("disabled", "false")
            row["disabled"] = "true" if is_true(row["disabled"]) else "false"
            if entry.builtin is not None:
                row.setdefault("default", "true")
            views.live_columns(self, path, entry, row, names)
            out.append((entry, row))
        return out

    # -- validation --------------------------------------------------------------------

    def validate(self, path: str, props: dict[str, str], *, lenient: bool) -> None:
        known = schema.KNOWN_PROPERTIES.get(path)
        for key, value in props.items():
            if known is not None and key not in known and not lenient:
                raise RosError(f"unknown parameter {key}", 0)
            if lenient:
                continue
            if key in schema.BOOLEAN_KEYS and value not in ("yes", "no", "true", "false", ""):
                raise RosError(f"value of {key} must be yes or no", 1)
            if (
                key == "vlan-id"
                and path == "interface vlan"
                and (not value.isdigit() or not 1 <= int(value) <= 4094)
            ):
                raise RosError("value of vlan-id out of range (1..4094)", 1)
        if path == "ip address" and "address" in props:
            try:
                ipaddress.ip_interface(props["address"])
            except ValueError:
                raise RosError("invalid value for argument address", 1) from None
        ref = schema.INTERFACE_REF_PATHS.get(path)
        if ref and ref in props and not lenient:
            names = views.interface_names(self) | {
                e.get("name") for e in self.store.entries("interface list")
            }
            if props[ref] not in names:
                raise RosError(f"input does not match any value of {ref}", 1)

    def check_unique(self, path: str, props: dict[str, str], skip: Entry | None = None) -> None:
        name = props.get("name")
        if path == "ip address" and "address" in props:
            for entry in self.store.entries(path):
                if (
                    entry is not skip
                    and entry.get("address") == props["address"]
                    and entry.get("interface") == props.get("interface", entry.get("interface"))
                ):
                    raise RosError("failure: already have such address", 1)
        if not name:
            return
        pool = self.store.entries(path)
        if path in schema.INTERFACE_TYPES:
            pool = [entry for _, entry in views.interface_entries(self)]
        for entry in pool:
            if entry is not skip and entry.get("name") == name:
                raise RosError("failure: already have item with such name", 1)

    # -- execution ---------------------------------------------------------------------

    async def execute(
        self,
        path: str,
        verb: str,
        args: dict[str, str],
        items: list[Entry] | None,
        *,
        lenient: bool = False,
    ) -> Reply:
        """Run one command; raises :class:`RosError` like RouterOS would answer."""
        handler = system.SPECIAL.get((path, verb))
        if handler is not None:
            return await handler(self, args, items)
        if verb == "export":
            return await system.export_command(self, args, path)
        if path == "file":
            return await system.file_command(self, verb, args, items)
        if not self.known_path(path) and not lenient:
            raise RosError("no such command prefix", 0)
        if path in views.COMPUTED or path in views.SYSTEM_VIEWS:
            if verb in ("print", "getall"):
                return Reply(rows=[row for _, row in self.rows(path)])
            if path == "interface" and verb in ("set", "enable", "disable", "comment", "unset"):
                return self._change(path, verb, args, items or [])
            if verb == "set" and items is None and path in schema.SINGLETON_DEFAULTS:
                self.store.set_singleton(path, args)  # e.g. /system clock time-zone-name
                return Reply()
            raise RosError("no such command", 0)
        if verb in ("print", "getall"):
            return Reply(rows=[row for _, row in self.rows(path)])
        if verb == "add":
            return self._add(path, args, lenient=lenient)
        if verb in ("set", "unset", "enable", "disable", "comment", "remove", "move"):
            if verb == "set" and items is None:
                if not self.is_singleton(path):
                    raise RosError("expected item number or name (missing .id)", 1)
                self.validate(path, args, lenient=lenient)
                self.store.set_singleton(path, args)
                return Reply()
            if items is None:
                raise RosError("expected item number or name (missing .id)", 1)
            return self._change(path, verb, args, items or [])
        raise RosError("no such command", 0)

    def _add(self, path: str, args: dict[str, str], *, lenient: bool) -> Reply:
        if path == "system scheduler" and self.faults.scheduler_disabled:
            raise RosError("failure: not allowed by device-mode", 1)  # RouterOS 7.17+
        if self.is_singleton(path):
            menu = self.store.menus.get(path)
            if not lenient or (menu is not None and menu.props):
                raise RosError("no such command", 0)
            self.store.menu(path)
            self.store.menus[path].singleton = False
        props = {k: v for k, v in args.items() if k not in ("place-before", "copy-from")}
        self.validate(path, props, lenient=lenient)
        if path == "ip address" and not lenient:
            missing = [key for key in ("address", "interface") if not props.get(key)]
            if missing:
                raise RosError(f"failure: missing value(s) of argument(s) {' '.join(missing)}", 1)
        if not lenient:
            self.check_unique(path, props)
        before = None
        if args.get("place-before"):
            found = self.resolve_items(path, [args["place-before"]])
            before = found[0]
        entry = self.store.add(path, props, before=before)
        if path == "system scheduler":
            self.scheduler_changed()
        return Reply(ret=format_id(entry.id))

    def _change(self, path: str, verb: str, args: dict[str, str], items: list[Entry]) -> Reply:
        if verb == "remove":
            self.store.remove(path, items)
        elif verb == "move":
            dest_text = args.get("destination", "")
            dest = self.resolve_items(path, [dest_text])[0] if dest_text else None
            self.store.move(path, items, dest)
        elif verb == "unset":
            names = [n for n in args.get("value-name", "").split(",") if n] or [
                k for k in args if k not in ("numbers", ".id")
            ]
            self.store.unset_entries(items, names)
        else:
            if verb == "enable":
                props = {"disabled": "no"}
            elif verb == "disable":
                props = {"disabled": "yes"}
            elif verb == "comment":
                props = {"comment": args.get("comment", "")}
            else:
                props = {k: v for k, v in args.items() if k not in ("numbers", ".id")}
            self.validate(path, props, lenient=False)
            for entry in items:
                self.check_unique(path, props, skip=entry)
            self.store.set_entries(items, props)
        if path == "system scheduler":
            self.scheduler_changed()
        return Reply()


def _ntp_compat(row: Row) -> None:
    """RouterOS 6 style NTP columns derived from ``servers`` (clients such as napalm read them)."""
    servers = [s for s in row.get("servers", "").split(",") if s]
    names, addresses = [], []
    for server in servers:
        try:
            ipaddress.ip_address(server)
            addresses.append(server)
        except ValueError:
            names.append(server)
    row["server-dns-names"] = ",".join(names)
    row["primary-ntp"] = addresses[0] if addresses else "0.0.0.0"
    row["secondary-ntp"] = addresses[1] if len(addresses) > 1 else "0.0.0.0"
