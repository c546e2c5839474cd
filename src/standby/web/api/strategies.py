"""/api/v1/incidents/{id}/strategies and /api/v1/ivr-message: continuity strategies and the IVR.

The commander approves or declines what Standby proposes, ticks the runbook off and
marks a strategy done; the telephony platform asks for the outage message to play
(with a receiver token, `standby receiver create NAME`, or any login).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from standby.access.roles import Permission
from standby.detect.receiver_tokens import RECEIVER_TOKEN_PREFIX, receiver_for_token
from standby.errors import Conflict
from standby.plan.schema import Plan
from standby.plan.topology import Topology
from standby.plan.versions import current_plan
from standby.respond.continuity_service import approve, complete, decline, tick
from standby.respond.ivr_message import current_ivr_message
from standby.respond.strategy_runs import StrategyRunRecord, list_runs
from standby.store.engine import unit_of_work
from standby.web.auth import MAX_CREDENTIAL_LENGTH, ManageIncidents, ReadOutages, require
from standby.web.context import Context, WebContext
from standby.web.contract import RowId
from standby.web.errors import Unauthenticated

router = APIRouter(prefix="/api/v1", tags=["strategies"])

IncidentId = Annotated[RowId, Path(description="The incident's id.")]
StrategyId = Annotated[str, Path(max_length=100, description="The strategy's id in the plan.")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such incident, or the strategy was not proposed for it."}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "The strategy is not in a state that allows this; the detail says why."}
}


class StepOut(BaseModel):
    """One runbook step: ticked off by whom and when, or not yet."""

    index: int = Field(description="The step's number, from 0.")
    step: str
    done: bool
    done_at: datetime | None
    by: str | None


class StrategyOut(BaseModel):
    """A continuity strategy proposed or run for the incident."""

    strategy_id: str
    name: str
    state: str = Field(description="proposed, running, done or declined.")
    automatic: bool = Field(description="The plan runs it at once when triggered.")
    reason: str | None = Field(description="Why it was proposed, in words.")
    applies_now: bool = Field(description="Whether its trigger holds on the live state now.")
    proposed_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    completed_at: datetime | None
    completed_by: str | None
    steps: list[StepOut]
    relocation: dict[str, Any] | None = Field(
        description="Who moves where and from when: carried out (running, done) or proposed."
    )
    ivr_messages: list[str] = Field(description="What the IVR plays while it runs.")
    webhooks: list[str] = Field(description="Where its webhooks go (without query strings).")
    in_plan: bool = Field(description="Whether the plan in force still has this strategy.")


class StrategyList(BaseModel):
    """The incident's strategies, in the plan's order."""

    incident_id: int
    strategies: list[StrategyOut]


class StepChange(BaseModel):
    """Tick a runbook step off, or untick it."""

    model_config = ConfigDict(extra="forbid")

    done: bool = Field(description="true ticks the step off; false unticks it.")


class Decline(BaseModel):
    """Why a strategy is declined (optional)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=1000)


class IvrMessageOut(BaseModel):
    """The outage message the IVR should play now."""

    message: str
    deflect_share: float = Field(description="Share of callers expected to hang up on hearing it.")
    incident_id: int
    strategy_id: str
    since: datetime


def strategy_out(record: StrategyRunRecord) -> StrategyOut:
    """The API shape of a strategy run."""
    return StrategyOut(
        strategy_id=record.strategy_id,
        name=record.name,
        state=record.state,
        automatic=record.automatic,
        reason=record.reason,
        applies_now=record.applies_now,
        proposed_at=record.proposed_at,
        decided_at=record.decided_at,
        decided_by=record.decided_by,
        completed_at=record.completed_at,
        completed_by=record.completed_by,
        steps=[
            StepOut(index=s.index, step=s.step, done=s.done, done_at=s.done_at, by=s.by) for s in record.steps
        ],
        relocation=record.relocation,
        ivr_messages=list(record.ivr_messages),
        webhooks=list(record.webhooks),
        in_plan=record.in_plan,
    )


def _plan(context: WebContext) -> tuple[Plan, Topology] | None:
    """The plan in force and its (cached) topology, or None before any plan is loaded."""
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
    if found is None:
        return None
    info, plan = found
    return plan, context.topologies.get(info.sha256, plan)




@router.get(
    "/incidents/{incident_id}/strategies", summary="The incident's continuity strategies", responses=NOT_FOUND
)
def strategies(incident_id: IncidentId, principal: ReadOutages, context: Context) -> StrategyList:
    """Strategies proposed or run for the incident, with why, who decided, and the runbook's ticks."""
    plan, topology = _plan(context) or (None, None)
    with unit_of_work(context.session_factory) as session:
        records = list_runs(
            session, incident_id=incident_id, plan=plan, now=context.clock.now(), topology=topology
        )
    return StrategyList(incident_id=incident_id, strategies=[strategy_out(r) for r in records])


@router.post(
    "/incidents/{incident_id}/strategies/{strategy_id}/approve",
    summary="Approve a proposed strategy",
    responses={**NOT_FOUND, **CONFLICT},
)
def approve_strategy(
    incident_id: IncidentId, strategy_id: StrategyId, principal: ManageIncidents, context: Context
) -> StrategyOut:
    """Run the strategy: its webhooks, IVR message and relocation SMS go out (once, however often asked)."""
    found = _plan(context)
    if found is None:
        raise Conflict("no plan has been loaded yet: POST the plan to /api/v1/plan first")
    plan, topology = found
    with unit_of_work(context.session_factory) as session:
        record = approve(
            session,
            plan=plan,
            incident_id=incident_id,
            strategy_id=strategy_id,
            by=principal.signed,
            now=context.clock.now(),
            topology=topology,
        )
    return strategy_out(record)


@router.post(
    "/incidents/{incident_id}/strategies/{strategy_id}/decline",
    summary="Decline a proposed strategy",
    responses={**NOT_FOUND, **CONFLICT},
)
def decline_strategy(
    incident_id: IncidentId,
    strategy_id: StrategyId,
    principal: ManageIncidents,
    context: Context,
    body: Decline | None = None,
) -> StrategyOut:
    """Do not run the strategy; it is not proposed again for this incident."""
    plan, topology = _plan(context) or (None, None)
    with unit_of_work(context.session_factory) as session:
        record = decline(
            session,
            incident_id=incident_id,
            strategy_id=strategy_id,
            by=principal.signed,
            now=context.clock.now(),
            plan=plan,
            reason=body.reason if body is not None else None,
            topology=topology,
        )
    return strategy_out(record)


@router.post(
    "/incidents/{incident_id}/strategies/{strategy_id}/complete",
    summary="Mark a running strategy done",
    responses={**NOT_FOUND, **CONFLICT},
)
def complete_strategy(
    incident_id: IncidentId, strategy_id: StrategyId, principal: ManageIncidents, context: Context
) -> StrategyOut:
    """The strategy has done its work (its IVR message stops playing)."""
    plan, topology = _plan(context) or (None, None)
    with unit_of_work(context.session_factory) as session:
        record = complete(
            session,
            incident_id=incident_id,
            strategy_id=strategy_id,
            by=principal.signed,
            now=context.clock.now(),
            plan=plan,
            topology=topology,
        )
    return strategy_out(record)


@router.post(
    "/incidents/{incident_id}/strategies/{strategy_id}/steps/{index}",
    summary="Tick a runbook step off, or untick it",
    responses={**NOT_FOUND, **CONFLICT},
)
def tick_step(
    incident_id: IncidentId,
    strategy_id: StrategyId,
    index: Annotated[int, Path(ge=0, le=10_000, description="The step's number, from 0.")],
    body: StepChange,
    principal: ManageIncidents,
    context: Context,
) -> StrategyOut:
    """Record who ticked the step off and when (`{"done": true}`), or clear it (`{"done": false}`)."""
    plan, topology = _plan(context) or (None, None)
    with unit_of_work(context.session_factory) as session:
        record = tick(
            session,
            incident_id=incident_id,
            strategy_id=strategy_id,
            step_index=index,
            by=principal.signed,
            now=context.clock.now(),
            done=body.done,
            plan=plan,
            topology=topology,
        )
    return strategy_out(record)


_read_outages = require(Permission.READ_OUTAGES)


def _ivr_reader(request: Request, context: Context) -> str:
    """A receiver token (the telephony platform) or any login that may read outages."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token.startswith(RECEIVER_TOKEN_PREFIX):
            name = None
            if len(token) <= MAX_CREDENTIAL_LENGTH:
                with unit_of_work(context.session_factory) as session:
                    name = receiver_for_token(session, token, context.clock.now())
            if name is None:
                raise Unauthenticated("the receiver token is not valid (unknown or revoked)")
            return f"receiver:{name}"
    return _read_outages(request, context).signed


IvrReader = Annotated[str, Depends(_ivr_reader)]


@router.get(
    "/ivr-message",
    summary="The outage message the IVR should play now",
    response_model=IvrMessageOut,
    responses={204: {"description": "No message: the IVR plays its normal greeting."}},
)
def ivr_message(reader: IvrReader, context: Context) -> Any:
    """The message of the most recently started strategy running in an open incident, or 204."""
    plan, _ = _plan(context) or (None, None)
    with unit_of_work(context.session_factory) as session:
        found = current_ivr_message(session, plan=plan)
    if found is None:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    out = IvrMessageOut(
        message=found.text,
        deflect_share=found.deflect_share,
        incident_id=found.incident_id,
        strategy_id=found.strategy_id,
        since=found.since,
    )
    return Response(
        out.model_dump_json(), media_type="application/json", headers={"Cache-Control": "no-store"}
    )
