"""What Learn records: the review written after an incident, and the actions it (or an exercise) sets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from standby.store.tables.base import Base, json_column, one_of

ACTION_KINDS = ("prevent", "detect", "mitigate", "process")
ACTION_STATES = ("open", "closed")


class ReviewRow(Base):
    """The written part of an incident's review: what people concluded, and who signed it off."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(Integer, unique=True)
    factors: Mapped[str] = mapped_column(Text, default="")
    went_well: Mapped[str] = mapped_column(Text, default="")
    went_wrong: Mapped[str] = mapped_column(Text, default="")
    lucky: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))
    signed_off_at: Mapped[datetime | None]
    signed_off_by: Mapped[str | None] = mapped_column(String(100))


class ActionRow(Base):
    """Something to do so the next outage goes better: who, by when, what kind, about what."""

    __tablename__ = "actions"
    __table_args__ = (
        CheckConstraint(one_of("kind", ACTION_KINDS), name="kind"),
        CheckConstraint(one_of("state", ACTION_STATES), name="state"),
        Index("ix_actions_state_due_at", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Where it came from: an incident's review, or anything else (an exercise) named by `source`.
    incident_id: Mapped[int | None] = mapped_column(Integer, index=True)
    source: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    due_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(10))
    # The plan's parts it is about: "component:ID" or "vendor:ID".
    links: Mapped[list[str]] = mapped_column(json_column())
    state: Mapped[str] = mapped_column(String(6))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(100))
    close_note: Mapped[str | None] = mapped_column(Text)
    # The last overdue occurrence its owner was reminded of (0: at the due time, n: n weeks on).
    reminded_due_at: Mapped[datetime | None]
    reminded_occurrence: Mapped[int | None] = mapped_column(Integer)
