"""The plan's detection settings beyond probes: alert routing and maintenance windows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator

from standby.detect.recurrence import parse_recurrence
from standby.plan.fields import Id, PositiveMinutes, Text
from standby.plan.section import Section


def _parse_local_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(
        f"{value!r} is not a date and time: write it as YYYY-MM-DDTHH:MM, such as 2026-11-29T02:00"
    )


LocalDateTime = Annotated[
    datetime,
    BeforeValidator(_parse_local_datetime),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""An ISO date and time; without an offset it is in the organisation's time zone."""


class AlertRouting(Section):
    """How alerts from the centre's own monitoring find this component."""

    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Alertmanager labels that all must match, such as {job: cloudcx-acd}.",
    )
    sources: list[str] = Field(
        default_factory=list, description="Events v2 payload.source values that name this component."
    )


class MaintenanceWindow(Section):
    """Planned work: outages of its components inside the window are recorded but raise nothing."""

    id: Id = Field(description="Unique id of the window.")
    reason: Text = Field(description="What the work is, as the on-call engineer should read it.")
    components: list[Id] = Field(
        default_factory=list, description="Component ids it covers; empty covers every component."
    )
    starts: LocalDateTime = Field(
        description="When it (first) starts; without an offset, in the organisation's time zone."
    )
    minutes: PositiveMinutes = Field(
        le=7 * 24 * 60, description="How long each occurrence lasts (at most 7 days)."
    )
    repeat: str | None = Field(
        None,
        description="An RFC 5545 recurrence rule such as 'FREQ=WEEKLY;BYDAY=SU'; none for a one-off.",
    )

    @field_validator("repeat")
    @classmethod
    def _valid_rule(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "DTSTART" in value.upper():
            raise ValueError("put the first start in 'starts', not DTSTART in 'repeat'")
        return parse_recurrence(value)
