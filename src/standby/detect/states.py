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


def read_states(session: Session) -> dict[str, LiveState]:
    """Every recorded component state by component id; absent ids are `unknown`."""
    rows = session.scalars(select(ComponentStateRow))
    return {r.component_id: LiveState(r.state, r.since, r.detail) for r in rows}
