"""Telling subscribers: each new public notice to each confirmed subscriber, once, through the outbox.

A service: it never commits. The status board calls it after each rendering (never a
request). A notice is claimed by inserting its `status_announcements` row with ON
CONFLICT DO NOTHING .. RETURNING: only the server whose insert went in fans it out,
in the same transaction, so a crash before the commit leaves neither the claim nor a
message, and the next pass does it all again. The messages' idempotency keys
(`status:{subscriber}:{notice}`) make even a repeated fan-out store each message once.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from standby.notify.outbox import put_many
from standby.status.announcements import Announcement, announcements, messages_for
from standby.status.snapshot import Snapshot
from standby.status.subscriber_service import confirmed_subscribers
from standby.store.tables import IncidentRow, StatusAnnouncementRow


def exercise_incidents(session: Session, incident_ids: Collection[int]) -> frozenset[int]:
    """The incidents among these that belong to an exercise: never told to subscribers.

    The snapshot already leaves exercises out (status.snapshot_service); this holds even
    for a notice made before an incident was known to be one.
    """
    if not incident_ids:
        return frozenset()
    return frozenset(
        session.scalars(
            select(IncidentRow.id).where(
                IncidentRow.id.in_(sorted(incident_ids)), IncidentRow.exercise_id.is_not(None)
            )
        )
    )


def tell_subscribers(session: Session, snapshot: Snapshot, *, base_url: str, now: datetime) -> int:
    """Put every new notice of `snapshot` in the outbox for each subscriber it reaches; how many messages."""
    news = announcements(snapshot, base_url, now=now)
    exercises = exercise_incidents(session, {a.incident_id for a in news if a.incident_id is not None})
    news = [a for a in news if a.incident_id not in exercises]
    if not news:
        return 0
    known = set(
        session.scalars(
            select(StatusAnnouncementRow.key).where(StatusAnnouncementRow.key.in_([a.key for a in news]))
        )
    )
    fresh = [a for a in news if a.key not in known]
    if not fresh:
        return 0
    claimed = _claim(session, fresh, now)
    mine = [a for a in fresh if a.key in claimed]
    if not mine:
        return 0
    subscribers = confirmed_subscribers(session)
    told = 0
    for announcement in mine:
        messages = messages_for(
            [announcement], subscribers, organisation=snapshot.organisation, base_url=base_url
        )
        put_many(session, messages, now=now)
        session.execute(
            update(StatusAnnouncementRow)
            .where(StatusAnnouncementRow.key == announcement.key)
            .values(recipients=len(messages))
        )
        told += len(messages)
    return told


def _claim(session: Session, fresh: list[Announcement], now: datetime) -> set[str]:
    """Insert the notices' rows, skipping those another server inserted; the keys this one did."""
    values = [
        {
            "key": a.key,
            "recipients": 0,
            "told_at": now,
            "data": {"kind": a.kind, "incident_id": a.incident_id, "status": a.status},
        }
        for a in fresh
    ]
    row = StatusAnnouncementRow
    if session.get_bind().dialect.name == "postgresql":
        pg = postgresql.insert(row).values(values).on_conflict_do_nothing(index_elements=["key"])
        return set(session.scalars(pg.returning(row.key)))
    lite = sqlite.insert(row).values(values).on_conflict_do_nothing(index_elements=["key"])
    return set(session.scalars(lite.returning(row.key)))
