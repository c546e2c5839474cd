"""Reading what Detect recorded: outages, check history, probes and the change feed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.errors import NotFound
from standby.store.open_first import PageMark, cut, open_first
from standby.store.tables import CheckResultRow, OutageRow, ProbeRow, StateChangeRow


@dataclass(frozen=True)
class OutageRecord:
    """An outage as recorded: its causes, what it hits, its class, and when."""

    id: int
    started_at: datetime
    detected_at: datetime
    ended_at: datetime | None
    classification: str
    peak_classification: str
    causes: tuple[str, ...]
    components: tuple[str, ...]
    sites: tuple[str, ...]
    queues: tuple[str, ...]
    degraded_queues: tuple[str, ...]
    ever: dict[str, list[str]]
    in_maintenance: bool
    summary: str
    merged_into: int | None
    plan_version_id: int | None
    updated_at: datetime
    exercise_id: int | None = None
    """The exercise that injected it: not a real outage."""

    def duration_s(self, now: datetime) -> float:
        """Seconds from start to end, or to `now` while it lasts."""
        return ((self.ended_at or now) - self.started_at).total_seconds()


def _record(row: OutageRow) -> OutageRecord:
    return OutageRecord(
        id=row.id,
        started_at=row.started_at,
        detected_at=row.detected_at,
        ended_at=row.ended_at,
        classification=row.classification,
        peak_classification=row.peak_classification,
        causes=tuple(row.causes),
        components=tuple(row.components),
        sites=tuple(row.sites),
        queues=tuple(row.queues),
        degraded_queues=tuple(row.degraded_queues),
        ever={k: list(v) for k, v in (row.history or {}).items()},
        in_maintenance=row.in_maintenance,
        summary=row.summary,
        merged_into=row.merged_into,
        plan_version_id=row.plan_version_id,
        updated_at=row.updated_at,
        exercise_id=row.exercise_id,
    )


def list_outages(
    session: Session, *, open_only: bool = False, limit: int = 100, before_id: int | None = None
) -> list[OutageRecord]:
    """Outages, newest first; only those still open when `open_only`."""
    query = select(OutageRow).order_by(OutageRow.id.desc()).limit(limit)
    if open_only:
        query = query.where(OutageRow.ended_at.is_(None))
    if before_id is not None:
        query = query.where(OutageRow.id < before_id)
    return [_record(r) for r in session.scalars(query)]


def outages_open_first(
    session: Session, *, after: PageMark | None = None, limit: int = 50
) -> tuple[list[OutageRecord], PageMark | None]:
    """Outages still open first, then the ended ones, newest first; and the mark of the next page."""
    query = open_first(
        select(OutageRow), is_open=OutageRow.ended_at.is_(None), row_id=OutageRow.id, after=after, limit=limit
    )
    records = [_record(r) for r in session.scalars(query)]
    return cut(records, limit, lambda r: PageMark(r.ended_at is None, r.id))


def get_outage(session: Session, outage_id: int) -> OutageRecord:
    """One outage; NotFound when there is none with that id."""
    row = session.get(OutageRow, outage_id)
    if row is None:
        raise NotFound(f"no outage {outage_id}")
    return _record(row)


@dataclass(frozen=True)
class CheckRecordView:
    """One stored check of a component's probe."""

    checked_at: datetime
    ok: bool
    detail: str
    rtt_ms: float | None
    worker: str


def check_history(
    session: Session, component_id: str, *, limit: int = 100, since: datetime | None = None
) -> list[CheckRecordView]:
    """A component's most recent checks, newest first."""
    query = (
        select(CheckResultRow)
        .where(CheckResultRow.component_id == component_id)
        .order_by(CheckResultRow.checked_at.desc(), CheckResultRow.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(CheckResultRow.checked_at >= since)
    return [CheckRecordView(r.checked_at, r.ok, r.detail, r.rtt_ms, r.worker) for r in session.scalars(query)]


@dataclass(frozen=True)
class ProbeView:
    """A probe on record: its damped health, last result, and which worker holds it."""

    component_id: str
    kind: str
    health: str
    health_since: datetime | None
    failures: int
    successes: int
    last_checked_at: datetime | None
    last_ok: bool | None
    last_detail: str | None
    last_rtt_ms: float | None
    warning: str | None
    owner: str | None
    lease_expires_at: datetime | None


def probe_views(session: Session) -> dict[str, ProbeView]:
    """Every enabled probe by component id."""
    rows = session.scalars(select(ProbeRow).where(ProbeRow.enabled))
    return {
        r.component_id: ProbeView(
            r.component_id,
            r.kind,
            r.health,
            r.health_since,
            r.failures,
            r.successes,
            r.last_checked_at,
            r.last_ok,
            r.last_detail,
            r.last_rtt_ms,
            r.warning,
            r.owner,
            r.lease_expires_at,
        )
        for r in rows
    }


@dataclass(frozen=True)
class Change:
    """One entry of the change feed."""

    id: int
    at: datetime
    kind: str
    ref: str
    summary: str
    data: dict[str, Any]


def changes_after(
    session: Session, after_id: int, *, limit: int = 200, kind: str | None = None, ref: str | None = None
) -> list[Change]:
    """Feed entries with an id above `after_id`, oldest first."""
    query = (
        select(StateChangeRow).where(StateChangeRow.id > after_id).order_by(StateChangeRow.id).limit(limit)
    )
    if kind is not None:
        query = query.where(StateChangeRow.kind == kind)
    if ref is not None:
        query = query.where(StateChangeRow.ref == ref)
    return [Change(r.id, r.at, r.kind, r.ref, r.summary, dict(r.data)) for r in session.scalars(query)]


def recent_changes(session: Session, *, kind: str, ref: str, limit: int = 50) -> list[Change]:
    """The latest feed entries about one thing, newest first."""
    query = (
        select(StateChangeRow)
        .where(StateChangeRow.kind == kind, StateChangeRow.ref == ref)
        .order_by(StateChangeRow.id.desc())
        .limit(limit)
    )
    return [Change(r.id, r.at, r.kind, r.ref, r.summary, dict(r.data)) for r in session.scalars(query)]


def last_change_id(session: Session) -> int:
    """The id of the newest feed entry (0 when empty): where a new follower starts."""
    newest = session.scalar(select(StateChangeRow.id).order_by(StateChangeRow.id.desc()).limit(1))
    return int(newest or 0)
