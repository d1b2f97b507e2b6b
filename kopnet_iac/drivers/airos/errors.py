"""Errors of the airOS driver: KopNet errors (host, step, reason) that are also the NAPALM
exceptions callers of a NAPALM driver expect (``nornir_napalm`` tasks, napalm's own tools)."""

from __future__ import annotations

from napalm.base.exceptions import (
    CommitError,
    ConnectAuthError,
    ConnectionException,
    MergeConfigException,
    ReplaceConfigException,
)

from kopnet_iac.errors import ApplyError, ConnectError, PlanError, RollbackError


class AirOSConnectError(ConnectError, ConnectionException):  # type: ignore[misc]
    """The radio cannot be reached, or the session broke."""


class AirOSAuthError(AirOSConnectError, ConnectAuthError):  # type: ignore[misc]
    """The radio refused the login."""


class AirOSMergeError(PlanError, MergeConfigException):  # type: ignore[misc]
    """A merge candidate cannot be loaded (bad line, unknown secret, device unreadable)."""


class AirOSReplaceError(PlanError, ReplaceConfigException):  # type: ignore[misc]
    """A replace candidate cannot be loaded."""


class AirOSCommitError(ApplyError, CommitError):  # type: ignore[misc]
    """A commit, confirm or discard failed; the message says which state the radio is in."""


class ModelMismatchError(AirOSCommitError, MergeConfigException, ReplaceConfigException):  # type: ignore[misc]
    """The radio is not the model the inventory expects: nothing is changed on it."""


class AirOSRollbackError(RollbackError, CommitError):  # type: ignore[misc]
    """Restoring the previous configuration failed."""
