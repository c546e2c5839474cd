"""What the exercise programme records: exercises run against the live system, the plan's
yearly reviews and the reviews of vendors' own contingency plans.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Date, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from standby.store.tables.base import Base, json_column, one_of

EXERCISE_STATES = ("planned", "running", "finished")


class ExerciseRow(Base):
    """An exercise: a scenario injected into the live system, its objectives and results."""

    __tablename__ = "exercises"
    __table_args__ = (CheckConstraint(one_of("state", EXERCISE_STATES), name="state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    planned_on: Mapped[date | None] = mapped_column(Date)
    # The scenario: these components fail for this many minutes from the start.
    down: Mapped[list[str]] = mapped_column(json_column())
    minutes: Mapped[int] = mapped_column(Integer)
    objectives: Mapped[list[dict[str, Any]]] = mapped_column(json_column())
    # Outside groups (customers, regulator, vendors) the exercise tells all the same.
    tell: Mapped[list[str]] = mapped_column(json_column())
    state: Mapped[str] = mapped_column(String(10), index=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime | None]
    started_by: Mapped[str | None] = mapped_column(String(100))
    finished_at: Mapped[datetime | None] = mapped_column(index=True)
    finished_by: Mapped[str | None] = mapped_column(String(100))
    # Each objective measured (pass or fail, with its evidence) and the findings.
    results: Mapped[dict[str, Any] | None] = mapped_column(json_column())
    # Read by the workers to notice an exercise started or finished.
    updated_at: Mapped[datetime] = mapped_column(index=True)


class PlanReviewRow(Base):
    """One review of the plan: who, when, what changed since the last, and its sign-off."""

    __tablename__ = "plan_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reviewed_on: Mapped[date] = mapped_column(Date, index=True)
    reviewed_by: Mapped[str] = mapped_column(String(200))
    plan_version_id: Mapped[int | None] = mapped_column(Integer)
    changes: Mapped[list[str]] = mapped_column(json_column())
    notes: Mapped[str | None] = mapped_column(Text)
    signed_off_by: Mapped[str | None] = mapped_column(String(200))
    signed_off_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(100))


class VendorReviewRow(Base):
    """One review of a vendor's own contingency plan: its evidence and when the next is due."""

    __tablename__ = "vendor_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vendor_id: Mapped[str] = mapped_column(String(100), index=True)
    reviewed_on: Mapped[date] = mapped_column(Date)
    reviewed_by: Mapped[str] = mapped_column(String(200))
    next_due: Mapped[date] = mapped_column(Date)
    evidence_note: Mapped[str | None] = mapped_column(Text)
    evidence_link: Mapped[str | None] = mapped_column(String(2000))
    evidence_file_name: Mapped[str | None] = mapped_column(String(300))
    evidence_file_type: Mapped[str | None] = mapped_column(String(200))
    # Deferred: listing reviews should not read the files.
    evidence_file: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(100))
