"""Connection targets: where a device is reached and with which login, from some source.

Production targets are derived from the inventory (management address, ``credentials``
secret). Anything else that knows better where a device answers (the built-in lab, a test
bench, a staging network) is a :class:`TargetSource`, handed to the code that connects as a
parameter. The product never imports a particular source: sources are plugins registered
under the entry-point group ``kopnet_iac.target_sources`` (the lab registers ``lab``), and
configuration files that can only hold strings (Nornir options, Ansible inventory files)
name them with :func:`named_source`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol, runtime_checkable

from kopnet_iac.errors import KopnetError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "kopnet_iac.target_sources"


@dataclass(frozen=True)
class ConnectionTarget:
    """Where and how to reach one device. ``password`` is never part of a repr."""

    hostname: str
    platform: str
    host: str
    api_port: int | None
    ssh_port: int | None
    http_port: int | None
    username: str
    password: str = field(repr=False)
    state: str
    village: str = ""
    https_port: int | None = None
    key_file: str | None = None

    @property
    def running(self) -> bool:
        return bool(self.host) and self.state in ("", "running")


@runtime_checkable
class TargetSource(Protocol):
    """A source of connection targets (e.g. the running lab)."""

    @property
    def location(self) -> str:
        """Where the source lives (a folder, a URL), for messages and for other processes."""
        ...

    def targets(self) -> Mapping[str, ConnectionTarget]:
        """hostname -> target for every device the source knows; KopnetError if it cannot
        answer at all (e.g. nothing is running)."""
        ...

    def gateways(self) -> list[ConnectionTarget]:
        """The Linux gateways the source knows (may be empty; never needs more than they do)."""
        ...

    def missing(self, village: str, hostname: str) -> str:
        """Why a device is not found here and what to do, e.g. ``run kopnet lab up V``."""
        ...

    def account_password(self, hostname: str) -> str | None:
        """The password this source wants the device's management account to get (the lab:
        its lab-only password), None to use the inventory's ``credentials`` secret."""
        ...


class TargetSourceError(KopnetError):
    """A named target source is unknown or cannot be opened."""


def available_sources() -> list[str]:
    """Names of the registered target sources."""
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def named_source(name: str, location: str | Path | None = None) -> TargetSource:
    """Open the target source registered as ``name`` (``location``: its folder, default the
    source's own default)."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            factory = ep.load()
            source = factory(None if location in (None, "") else str(location))
            if not isinstance(source, TargetSource):
                raise TargetSourceError(f"target source {name!r} ({ep.value}) is not a source")
            log.debug("target source %s at %s", name, source.location)
            return source
    known = ", ".join(available_sources()) or "none (reinstall the package: pip install -e .)"
    raise TargetSourceError(f"unknown target source {name!r}; registered: {known}")
