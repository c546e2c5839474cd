"""What the live forecast keeps: the latest forecast of each incident, and the commander's estimate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from standby.store.tables.base import Base, json_column


class ForecastRow(Base):
    """One incident's latest forecast (or why there is none), the state it was made on, and the estimate.

    `mark` fingerprints the live state the forecast was made from (components down, strategies
    and their times, the estimate, the plan version): the forecaster makes a new one when it moves.
    """

    __tablename__ = "forecasts"

    incident_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    estimate_minutes: Mapped[int | None] = mapped_column(Integer)
    estimate_at: Mapped[datetime | None]
    estimate_by: Mapped[str | None] = mapped_column(String(100))
    mark: Mapped[str | None] = mapped_column(String(64))
    as_of: Mapped[datetime | None]
    recommended: Mapped[str | None] = mapped_column(String(400))
    data: Mapped[dict[str, Any] | None] = mapped_column(json_column(), nullable=True)
    updated_at: Mapped[datetime]
