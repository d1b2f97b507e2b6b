"""NAPALM entry point: ``napalm.get_network_driver("kopnet_routeros")`` finds the driver here."""

from __future__ import annotations

from kopnet_iac.drivers.routeros.driver import KopnetRouterOSDriver

__all__ = ["KopnetRouterOSDriver"]
