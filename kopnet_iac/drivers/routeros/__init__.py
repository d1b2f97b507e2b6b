"""RouterOS NAPALM driver (``kopnet_routeros``), see :mod:`.driver`."""

from __future__ import annotations

from kopnet_iac.drivers.routeros.driver import KopnetRouterOSDriver

__all__ = ["KopnetRouterOSDriver"]
