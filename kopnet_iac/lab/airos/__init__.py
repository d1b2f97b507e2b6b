"""Emulated Ubiquiti airOS 8 radio for the lab."""

from __future__ import annotations

from kopnet_iac.lab.airos.device import AirOSDevice

__all__ = ["AirOSDevice"]
