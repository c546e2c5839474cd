"""The exception tree of Standby, documented in one place.

StandbyError
├── PlanInvalid        a plan failed to load or validate; carries every problem found
├── ScenarioInvalid    an impact scenario that cannot run against the plan
├── ConfigError        a STANDBY_* setting is missing or malformed
├── StorageError       the database could not be reached or migrated
├── NotFound           a record asked for by id does not exist
├── InvalidInput       a value given to a service is malformed (unknown role, empty password)
│   └── Unstable       Erlang C with a load at or above the agents: callers would wait forever
└── Conflict           a record with that name already exists
"""

from __future__ import annotations

from dataclasses import dataclass


class StandbyError(Exception):
    """Base of every error Standby raises on purpose."""


@dataclass(frozen=True, order=True)
class PlanProblem:
    """One thing wrong with a plan, at a line and column (both 1-based)."""

    line: int
    column: int
    message: str

    def render(self, source: str) -> str:
        """The problem as `SOURCE:LINE:COLUMN: message`, the format editors understand."""
        return f"{source}:{self.line}:{self.column}: {self.message}"


class PlanInvalid(StandbyError):
    """A plan that cannot be used, with every problem found in it, in file order."""

    def __init__(self, problems: list[PlanProblem]) -> None:
        self.problems = sorted(problems)
        first = self.problems[0].message if self.problems else "invalid plan"
        super().__init__(f"{len(self.problems)} problem(s) in the plan; first: {first}")


class ScenarioInvalid(StandbyError):
    """An impact scenario the plan cannot run: unknown ids, a time outside the day, bad numbers."""


class ConfigError(StandbyError):
    """A setting is missing or malformed."""


class StorageError(StandbyError):
    """The database could not be reached, migrated or written."""


class NotFound(StandbyError):
    """A record asked for by id does not exist."""


class InvalidInput(StandbyError):
    """A value given to a service is malformed; the message says which and what is allowed."""


class Unstable(InvalidInput):
    """Erlang C has no steady state: the offered load is at or above the agents; says how many are needed."""


class Conflict(StandbyError):
    """A record with that name or key already exists."""
