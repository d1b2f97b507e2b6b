"""Driver errors: KopNet errors (host, step, reason) that are also NAPALM's exception types.

``nornir_napalm`` and other NAPALM callers catch NAPALM's own classes
(``ConnectionException``, ``MergeConfigException``, ``ReplaceConfigException``,
``CommitError``); KopNet code catches :class:`~kopnet_iac.errors.KopnetError` subclasses. Each
class here is both, so either kind of caller sees a clear error, never a vendor traceback.
"""

from __future__ import annotations

from napalm.base.exceptions import (
    CommitError,
    ConnectAuthError,
    ConnectionException,
    MergeConfigException,
    ReplaceConfigException,
)

from kopnet_iac.errors import ApplyError, ConnectError, PlanError, RollbackError


class DeviceConnectError(ConnectError, ConnectionException):  # type: ignore[misc]
    """Unreachable device, refused login, session lost while reading."""


class LoginRefusedError(DeviceConnectError, ConnectAuthError):  # type: ignore[misc]
    """The device answered and refused the user name or password (not a lost session)."""


class WrongModelError(DeviceConnectError):
    """The device reports another model than the inventory says: refusing to touch it."""


class CandidateError(PlanError, MergeConfigException):  # type: ignore[misc]
    """The candidate configuration cannot be parsed or planned (merge)."""


class ReplaceCandidateError(PlanError, ReplaceConfigException):  # type: ignore[misc]
    """The candidate configuration cannot be parsed or planned (replace)."""


class DeviceCommitError(ApplyError, CommitError):  # type: ignore[misc]
    """A commit failed; the message says which state the device was left in."""


class NoRevertPathError(DeviceCommitError):
    """The device-side revert cannot be armed (scheduler disabled, disk full, upload
    refused): nothing was changed. Pass ``force_without_revert`` to commit anyway."""


class DeviceRollbackError(RollbackError, CommitError):  # type: ignore[misc]
    """Rolling back failed: the device needs a human (the message says what is left)."""
