"""NAPALM driver for Ubiquiti airOS 8 radios: ``napalm.get_network_driver("kopnet_airos")``."""

from __future__ import annotations

from kopnet_iac.drivers.airos.driver import AirOSDriver

__all__ = ["AirOSDriver"]
