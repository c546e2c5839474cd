"""Rows of an outage's customers written straight into the database, for the compensation
and summary tests (the import code is tested on its own)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy.orm import Session

from standby.store.tables import IncidentRow, OutageRow
from standby.store.tables.customers import CallbackEventRow, CallbackRow, InterruptedCallRow, OutcomeRow

START = datetime(2026, 6, 15, 11, 0, tzinfo=UTC)  # 12:00 in London
END = START + timedelta(hours=3, minutes=10)
_ids = count(1)


def add_outage(
    session: Session,
    *,
    started_at: datetime = START,
    ended_at: datetime | None = END,
    queues: tuple[str, ...] = ("billing",),
    merged_into: int | None = None,
    incident: bool = False,
) -> int:
    """An outage that stopped `queues`; with its incident when asked."""
    row = OutageRow(
        started_at=started_at,
        detected_at=started_at,
        ended_at=ended_at,
        classification="partial",
        peak_classification="partial",
        causes=["ivr"],
        components=["ivr"],
        sites=[],
        queues=[] if ended_at else list(queues),
        degraded_queues=[],
        history={"components": ["ivr"], "sites": [], "queues": list(queues)},
        in_maintenance=False,
        summary="IVR down",
        merged_into=merged_into,
        updated_at=ended_at or started_at,
    )
    session.add(row)
    session.flush()
    if incident:
        session.add(
            IncidentRow(
                outage_id=row.id,
                title="IVR down",
                state="detected",
                severity=2,
                classification="partial",
                detected_at=started_at,
                escalation_level=0,
                escalation_round=0,
                updated_at=started_at,
            )
        )
    return row.id


def phone(n: int) -> str:
    """A UK mobile number in international form, one per `n`."""
    return f"+4477009{n:05d}"


def add_callback(session: Session, outage_id: int | None, n: int, **values: Any) -> None:
    """Customer `n`'s callback in billing, due 30 minutes into the outage."""
    due = values.pop("due_at", START + timedelta(minutes=30))
    fields: dict[str, Any] = {
        "customer": f"Customer {n}",
        "phone": phone(n),
        "customer_key": phone(n),
        "email": f"c{n}@example.com",
        "queue": "billing",
        "vulnerable": False,
        "requested_due_at": due,
        "due_at": due,
        "state": "flagged",
        "outage_id": outage_id,
        "missed": False,
        "moves": 0,
        "source": "api",
        "created_by": "test",
        "created_at": START - timedelta(days=1),
        "updated_at": START,
    }
    fields.update(values)
    row = CallbackRow(**fields)
    session.add(row)
    session.flush()
    # Its history, as the passes write it: what the outage's figures and offers are read from.
    if outage_id is not None:
        flagged = {"outage_id": outage_id, "due_at": row.requested_due_at.isoformat()}
        add_event(session, row.id, outage_id, "flagged", flagged)
        if row.rescheduled_at is not None:
            add_event(session, row.id, outage_id, "rescheduled")
        elif row.missed:
            add_event(session, row.id, outage_id, "unplaced" if row.state == "unplaced" else "rescheduled")


def add_event(
    session: Session, callback_id: int, outage_id: int, kind: str, data: dict[str, Any] | None = None
) -> None:
    """An entry of a callback's history about an outage."""
    session.add(
        CallbackEventRow(
            callback_id=callback_id,
            at=START,
            kind=kind,
            actor="standby",
            text=f"{kind} in outage {outage_id}",
            data=data or {"outage_id": outage_id},
            outage_id=outage_id,
        )
    )


def add_call(session: Session, outage_id: int | None, n: int, **values: Any) -> None:
    """Customer `n`'s call in billing, cut off when the outage started."""
    fields: dict[str, Any] = {
        "call_id": f"call-{next(_ids)}-{n}",
        "customer": f"Customer {n}",
        "phone": phone(n),
        "customer_key": phone(n),
        "queue": "billing",
        "vulnerable": False,
        "started_at": START - timedelta(minutes=4),
        "cut_at": START,
        "outage_id": outage_id,
        "state": "open",
        "source": "api",
        "created_by": "test",
        "created_at": START,
        "updated_at": START,
    }
    fields.update(values)
    session.add(InterruptedCallRow(**fields))


def add_outcome(session: Session, outage_id: int | None, n: int, *, follow_up: bool = False) -> None:
    """An outcome an agent logged for customer `n`."""
    session.add(
        OutcomeRow(
            client_id=f"client-{next(_ids)}",
            customer=f"Customer {n}",
            phone=phone(n),
            customer_key=phone(n),
            queue="billing",
            reason="bill query",
            outcome="explained the charge",
            follow_up=follow_up,
            agent="amy",
            logged_at=START + timedelta(minutes=20),
            outage_id=outage_id,
            received_at=START + timedelta(minutes=20),
            received_by="amy",
        )
    )
