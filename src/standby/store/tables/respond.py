"""What Respond records: incidents and their timeline, pages, on-call overrides,
the communication plan's progress, and continuity strategies run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from standby.store.tables.base import Base, json_column, one_of

INCIDENT_STATES = (
    "detected",
    "acknowledged",
    "diagnosing",
    "recovering",
    "verifying",
    "resolved",
    "reviewed",
)
STRATEGY_STATES = ("proposed", "running", "done", "declined")

_BigId = BigInteger().with_variant(Integer(), "sqlite")


class IncidentRow(Base):
    """An incident: opened by an outage or declared by hand, worked through its steps."""

    __tablename__ = "incidents"
    __table_args__ = (CheckConstraint(one_of("state", INCIDENT_STATES), name="state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # One incident per outage, whatever the number of workers that see it open.
    outage_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(14))
    severity: Mapped[int] = mapped_column(Integer)
    classification: Mapped[str] = mapped_column(String(12))
    commander: Mapped[str | None] = mapped_column(String(100))
    communications_lead: Mapped[str | None] = mapped_column(String(100))
    technical_lead: Mapped[str | None] = mapped_column(String(100))
    declared_by: Mapped[str | None] = mapped_column(String(100))
    policy_id: Mapped[str | None] = mapped_column(String(100))
    detected_at: Mapped[datetime] = mapped_column(index=True)
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    # Escalation: where paging stands and when the next level is due.
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalation_round: Mapped[int] = mapped_column(Integer, default=0)
    next_escalation_at: Mapped[datetime | None] = mapped_column(index=True)
    # While an outage may still turn out to be an interruption, audiences that do not
    # want interruptions are not told (DESIGN.md, "Classification").
    hold_until: Mapped[datetime | None]
    plan_version_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime]
    # Opened by an exercise's outage: flagged everywhere, outside audiences not told.
    exercise_id: Mapped[int | None] = mapped_column(Integer, index=True)


class TimelineRow(Base):
    """One entry of an incident's timeline: a change, message, action or note, who and when."""

    __tablename__ = "timeline"
    __table_args__ = (Index("ix_timeline_incident_at", "incident_id", "at"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(json_column())


class PageRow(Base):
    """A page to one person at one escalation level and round; acknowledged by API or link."""

    __tablename__ = "pages"
    __table_args__ = (
        UniqueConstraint("incident_id", "round", "level", "person_id", name="uq_pages_incident_step"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(Integer, index=True)
    person_id: Mapped[str] = mapped_column(String(100))
    level: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]


class RotationOverrideRow(Base):
    """Someone covering a rotation for a while (a swap, a sick day)."""

    __tablename__ = "rotation_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rotation_id: Mapped[str] = mapped_column(String(100), index=True)
    person_id: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]


class CommunicationRow(Base):
    """Where the communication plan stands for one incident and one stakeholder group."""

    __tablename__ = "communications"
    __table_args__ = (
        UniqueConstraint("incident_id", "stakeholder_id", name="uq_communications_incident_stakeholder"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(Integer, index=True)
    stakeholder_id: Mapped[str] = mapped_column(String(100))
    # The promise: told by this time (within_minutes), and whether it was kept.
    due_by: Mapped[datetime | None]
    first_told_at: Mapped[datetime | None]
    updates_sent: Mapped[int] = mapped_column(Integer, default=0)
    next_update_at: Mapped[datetime | None] = mapped_column(index=True)
    reminded_at: Mapped[datetime | None]
    resolved_told_at: Mapped[datetime | None]
    deadline_missed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Where the deadline stands by the outbox's deliveries (respond.deadlines): "met:delivered",
    # "at_risk:parked", "missed:late" and so on, why, and the evidence's time.
    deadline_step: Mapped[str | None] = mapped_column(String(24))
    deadline_reason: Mapped[str | None] = mapped_column(Text)
    deadline_at: Mapped[datetime | None]


class StrategyRunRow(Base):
    """A continuity strategy proposed or run for an incident, with its runbook's ticks."""

    __tablename__ = "strategy_runs"
    __table_args__ = (
        UniqueConstraint("incident_id", "strategy_id", name="uq_strategy_runs_incident_strategy"),
        CheckConstraint(one_of("state", STRATEGY_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(Integer, index=True)
    strategy_id: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(12))
    proposed_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    # One entry per runbook step: {"step": text, "done_at": iso or null, "by": name or null}.
    steps: Mapped[list[dict[str, Any]]] = mapped_column(json_column())


class AgentRow(Base):
    """An agent who can be told where to work: the plan counts agents, this names them."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[str] = mapped_column(String(100), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(320))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime]
