"""/api/v1/erlang and /api/v1/staff: Erlang C and A, and staffing, from query parameters.

The same questions as `standby erlang` and `standby staff`, with the same names in
snake_case. They read no plan data, so every logged-in role may ask. Definitions of
each figure: `standby.impact.erlang`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from standby.errors import StandbyError
from standby.impact.erlang import Traffic, performance
from standby.impact.staffing import staff
from standby.web.auth import ReadStatus

router = APIRouter(prefix="/api/v1", tags=["erlang"])

Calls = Annotated[float, Query(gt=0, description="Calls offered over the interval.")]
IntervalMinutes = Annotated[float, Query(gt=0, description="The interval's length in minutes.")]
AhtS = Annotated[float, Query(gt=0, description="Mean handling time in seconds.")]
AnswerWithinS = Annotated[float, Query(gt=0, description="The service-level threshold T in seconds.")]
PatienceS = Annotated[
    float | None,
    Query(gt=0, description="Callers' mean patience in seconds: Erlang A when given, else Erlang C."),
]


class PerformanceOut(BaseModel):
    """What a number of agents achieve; service levels and probabilities are shares of 1."""

    model: Literal["erlang-c", "erlang-a"]
    agents: int
    offered_load_erlangs: float
    calls_per_s: float
    aht_s: float
    answer_within_s: float
    patience_s: float | None
    service_level: float
    service_level_of_answered: float
    service_level_excluding_short_abandons: float
    asa_s: float
    mean_wait_s: float
    p_wait: float
    p_abandon: float
    p_abandon_within_threshold: float
    occupancy: float


class StaffingOut(BaseModel):
    """The fewest agents that meet the goals, which goals one fewer would miss, and the performance."""

    target: float
    max_occupancy: float | None
    max_abandon: float | None
    agents: int
    limited_by: list[str]
    performance: PerformanceOut


def _traffic(
    calls: float, interval_minutes: float, aht_s: float, answer_within_s: float, patience_s: float | None
) -> Traffic:
    try:
        return Traffic.over_interval(
            calls=calls,
            interval_minutes=interval_minutes,
            aht_s=aht_s,
            answer_within_s=answer_within_s,
            patience_s=patience_s,
        )
    except StandbyError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/erlang", summary="Erlang C or A for a number of agents")
def get_erlang(
    principal: ReadStatus,
    calls: Calls,
    interval_minutes: IntervalMinutes,
    aht_s: AhtS,
    agents: Annotated[int, Query(ge=1, description="Agents answering.")],
    answer_within_s: AnswerWithinS,
    patience_s: PatienceS = None,
) -> PerformanceOut:
    """Service level (answered within T over offered, and the alternatives), ASA, P(wait), P(abandon)."""
    traffic = _traffic(calls, interval_minutes, aht_s, answer_within_s, patience_s)
    try:
        result = performance(traffic, agents)
    except StandbyError as exc:  # Unstable: Erlang C with the load at or above the agents
        raise HTTPException(422, str(exc)) from None
    return PerformanceOut.model_validate(result.to_dict())


@router.get("/staff", summary="The fewest agents that meet a service-level target")
def get_staff(
    principal: ReadStatus,
    calls: Calls,
    interval_minutes: IntervalMinutes,
    aht_s: AhtS,
    answer_within_s: AnswerWithinS,
    target: Annotated[float, Query(gt=0, le=1, description="Service level to reach, such as 0.8.")],
    max_occupancy: Annotated[
        float | None, Query(gt=0, le=1, description="Highest acceptable occupancy, such as 0.85.")
    ] = None,
    max_abandon: Annotated[
        float | None,
        Query(gt=0, le=1, description="Highest acceptable share of callers who hang up (Erlang A)."),
    ] = None,
    patience_s: PatienceS = None,
) -> StaffingOut:
    """The fewest agents whose service level (answered within T over offered) reaches the target."""
    traffic = _traffic(calls, interval_minutes, aht_s, answer_within_s, patience_s)
    try:
        found = staff(traffic, target=target, max_occupancy=max_occupancy, max_abandon=max_abandon)
    except StandbyError as exc:
        raise HTTPException(422, str(exc)) from None
    return StaffingOut.model_validate(found.to_dict())
