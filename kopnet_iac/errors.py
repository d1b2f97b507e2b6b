"""One exception hierarchy for the whole pipeline.

Every error carries where it happened (village, host, file position or step) and a reason;
vendor exceptions are wrapped with ``raise ... from exc``. Only the CLI turns them into
messages and exit codes.
"""

from __future__ import annotations


class KopnetError(Exception):
    """Root of every error KopNet raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        village: str | None = None,
        host: str | None = None,
        step: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.village = village
        self.host = host
        self.step = step

    def __str__(self) -> str:
        where = [part for part in (self.village, self.host, self.step) if part]
        if where:
            return f"{'/'.join(where)}: {self.message}"
        return self.message


class SourcePosition:
    """A place in a text file (1-based line and column)."""

    __slots__ = ("column", "file", "line")

    def __init__(self, file: str, line: int, column: int) -> None:
        self.file = file
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def __repr__(self) -> str:
        return f"SourcePosition({self.file!r}, {self.line}, {self.column})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SourcePosition) and (
            (self.file, self.line, self.column) == (other.file, other.line, other.column)
        )

    def __hash__(self) -> int:
        return hash((self.file, self.line, self.column))


class InventoryError(KopnetError):
    """The inventory cannot be loaded or is invalid; ``problems`` lists every finding."""

    def __init__(self, problems: list[InventoryProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems) or "invalid inventory")


class InventoryProblem:
    """One finding: ``FILE:LINE:COL: field.path: message``."""

    __slots__ = ("field", "message", "position")

    def __init__(self, position: SourcePosition, field: str, message: str) -> None:
        self.position = position
        self.field = field
        self.message = message

    def __str__(self) -> str:
        if self.field:
            return f"{self.position}: {self.field}: {self.message}"
        return f"{self.position}: {self.message}"

    def __repr__(self) -> str:
        return f"InventoryProblem({self!s})"


class RenderError(KopnetError):
    """A template failed to render (missing variable, syntax error, policy violation)."""


class ParseError(KopnetError):
    """Configuration text could not be parsed; carries the position and offending token.

    The token is for a plain word (a verb, a menu, a key): one that could be a value (a quote,
    ``=`` or a backslash in it) is dropped, so a message never quotes a secret; parsers
    decide what else to withhold (position only).
    """

    def __init__(
        self,
        message: str,
        *,
        position: SourcePosition | None = None,
        token: str | None = None,
        host: str | None = None,
    ) -> None:
        if token is not None and any(c in token for c in '"=\\'):
            token = None
        self.position = position
        self.token = token
        text = message if token is None else f"{message} (at {token!r})"
        if position is not None:
            text = f"{position}: {text}"
        super().__init__(text, host=host)


class NotAnExportError(ParseError):
    """The text is a RouterOS script, not a configuration export."""


class PlanError(KopnetError):
    """A plan cannot be computed safely (ambiguous entry, unknown identity, ...)."""


class ConnectError(KopnetError):
    """A device could not be reached or refused the login."""


class HostKeyError(ConnectError):
    """A device's SSH host key is not the recorded one (or none is recorded and trust on
    first use is off): the login is refused before any credential is sent."""


class ApplyError(KopnetError):
    """A change failed while being applied."""


class VerifyError(KopnetError):
    """A post-change check failed."""


class RollbackError(KopnetError):
    """Restoring the previous configuration failed: needs a human."""


class LockError(KopnetError):
    """Another run holds the village lock."""


class StateError(KopnetError):
    """The release store cannot be opened, read or written (names the database file)."""


class LabError(KopnetError):
    """The lab could not be started, reached or changed."""


class SecretError(KopnetError):
    """A referenced secret cannot be resolved."""


class ReportError(KopnetError):
    """A report (HTML page, SVG drawing) could not be built or written."""
