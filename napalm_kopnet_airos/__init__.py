"""NAPALM's lookup name for the KopNet airOS driver: ``get_network_driver("kopnet_airos")``."""

from kopnet_iac.drivers.airos.driver import AirOSDriver

__all__ = ["AirOSDriver"]
