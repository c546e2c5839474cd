"""/api/v1/incidents/{id}/forecast and /estimate: the live what-if, and the commander's estimate.

The forecaster process makes the forecasts (`standby forecaster`, started by `standby serve`);
this only reads the latest one kept, so asking never waits for a simulation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from standby.forecast.service import MAX_ESTIMATE_MINUTES, Latest, latest, set_estimate
from standby.store.engine import unit_of_work
from standby.web.auth import ManageIncidents, ReadOutages
from standby.web.context import Context
from standby.web.contract import RowId

router = APIRouter(prefix="/api/v1", tags=["forecast"])

IncidentId = Annotated[RowId, Path(description="The incident's id.")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such incident."}}
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"description": "The incident is closed."}}


class ForecastOut(BaseModel):
    """The incident's latest forecast: every option for each length weighed, and the one recommended."""

    model_config = ConfigDict(extra="allow")

    incident_id: int
    as_of: datetime | None = Field(
        description="When the live state it starts from was read; null before the first."
    )
    options: list[dict[str, Any]] = Field(
        description="Each option: id ('none' or strategy ids joined by '+'), strategies, names, and"
        " `lasting` keyed by the more minutes weighed ('30', '60', '120', the estimate)."
    )
    recommended: str | None = Field(description="The option recommended, by id; null when none can be made.")
    reason: str = Field(description="Why, in one sentence; or why there is no forecast.")
    estimate_minutes: int | None = Field(
        description="The commander's estimate of the minutes it still lasts."
    )
    estimate_at: datetime | None


class Estimate(BaseModel):
    """The commander's estimate of how many more minutes the outage lasts."""

    model_config = ConfigDict(extra="forbid")

    minutes: int = Field(ge=1, le=MAX_ESTIMATE_MINUTES, description="More minutes, from now.")


def forecast_out(found: Latest) -> ForecastOut:
    """The API shape of the latest forecast (a placeholder reason before the first is made)."""
    data = dict(found.data or {})
    as_of = data.pop("as_of", None)
    data.setdefault("options", [])
    data.setdefault("recommended", None)
    data.setdefault("reason", "the first forecast is being made; it is ready within seconds")
    data.update(
        incident_id=found.incident_id,
        as_of=datetime.fromisoformat(as_of) if as_of else None,
        estimate_minutes=found.estimate_minutes,
        estimate_at=found.estimate_at,
    )
    return ForecastOut(**data)


@router.get("/incidents/{incident_id}/forecast", summary="The live forecast", responses=NOT_FOUND)
def get_forecast(incident_id: IncidentId, principal: ReadOutages, context: Context) -> ForecastOut:
    """What the outage will cost from here, option by option, for 30, 60 and 120 more minutes."""
    with unit_of_work(context.session_factory) as session:
        found = latest(session, incident_id=incident_id)
    return forecast_out(found)




@router.post(
    "/incidents/{incident_id}/estimate",
    summary="The commander's estimate of the outage's length",
    responses={**NOT_FOUND, **CONFLICT},
)
def post_estimate(
    incident_id: IncidentId, body: Estimate, principal: ManageIncidents, context: Context
) -> ForecastOut:
    """Record how many more minutes the outage is expected to last; the next forecast weighs it."""
    with unit_of_work(context.session_factory) as session:
        found = set_estimate(
            session,
            incident_id=incident_id,
            minutes=body.minutes,
            by=principal.signed,
            now=context.clock.now(),
        )
    return forecast_out(found)
