"""What the home check records: each agent's checks, and the mass-login exercises that asked for them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from standby.store.tables.base import Base, json_column


class ReadinessCheckRow(Base):
    """One home check an agent ran: the figures, each measure's verdict, and whether they passed."""

    __tablename__ = "readiness_checks"
    __table_args__ = (Index("ix_readiness_checks_agent_checked", "agent_id", "checked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(100))  # the directory's external_id
    team_id: Mapped[str] = mapped_column(String(100), index=True)
    campaign_id: Mapped[int | None] = mapped_column(Integer, index=True)
    checked_at: Mapped[datetime] = mapped_column(index=True)
    passed: Mapped[bool] = mapped_column(Boolean)
    latency_ms: Mapped[float] = mapped_column(Float)
    jitter_ms: Mapped[float] = mapped_column(Float)
    download_kbps: Mapped[float] = mapped_column(Float)
    upload_kbps: Mapped[float] = mapped_column(Float)
    browser: Mapped[str] = mapped_column(String(40))
    user_agent: Mapped[str] = mapped_column(String(500))
    microphone: Mapped[str] = mapped_column(String(20))
    checks: Mapped[list[dict[str, Any]]] = mapped_column(json_column())


class ReadinessCampaignRow(Base):
    """A mass-login exercise: the readiness link sent to every agent of the home-capable teams at once."""

    __tablename__ = "readiness_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(200))
    agents: Mapped[int] = mapped_column(Integer)  # agents messaged
    messages: Mapped[int] = mapped_column(Integer)  # SMS and emails queued
    target: Mapped[int] = mapped_column(Integer)  # N: agents who must pass
    activation_minutes: Mapped[float | None] = mapped_column(Float)
