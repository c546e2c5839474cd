"""Component states as recorded in the database: the service the web app and pages read.

The probes of a later issue write these rows; until a probe reports on a component
it has no row, and the component is `unknown`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.store.tables import ComponentStateRow

UNKNOWN = "unknown"


@dataclass(frozen=True)
class LiveState:
    """A component's state as the probes last recorded it, and since when."""

    state: str
    since: datetime | None
    detail: str | None = None


StateRows = tuple[tuple[str, str, datetime, str | None], ...]
"""Every recorded state as plain rows (id, state, since, detail), by component id."""


def read_states(session: Session) -> dict[str, LiveState]:
    """Every recorded component state by component id; absent ids are `unknown`."""
    return states_of(state_rows(session))


_STATE_ROWS = select(
    ComponentStateRow.component_id,
    ComponentStateRow.state,
    ComponentStateRow.since,
    ComponentStateRow.detail,
).order_by(ComponentStateRow.component_id)


def state_rows(session: Session) -> StateRows:
    """The recorded states as plain rows: cheap to read (no ORM objects) and to compare."""
    return tuple((cid, state, since, detail) for cid, state, since, detail in session.execute(_STATE_ROWS))


def states_of(rows: StateRows) -> dict[str, LiveState]:
    """The rows of `state_rows` by component id."""
    return {cid: LiveState(state, since, detail) for cid, state, since, detail in rows}
