"""The whole HgWatch error vocabulary: one small hierarchy, one line per class."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in a user's input, located to the value."""

    file: str
    row: int | None
    field: str | None
    value: object
    expected: str
    severity: str = "error"  # "error" blocks an import; "warning" does not
    feature_id: str | None = None
    kind: str = "invalid"  # short machine tag, e.g. "missing", "type", "allowed", "duplicate"

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.feature_id:
            where.append(f"id {self.feature_id!s}")
        if self.field:
            where.append(f"field '{self.field}'")
        value = "" if self.value is None else f": value {self.value!r}"
        return f"{self.severity}: {', '.join(where)}{value}: {self.expected}"


class HgWatchError(Exception):
    """Base of every error HgWatch raises on purpose; the CLI prints it without a traceback."""


@dataclass
class InputError(HgWatchError):
    """A user's file or argument cannot be used; carries every problem found, not just the first."""

    message: str
    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [self.message] + [f"  {p}" for p in self.problems]
        return "\n".join(lines)


class CRSError(HgWatchError):
    """A layer has no coordinate reference system, or one that cannot be used."""


class ConfigError(HgWatchError):
    """A rules, guideline or factor file has an unknown key or a bad value."""


class WorkspaceError(HgWatchError):
    """The workspace file is missing, locked or unreadable."""


class StoreBusy(WorkspaceError):
    """A writer kept the workspace locked for longer than a reader waits; asking again later may succeed."""
