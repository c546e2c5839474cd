"""What Detect records: probe leases and health, check results, alerts, heartbeats,
metric samples, maintenance windows, component states, outages and the change feed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from standby.store.tables.base import Base, json_column, one_of

COMPONENT_STATES = ("up", "degraded", "down", "maintenance", "unknown")
PROBE_HEALTH = ("up", "down", "unknown")
ALERT_STATUSES = ("firing", "acknowledged", "resolved")
CLASSIFICATIONS = ("total", "partial", "degraded", "interruption")

# A BIGINT on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


class ComponentStateRow(Base):
    """The live state of a component as the correlation last wrote it; no row means `unknown`."""

    __tablename__ = "component_states"
    __table_args__ = (CheckConstraint(one_of("state", COMPONENT_STATES), name="state"),)

    component_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[str] = mapped_column(String(12))
    since: Mapped[datetime]
    updated_at: Mapped[datetime]
    detail: Mapped[str | None] = mapped_column(Text)


class ProbeRow(Base):
    """One component's probe: its damped health, and which worker holds its lease until when."""

    __tablename__ = "probes"
    __table_args__ = (CheckConstraint(one_of("health", PROBE_HEALTH), name="health"),)

    component_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    # The probe's settings as JSON: a worker checks exactly what the plan in force says,
    # and a change of settings resets the counters.
    settings: Mapped[dict[str, Any]] = mapped_column(json_column())
    settings_sha: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    health: Mapped[str] = mapped_column(String(12), default="unknown")
    health_since: Mapped[datetime | None]
    # When the current run of failures (or successes) began: a probe goes down at its
    # first failed check, not at the one that confirmed it.
    run_started_at: Mapped[datetime | None]
    # When watching this probe's settings began: a heartbeat's grace period runs from here,
    # whichever worker holds it and however often they restart.
    watched_since: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(Integer, default=0)
    successes: Mapped[int] = mapped_column(Integer, default=0)
    last_checked_at: Mapped[datetime | None]
    last_ok: Mapped[bool | None] = mapped_column(Boolean)
    last_detail: Mapped[str | None] = mapped_column(Text)
    last_rtt_ms: Mapped[float | None] = mapped_column(Float)
    warning: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(index=True)


class CheckResultRow(Base):
    """One check of one component's probe; pruned after the retention period."""

    __tablename__ = "check_results"
    __table_args__ = (Index("ix_check_results_component_at", "component_id", "checked_at"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    component_id: Mapped[str] = mapped_column(String(100))
    checked_at: Mapped[datetime] = mapped_column(index=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(Text)
    rtt_ms: Mapped[float | None] = mapped_column(Float)
    worker: Mapped[str] = mapped_column(String(64))


class HeartbeatRow(Base):
    """The last heartbeat the platform posted for a component."""

    __tablename__ = "heartbeats"

    component_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_at: Mapped[datetime]
    received: Mapped[int] = mapped_column(BigInteger, default=0)


class MetricSampleRow(Base):
    """A value posted to /api/v1/metrics; metric probes average them over their window."""

    __tablename__ = "metric_samples"
    __table_args__ = (Index("ix_metric_samples_metric_at", "metric", "at"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    metric: Mapped[str] = mapped_column(String(100))
    value: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(index=True)


class ReceiverTokenRow(Base):
    """A token that an alert source presents: it may only post alerts, heartbeats and metrics."""

    __tablename__ = "receiver_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AlertRow(Base):
    """An alert from Alertmanager or an Events v2 source, one row per dedup key."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("source", "dedup_key", name="uq_alerts_source_dedup_key"),
        CheckConstraint(one_of("status", ALERT_STATUSES), name="status"),
        # GET /api/v1/alerts pages by (updated_at, id), newest first.
        Index("ix_alerts_updated_at_id", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    dedup_key: Mapped[str] = mapped_column(String(255))
    component_id: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(12))
    severity: Mapped[str] = mapped_column(String(12))
    summary: Mapped[str] = mapped_column(Text)
    receiver: Mapped[str] = mapped_column(String(100))
    first_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    received: Mapped[int] = mapped_column(Integer, default=1)
    payload: Mapped[dict[str, Any]] = mapped_column(json_column())


class RefusedAlertRow(Base):
    """An alert Standby could not take, with why; one row per (source, receiver, alert, reason).

    Kept apart from `alerts`: a refused alert has no component and maybe no usable key,
    and must never count towards a component's state. A repeat of the same refusal
    updates its row (`received`, `last_at`), so a sender that keeps posting it does not
    fill the table.
    """

    __tablename__ = "refused_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # SHA-256 of source, receiver, the alert's identity and the reason: the row's identity.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(20))
    receiver: Mapped[str] = mapped_column(String(100))
    dedup_key: Mapped[str | None] = mapped_column(String(255))
    group_key: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    location: Mapped[str] = mapped_column(String(300))
    label: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text)
    # The alert as it came, as ASCII JSON text (so NULs and lone surrogates survive), cut short.
    raw: Mapped[str] = mapped_column(Text)
    raw_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime] = mapped_column(index=True)
    received: Mapped[int] = mapped_column(Integer, default=1)


class ChangeEventRow(Base):
    """A PagerDuty change event (a deploy, a config change): context for outages, not an alert."""

    __tablename__ = "change_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receiver: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(255))
    component_id: Mapped[str | None] = mapped_column(String(100), index=True)
    # When the change happened (the event's timestamp), else when it was received.
    at: Mapped[datetime] = mapped_column(index=True)
    received_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(json_column())


class MaintenanceWindowRow(Base):
    """A maintenance window declared through the API (the plan's own are read from the plan)."""

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    # Component ids; an empty list covers every component.
    components: Mapped[list[str]] = mapped_column(json_column())
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # An RFC 5545 RRULE such as "FREQ=WEEKLY;BYDAY=SU"; occurrences keep the first one's length.
    recurrence: Mapped[str | None] = mapped_column(String(500))
    timezone: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(100))


class OutageRow(Base):
    """One outage: one root cause (or a group of them failing together) and what it hits."""

    __tablename__ = "outages"
    __table_args__ = (CheckConstraint(one_of("classification", CLASSIFICATIONS), name="classification"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    detected_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(index=True)
    classification: Mapped[str] = mapped_column(String(12))
    peak_classification: Mapped[str] = mapped_column(String(12))
    causes: Mapped[list[str]] = mapped_column(json_column())
    components: Mapped[list[str]] = mapped_column(json_column())
    sites: Mapped[list[str]] = mapped_column(json_column())
    queues: Mapped[list[str]] = mapped_column(json_column())
    degraded_queues: Mapped[list[str]] = mapped_column(json_column())
    # Every component, site and queue the outage ever touched, for the report.
    history: Mapped[dict[str, Any]] = mapped_column(json_column())
    in_maintenance: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    summary: Mapped[str] = mapped_column(Text)
    merged_into: Mapped[int | None] = mapped_column(Integer)
    plan_version_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime]
    # Injected by this exercise, not a real failure (see `standby.exercise`).
    exercise_id: Mapped[int | None] = mapped_column(Integer, index=True)


class StateChangeRow(Base):
    """The change feed: each component state change and outage change, in order.

    Pages follow it through Server-Sent Events by id; it is pruned like check results.
    """

    __tablename__ = "state_changes"
    __table_args__ = (Index("ix_state_changes_kind_ref", "kind", "ref"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(20))
    ref: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(json_column())


class WorkerRow(Base):
    """A running worker, seen recently; the leader row doubles as the correlation lock."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime] = mapped_column(index=True)


class DetectLockRow(Base):
    """A single row that correlation updates first: it serialises outage decisions.

    An UPDATE takes a row lock on PostgreSQL and the write lock on SQLite, so however
    many workers correlate at once, each sees the outages the previous one wrote.
    """

    __tablename__ = "detect_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime | None]
