"""The deploy tests' fake canary secrets, for the fleet tests too."""

from __future__ import annotations

from tests.deploy.conftest import canary_env

__all__ = ["canary_env"]
