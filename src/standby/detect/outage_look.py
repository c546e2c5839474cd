"""The look before the lock: whether a correlation would write anything, from reads alone.

Most correlation passes change nothing. A worker looks first, without the detection
lock and without writing (on SQLite it then takes no write lock), and correlates under
the lock (`outages.correlate`) only when the look finds something to change. A
correlation of 5,000 components takes seconds on a loaded machine: holding the write
lock all along made every other writer wait, the worker's own lease renewals among them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from standby.detect.correlation import Correlator
from standby.detect.evidence import current_states, read_evidence
from standby.detect.outages import CorrelationResult, failing_since, opening, reconcile_open, seen_changed


def look(
    session: Session, *, correlator: Correlator, maintenance: Iterable[str], now: datetime
) -> CorrelationResult | None:
    """Correlate without writing or locking: the result when nothing on record would change,
    None when something would (then `correlate`, under the lock, in a transaction of its own)."""
    reading = read_evidence(session, correlator=correlator, maintenance=maintenance, now=now)
    current = current_states(session)
    for component_id, verdict in reading.verdicts.items():
        found = current.get(component_id)
        if found is None and verdict.state == "unknown":
            continue
        if found is None or found[0] != verdict.state or found[2] != verdict.detail:
            return None  # a state, or the detail kept with it, changed
    shapes = correlator.outages(reading.failing, maintenance=reading.in_maintenance)
    open_rows, result = reconcile_open(session, shapes)
    if seen_changed(open_rows, result, correlator):
        return None  # compared, never applied: a look leaves no record changed in the session
    since = failing_since({cid: (state, at) for cid, (state, at, _) in current.items()})
    waiting: dict[str, datetime] = {}
    for shape in result.opened:
        started, _, unjudged = opening(shape, correlator, reading.unsure, since, reading.injected, now)
        if not unjudged:
            return None  # an outage opens now
        for above in unjudged:
            waiting[above] = min(waiting.get(above, started), started)
    return CorrelationResult(failing=frozenset(reading.failing), waiting_on=waiting)
