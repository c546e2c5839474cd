"""Refused alerts: kept with who sent them, where in their request, why, and as they came.

A service: functions take a Session and the time, and never commit. One row per
(source, receiver, alert, reason): the same alert refused again for the same reason
counts on its row, so a sender that keeps posting it does not fill the table. Kept
apart from `alerts`, which are one per dedup key and make component states: a refused
alert has no component and maybe no usable key, and must never count towards a state.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from standby.detect.paging import PageCursor, after_cursor
from standby.store.tables import RefusedAlertRow
from standby.store.upsert import upsert

MAX_RAW_ALERT = 16_384
"""Characters of a refused alert's JSON text kept; the rest is cut (and `raw_truncated` set)."""


@dataclass(frozen=True)
class RefusedAlertInfo:
    """An alert Standby could not take: from whom, where in its request, why, and as it came."""

    id: int
    source: str
    receiver: str
    dedup_key: str | None
    group_key: str | None
    position: int
    """Its index in the request's alerts (0 for an event)."""
    location: str
    """Where the problem is, such as `alerts.2.labels.standby_component`."""
    label: str | None
    """The label (or field) at fault, when there is one."""
    reason: str
    raw: str
    """The alert as it came, as JSON text (ASCII), at most MAX_RAW_ALERT characters."""
    raw_truncated: bool
    first_at: datetime
    last_at: datetime
    received: int
    """How often this same alert was refused for this same reason."""


def refuse(
    session: Session,
    *,
    source: str,
    receiver: str,
    dedup_key: str | None,
    group_key: str | None,
    position: int,
    location: str,
    label: str | None,
    reason: str,
    raw: Any,
    now: datetime,
) -> RefusedAlertInfo:
    """Keep a refused alert: one row per (source, receiver, alert, reason); a repeat counts on it."""
    text, truncated = raw_text(raw)
    identity = dedup_key if dedup_key is not None else text
    parts = "\x00".join((source, receiver, identity, label or "", reason))
    digest = hashlib.sha256(parts.encode("utf-8", "backslashreplace"))
    values = {
        "key": digest.hexdigest(),
        "source": source,
        "receiver": receiver[:100],
        "dedup_key": dedup_key,
        "group_key": _printable(group_key) if group_key else None,
        "position": position,
        "location": _printable(location)[:300],
        "label": _printable(label)[:300] if label is not None else None,
        "reason": _printable(reason),
        "raw": text,
        "raw_truncated": truncated,
        "first_at": now,
        "last_at": now,
        "received": 1,
    }
    table = RefusedAlertRow.__table__

    def changes(excluded: Any) -> dict[str, Any]:
        return {
            "group_key": excluded.group_key,
            "position": excluded.position,
            "location": excluded.location,
            "raw": excluded.raw,
            "raw_truncated": excluded.raw_truncated,
            "last_at": excluded.last_at,
            "received": table.c.received + 1,
        }

    upsert(session, RefusedAlertRow, values, keys=("key",), changes=changes)
    row = session.scalars(
        select(RefusedAlertRow)
        .where(RefusedAlertRow.key == values["key"])
        .execution_options(populate_existing=True)
    ).one()
    return _refused_info(row)


def list_refused_alerts(
    session: Session, *, since: datetime | None = None, limit: int = 100, after: PageCursor | None = None
) -> list[RefusedAlertInfo]:
    """Refused alerts, the most recently refused first; `after` (a `last_at` and id) to page on."""
    query = select(RefusedAlertRow).order_by(RefusedAlertRow.last_at.desc(), RefusedAlertRow.id.desc())
    if since is not None:
        query = query.where(RefusedAlertRow.last_at >= since)
    if after is not None:
        query = query.where(after_cursor(RefusedAlertRow.last_at, RefusedAlertRow.id, after))
    return [_refused_info(row) for row in session.scalars(query.limit(limit))]


def count_refused_alerts(session: Session, *, since: datetime) -> int:
    """How many distinct alerts were refused since a time."""
    query = select(func.count()).select_from(RefusedAlertRow).where(RefusedAlertRow.last_at >= since)
    return int(session.scalar(query) or 0)


def raw_text(raw: Any) -> tuple[str, bool]:
    """An alert as ASCII JSON text (NULs, lone surrogates escaped) cut to MAX_RAW_ALERT; and if it was cut."""
    try:
        text = json.dumps(raw, ensure_ascii=True, separators=(",", ":"), sort_keys=False, default=str)
    except (ValueError, RecursionError):
        text = json.dumps(repr(raw)[:MAX_RAW_ALERT], ensure_ascii=True)
    if len(text) <= MAX_RAW_ALERT:
        return text, False
    return text[:MAX_RAW_ALERT], True


def _printable(text: str) -> str:
    # Reasons and locations quote what was sent: make them storable text (no NUL, no lone surrogate).
    return text.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


def _refused_info(row: RefusedAlertRow) -> RefusedAlertInfo:
    return RefusedAlertInfo(
        id=row.id,
        source=row.source,
        receiver=row.receiver,
        dedup_key=row.dedup_key,
        group_key=row.group_key,
        position=row.position,
        location=row.location,
        label=row.label,
        reason=row.reason,
        raw=row.raw,
        raw_truncated=row.raw_truncated,
        first_at=row.first_at,
        last_at=row.last_at,
        received=row.received,
    )
