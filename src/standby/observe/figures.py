"""What the database says now: open outages and incidents, the outbox, alerts, leases.

A service: it reads with the session it is given and never writes. Every web server
behind a load balancer reads the same rows, so each reports the same truth; Prometheus
collects them at each scrape (`observe.instruments.DatabaseFigures`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnExpressionArgument, SQLColumnExpression, func, select
from sqlalchemy.orm import Session

from standby.detect.receivers import SOURCE_ALERTMANAGER, SOURCE_EVENTS
from standby.store.tables import (
    AlertRow,
    IncidentRow,
    MessageRow,
    OutageRow,
    ProbeRow,
    RefusedAlertRow,
    WorkerRow,
)
from standby.store.tables.detect import CLASSIFICATIONS
from standby.store.tables.notify import CHANNELS, MESSAGE_STATES
from standby.store.tables.respond import INCIDENT_STATES

CLOSED_INCIDENT_STATES = ("resolved", "reviewed")
OPEN_INCIDENT_STATES = tuple(s for s in INCIDENT_STATES if s not in CLOSED_INCIDENT_STATES)
# An outage open now is total, partial or degraded; "interruption" is decided when it ends.
OPEN_CLASSIFICATIONS = tuple(c for c in CLASSIFICATIONS if c != "interruption")
SOURCES = (SOURCE_ALERTMANAGER, SOURCE_EVENTS)


@dataclass(frozen=True)
class Figures:
    """The counts a scrape reports, as of `at`."""

    at: datetime
    outages_open: dict[str, int]
    """Open outages by classification."""
    incidents_open: dict[str, int]
    """Incidents not yet resolved, by state."""
    outbox: dict[tuple[str, str], int]
    """Messages by (state, channel); every known pair is present, zero or not."""
    oldest_waiting_s: float
    """How long the message due the longest has waited for a sender; 0 when none waits."""
    alerts_received: dict[str, int]
    """Alerts taken since the start, by source (each delivery of a repeat counts)."""
    alerts_refused: dict[str, int]
    """Alerts refused since the start, by source."""
    leases: dict[str, int]
    """Probes held by a live worker (seen within a lease), by worker."""
    probes: dict[str, int]
    """Probes in the plan in force, by protocol."""


def read_figures(session: Session, *, now: datetime, lease: timedelta) -> Figures:
    """Read every figure in one go (one short transaction of small aggregate queries).

    A probe counts as held while its holder was seen within `lease` (STANDBY_WORKER_LEASE_S)
    and its own lease runs: the rule by which other workers leave it alone (detect.leases).
    """
    outbox = {(state, channel): 0 for state in MESSAGE_STATES for channel in CHANNELS}
    for state, channel, count in session.execute(
        select(MessageRow.state, MessageRow.channel, func.count()).group_by(
            MessageRow.state, MessageRow.channel
        )
    ):
        outbox[(state, channel)] = count
    # Due and not claimed: a sender should have it. Read from the (state, next_attempt_at) index.
    oldest_due = session.scalar(
        select(func.min(MessageRow.next_attempt_at)).where(
            MessageRow.state == "pending", MessageRow.next_attempt_at <= now
        )
    )
    return Figures(
        at=now,
        outages_open=_counts(
            session,
            OutageRow.classification,
            func.count(),
            OutageRow.ended_at.is_(None),
            known=OPEN_CLASSIFICATIONS,
        ),
        incidents_open=_counts(
            session,
            IncidentRow.state,
            func.count(),
            IncidentRow.state.not_in(CLOSED_INCIDENT_STATES),
            known=OPEN_INCIDENT_STATES,
        ),
        outbox=outbox,
        oldest_waiting_s=max(0.0, (now - oldest_due).total_seconds()) if oldest_due is not None else 0.0,
        alerts_received=_counts(session, AlertRow.source, func.sum(AlertRow.received), known=SOURCES),
        alerts_refused=_counts(
            session, RefusedAlertRow.source, func.sum(RefusedAlertRow.received), known=SOURCES
        ),
        leases=_counts(
            session,
            ProbeRow.owner,
            func.count(),
            ProbeRow.enabled,
            ProbeRow.lease_expires_at >= now,
            WorkerRow.seen_at >= now - lease,
            join=(WorkerRow, WorkerRow.id == ProbeRow.owner),
        ),
        probes=_counts(session, ProbeRow.kind, func.count(), ProbeRow.enabled),
    )


def _counts(
    session: Session,
    key: SQLColumnExpression[Any],
    amount: SQLColumnExpression[Any],
    *where: ColumnExpressionArgument[bool],
    known: tuple[str, ...] = (),
    join: tuple[Any, ColumnExpressionArgument[bool]] | None = None,
) -> dict[str, int]:
    """`amount` per value of `key` among the rows `where` says; `known` values at zero if absent."""
    query = select(key, amount)
    if join is not None:
        query = query.join(*join)
    # The known keys are there at zero: a series that exists before its first event lets
    # `rate()` and `> 0` alerts see the first one.
    counts = dict.fromkeys(known, 0)
    counts.update((str(k), int(n or 0)) for k, n in session.execute(query.where(*where).group_by(key)))
    return counts
