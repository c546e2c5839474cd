"""On call as a service: overrides, who is on call now and next, acknowledging pages.

A service: functions take a Session and the time, and never commit (the unit of work
does). Overrides are cancelled, never deleted, so who covered when stays on record.

Acknowledging is idempotent and safe under concurrency: the page and the incident
are changed by conditional UPDATEs (`... WHERE acknowledged_at IS NULL`), so two
acknowledgements at once (a click on the link and a tap in the app) record one, and
the second is told the page was already acknowledged. Only the page's and the
incident's `acknowledged_at`, the incident's state (`detected` becomes
`acknowledged`; later states are left alone) and its `updated_at` change here; the
rest of the incident's life belongs to the incident lifecycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from standby.errors import InvalidInput, NotFound
from standby.plan.people import Rotation
from standby.plan.schema import Plan
from standby.respond.ack_links import AckClaim, InvalidLink, read_ack_token
from standby.respond.oncall import Override, Shift, next_handoff, on_call_at, shifts_between
from standby.respond.timeline import add_entry
from standby.store.tables import IncidentRow, PageRow, RotationOverrideRow

MAX_OVERRIDE = timedelta(days=90)
"""The longest one override may last: longer is a change of rotation, made in the plan."""
MAX_AHEAD = timedelta(days=366)
"""How far ahead an override may start."""
MAX_REASON = 1000
_CLOSED_STATES = ("resolved", "reviewed")

OverrideStatus = Literal["active", "upcoming", "ended", "cancelled"]
Via = Literal["api", "link"]


@dataclass(frozen=True)
class OverrideRecord:
    """An override as listed; times in UTC."""

    id: int
    rotation_id: str
    person_id: str
    starts_at: datetime
    ends_at: datetime
    reason: str | None
    created_by: str
    created_at: datetime
    cancelled_at: datetime | None
    status: OverrideStatus


@dataclass(frozen=True)
class RotationNow:
    """A rotation's shift now and the next handoff (None when nobody else ever takes over)."""

    rotation_id: str
    timezone: str
    current: Shift
    next: Shift | None


@dataclass(frozen=True)
class PageInfo:
    """A page and the incident it is about, as shown before acknowledging."""

    page_id: int
    incident_id: int
    incident_title: str
    incident_state: str
    person_id: str
    level: int
    round: int
    sent_at: datetime
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class AckResult:
    """What acknowledging did: `already_acknowledged` when the page had been acknowledged before."""

    page_id: int
    incident_id: int
    person_id: str
    level: int
    round: int
    acknowledged_at: datetime
    already_acknowledged: bool
    incident_state: str
    incident_acknowledged_at: datetime | None


# --- rotations and overrides ----------------------------------------------------------


def rotation_of(plan: Plan | None, rotation_id: str) -> Rotation:
    """The plan's rotation with this id; NotFound saying where to look."""
    for rotation in plan.rotations if plan is not None else ():
        if rotation.id == rotation_id:
            return rotation
    shown = rotation_id if len(rotation_id) <= 80 else rotation_id[:80] + "..."
    where = "no plan is loaded" if plan is None else "GET /api/v1/oncall lists the rotations"
    raise NotFound(f"no rotation {shown!r} in the plan in force; {where}")


def add_override(
    session: Session,
    *,
    plan: Plan,
    rotation_id: str,
    person_id: str,
    starts_at: datetime,
    ends_at: datetime,
    reason: str | None,
    created_by: str,
    now: datetime,
) -> OverrideRecord:
    """Put `person_id` on call for the rotation from `starts_at` to `ends_at`; InvalidInput saying why not.

    Times without an offset are in the plan's time zone. The person must be in the
    plan (not necessarily a member of the rotation); the override must end after it
    starts, last at most MAX_OVERRIDE, not have ended already, and start within MAX_AHEAD.
    Where it overlaps an earlier override, this one wins (see respond.oncall).
    """
    rotation_of(plan, rotation_id)
    if person_id not in plan.people_by_id:
        shown = person_id if len(person_id) <= 80 else person_id[:80] + "..."
        raise InvalidInput(
            f"person_id: no person {shown!r} in the plan in force; the plan's people section lists them"
        )
    text = reason.strip() if reason is not None else None
    if text is not None and len(text) > MAX_REASON:
        raise InvalidInput(f"reason: at most {MAX_REASON} characters")
    zone = ZoneInfo(plan.organisation.timezone)
    start = _aware(starts_at, zone).astimezone(UTC).replace(microsecond=0)
    end = _aware(ends_at, zone).astimezone(UTC).replace(microsecond=0)
    if end <= start:
        raise InvalidInput(f"ends_at: {end.isoformat()} must be after starts_at ({start.isoformat()})")
    if end - start > MAX_OVERRIDE:
        raise InvalidInput(
            f"ends_at: the override would last {(end - start).total_seconds() / 86400:.1f} days,"
            f" more than {MAX_OVERRIDE.days}; for longer, change the rotation in the plan"
        )
    if end <= now:
        raise InvalidInput(f"ends_at: {end.isoformat()} has passed; an override must end in the future")
    if start - now > MAX_AHEAD:
        raise InvalidInput(
            f"starts_at: {start.isoformat()} is more than {MAX_AHEAD.days} days away;"
            " arrange it nearer the time"
        )
    row = RotationOverrideRow(
        rotation_id=rotation_id,
        person_id=person_id,
        starts_at=start,
        ends_at=end,
        reason=text or None,
        created_by=created_by[:100],
        created_at=now,
        cancelled_at=None,
    )
    session.add(row)
    session.flush()
    return _record(row, now)


def list_overrides(
    session: Session, *, rotation_id: str, now: datetime, include_past: bool = False
) -> list[OverrideRecord]:
    """A rotation's overrides by start; without `include_past`, only active and upcoming ones."""
    query = select(RotationOverrideRow).where(RotationOverrideRow.rotation_id == rotation_id)
    if not include_past:
        query = query.where(RotationOverrideRow.cancelled_at.is_(None), RotationOverrideRow.ends_at > now)
    rows = session.scalars(query.order_by(RotationOverrideRow.starts_at, RotationOverrideRow.id))
    return [_record(row, now) for row in rows]


def get_override(session: Session, *, rotation_id: str, override_id: int, now: datetime) -> OverrideRecord:
    """One override of the rotation, cancelled ones too; NotFound if none."""
    return _record(_override_row(session, rotation_id, override_id), now)


def cancel_override(session: Session, *, rotation_id: str, override_id: int, now: datetime) -> OverrideRecord:
    """Cancel an override at once (the rotation's turn applies again); cancelling twice changes nothing."""
    row = _override_row(session, rotation_id, override_id)
    if row.cancelled_at is None:
        row.cancelled_at = now
        session.flush()
    return _record(row, now)


def overrides_in_force(
    session: Session, *, plan: Plan, around: datetime, rotation_ids: Iterable[str] | None = None
) -> dict[str, list[Override]]:
    """Each rotation's uncancelled overrides that can shape its shifts from `around` on, by rotation id.

    Overrides naming someone no longer in the plan are left out: the rotation's turn
    applies instead of paging someone the plan cannot reach.
    """
    wanted = [r.id for r in plan.rotations] if rotation_ids is None else list(rotation_ids)
    found: dict[str, list[Override]] = {rotation_id: [] for rotation_id in wanted}
    if not wanted:
        return found
    # Overrides that can still shape the shifts from `around` on: any ending after the
    # start of the turn that an override running into `around` may have cut.
    longest = max((r.length_days for r in plan.rotations), default=7)
    look_back = MAX_OVERRIDE + timedelta(days=longest + 2)
    rows = session.scalars(
        select(RotationOverrideRow)
        .where(
            RotationOverrideRow.rotation_id.in_(wanted),
            RotationOverrideRow.cancelled_at.is_(None),
            RotationOverrideRow.ends_at > around - look_back,
        )
        .order_by(RotationOverrideRow.id)
    )
    people = plan.people_by_id
    for row in rows:
        if row.person_id in people:
            found[row.rotation_id].append(
                Override(row.person_id, row.starts_at, row.ends_at, row.created_at, row.id, row.reason)
            )
    return found


def who_is_on_call(session: Session, *, plan: Plan, now: datetime) -> list[RotationNow]:
    """Every rotation of the plan, in plan order: who is on call at `now` and who is next, from when."""
    overrides = overrides_in_force(session, plan=plan, around=now)
    return [_now(plan, rotation, overrides[rotation.id], now) for rotation in plan.rotations]


def rotation_now(session: Session, *, plan: Plan, rotation_id: str, now: datetime) -> RotationNow:
    """One rotation: who is on call at `now` and who is next; NotFound for an unknown rotation."""
    rotation = rotation_of(plan, rotation_id)
    overrides = overrides_in_force(session, plan=plan, around=now, rotation_ids=[rotation_id])
    return _now(plan, rotation, overrides[rotation_id], now)


def _now(plan: Plan, rotation: Rotation, overrides: list[Override], now: datetime) -> RotationNow:
    zone = plan.organisation.timezone
    return RotationNow(
        rotation_id=rotation.id,
        timezone=zone,
        current=on_call_at(rotation, overrides, now, zone),
        next=next_handoff(rotation, overrides, now, zone),
    )


def rotation_shifts(
    session: Session, *, plan: Plan, rotation_id: str, start: datetime, end: datetime
) -> list[Shift]:
    """The rotation's shifts overlapping [start, end), overrides applied (see respond.oncall)."""
    rotation = rotation_of(plan, rotation_id)
    overrides = overrides_in_force(session, plan=plan, around=start, rotation_ids=[rotation_id])
    return shifts_between(rotation, overrides[rotation_id], start, end, plan.organisation.timezone)


# --- acknowledging pages --------------------------------------------------------------


def page_info(session: Session, *, page_id: int, claim: AckClaim | None = None) -> PageInfo:
    """A page and its incident; NotFound if none. With `claim`, InvalidLink unless it is for this page."""
    page, incident = _page_and_incident(session, page_id, claim)
    return PageInfo(
        page_id=page.id,
        incident_id=incident.id,
        incident_title=incident.title,
        incident_state=incident.state,
        person_id=page.person_id,
        level=page.level,
        round=page.round,
        sent_at=page.sent_at,
        acknowledged_at=page.acknowledged_at,
    )


def page_for_token(session: Session, *, secret: str, token: str, now: datetime) -> PageInfo:
    """The page a signed link acknowledges; InvalidLink when it is malformed, forged, expired or stale."""
    claim = read_ack_token(secret, token, now)
    return page_info(session, page_id=claim.page_id, claim=claim)


def acknowledge_page(
    session: Session,
    *,
    page_id: int,
    by: str,
    now: datetime,
    claim: AckClaim | None = None,
    via: Via = "api",
    plan: Plan | None = None,
) -> AckResult:
    """Acknowledge a page: the page and (unless closed) its incident, with a timeline entry.

    The incident's `acknowledged_at` is set the first time any of its pages is
    acknowledged, and its state moves from `detected` to `acknowledged`; an incident
    already resolved keeps its state and times. Acknowledging again changes nothing and
    says so (`already_acknowledged`). `by` is the actor on the timeline; `plan` (when
    given) names the person in the entry's text.
    """
    page, incident = _page_and_incident(session, page_id, claim)
    marked = session.execute(
        update(PageRow)
        .where(PageRow.id == page.id, PageRow.acknowledged_at.is_(None))
        .values(acknowledged_at=now)
        .execution_options(synchronize_session=False)
    )
    first = _rowcount(marked) == 1
    if first:
        incident_was_acknowledged = incident.acknowledged_at is not None
        session.execute(
            update(IncidentRow)
            .where(
                IncidentRow.id == incident.id,
                IncidentRow.acknowledged_at.is_(None),
                IncidentRow.state.not_in(_CLOSED_STATES),
            )
            .values(acknowledged_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(IncidentRow)
            .where(IncidentRow.id == incident.id, IncidentRow.state == "detected")
            .values(state="acknowledged", updated_at=now)
            .execution_options(synchronize_session=False)
        )
        person = plan.people_by_id.get(page.person_id) if plan is not None else None
        name = person.name if person is not None else page.person_id
        how = "through the link in the message" if via == "link" else "in Standby"
        text = f"Page to {name} (level {page.level + 1}, round {page.round + 1}) acknowledged {how}"
        if by != page.person_id:
            text += f" by {by}"
        if incident_was_acknowledged:
            text += "; the incident had already been acknowledged"
        add_entry(
            session,
            incident_id=incident.id,
            at=now,
            kind="ack",
            actor=by,
            text=text,
            data={
                "page_id": page.id,
                "person_id": page.person_id,
                "level": page.level,
                "round": page.round,
                "via": via,
            },
        )
    session.flush()
    session.refresh(page)
    session.refresh(incident)
    assert page.acknowledged_at is not None
    return AckResult(
        page_id=page.id,
        incident_id=incident.id,
        person_id=page.person_id,
        level=page.level,
        round=page.round,
        acknowledged_at=page.acknowledged_at,
        already_acknowledged=not first,
        incident_state=incident.state,
        incident_acknowledged_at=incident.acknowledged_at,
    )


def acknowledge_by_token(
    session: Session, *, secret: str, token: str, now: datetime, plan: Plan | None = None
) -> AckResult:
    """Acknowledge the page a signed link names, as the person it was sent to; InvalidLink if unusable."""
    claim = read_ack_token(secret, token, now)
    return acknowledge_page(
        session, page_id=claim.page_id, by=claim.person_id, now=now, claim=claim, via="link", plan=plan
    )


# --- helpers --------------------------------------------------------------------------


def _page_and_incident(session: Session, page_id: int, claim: AckClaim | None) -> tuple[PageRow, IncidentRow]:
    page = session.get(PageRow, page_id) if 0 <= page_id < 2**31 else None
    if claim is not None and (
        page is None or page.incident_id != claim.incident_id or page.person_id != claim.person_id
    ):
        # A valid signature for a page that is gone or was renumbered (a restored backup).
        raise InvalidLink(
            "forged",
            "this acknowledgement link does not match any page Standby sent;"
            " acknowledge the page in Standby instead",
        )
    if page is None:
        raise NotFound(f"no page {page_id}; an incident's timeline lists its pages")
    incident = session.get(IncidentRow, page.incident_id)
    if incident is None:
        raise NotFound(f"page {page_id} belongs to incident {page.incident_id}, which no longer exists")
    return page, incident


def _override_row(session: Session, rotation_id: str, override_id: int) -> RotationOverrideRow:
    row = session.get(RotationOverrideRow, override_id) if 0 <= override_id < 2**31 else None
    if row is None or row.rotation_id != rotation_id:
        shown = rotation_id if len(rotation_id) <= 80 else rotation_id[:80] + "..."
        raise NotFound(
            f"no override {override_id} of rotation {shown!r};"
            f" GET /api/v1/oncall/{shown}/overrides lists them"
        )
    return row


def _record(row: RotationOverrideRow, now: datetime) -> OverrideRecord:
    status: OverrideStatus
    if row.cancelled_at is not None:
        status = "cancelled"
    elif row.ends_at <= now:
        status = "ended"
    elif row.starts_at <= now:
        status = "active"
    else:
        status = "upcoming"
    return OverrideRecord(
        id=row.id,
        rotation_id=row.rotation_id,
        person_id=row.person_id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
        cancelled_at=row.cancelled_at,
        status=status,
    )


def _aware(when: datetime, zone: ZoneInfo) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        # fold=0, as for handoffs: a skipped time lands after the gap, a repeated one is the first.
        return when.replace(tzinfo=zone)
    return when


def _rowcount(result: object) -> int:
    count = getattr(result, "rowcount", 0)
    return int(count) if isinstance(count, int) else 0


__all__ = [
    "MAX_AHEAD",
    "MAX_OVERRIDE",
    "AckResult",
    "OverrideRecord",
    "PageInfo",
    "RotationNow",
    "acknowledge_by_token",
    "acknowledge_page",
    "add_override",
    "cancel_override",
    "get_override",
    "list_overrides",
    "overrides_in_force",
    "page_for_token",
    "page_info",
    "rotation_now",
    "rotation_of",
    "rotation_shifts",
    "who_is_on_call",
]
