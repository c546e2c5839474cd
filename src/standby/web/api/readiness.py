"""/api/v1/readiness: agents' home readiness per agent and per team, and the mass-login exercise.

Managers and admins only (ManageAgents): it names agents. A team "has results" when any
of its agents checked within the plan's `readiness.valid_days`; its `available_from_home`
is then its agents ready, else its `home_capable` share (`readiness.home`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from standby.errors import Conflict, InvalidInput
from standby.plan.schema import Plan
from standby.plan.versions import current_plan
from standby.readiness.campaigns import Campaign, get_campaign, list_campaigns, start_campaign
from standby.readiness.service import (
    AgentReadiness,
    StoredCheck,
    TeamReadiness,
    agent_history,
    agents_readiness,
    find_agent,
    latest_checks,
    teams_readiness,
)
from standby.store.engine import unit_of_work
from standby.web.api.plan import NO_PLAN
from standby.web.auth import ManageAgents
from standby.web.context import Context
from standby.web.contract import Position, RowId

router = APIRouter(prefix="/api/v1/readiness", tags=["readiness"])

MAX_LIMIT = 5000


class CheckOut(BaseModel):
    """One measure of a check."""

    measure: str = Field(description="latency, jitter, download, upload, browser, microphone or platform.")
    passed: bool
    value: str = Field(description="What was measured, in words: '120 ms'.")
    limit: str = Field(description="The plan's threshold, in words.")
    advice: str = Field(description="What to do when it failed; empty when it passed.")


class ResultOut(BaseModel):
    """One home check."""

    id: int
    checked_at: datetime
    passed: bool
    campaign_id: int | None = Field(description="The mass-login exercise whose link it came through.")
    latency_ms: float = Field(description="Median round trip to Standby.")
    jitter_ms: float
    download_kbps: float
    upload_kbps: float
    browser: str
    microphone: str
    checks: list[CheckOut]

    @classmethod
    def of(cls, check: StoredCheck) -> ResultOut:
        """The API shape of a stored check."""
        return cls(
            id=check.id,
            checked_at=check.checked_at,
            passed=check.passed,
            campaign_id=check.campaign_id,
            latency_ms=round(check.latency_ms, 1),
            jitter_ms=round(check.jitter_ms, 1),
            download_kbps=round(check.download_kbps, 1),
            upload_kbps=round(check.upload_kbps, 1),
            browser=check.browser,
            microphone=check.microphone,
            checks=[CheckOut.model_validate(c.to_dict()) for c in check.checks],
        )


class AgentOut(BaseModel):
    """An agent and their latest check within the plan's valid_days."""

    external_id: str
    name: str
    team: str
    ready: bool = Field(description="Their latest recent check passed.")
    last_checked_at: datetime | None
    latest: ResultOut | None

    @classmethod
    def of(cls, item: AgentReadiness) -> AgentOut:
        """The API shape of an agent's readiness."""
        return cls(
            external_id=item.agent.external_id,
            name=item.agent.name,
            team=item.agent.team_id,
            ready=item.ready,
            last_checked_at=None if item.latest is None else item.latest.checked_at,
            latest=None if item.latest is None else ResultOut.of(item.latest),
        )


class TeamOut(BaseModel):
    """A team's readiness, and the agents it can send to work from home."""

    team: str
    agents: int = Field(description="Agents on shift in the plan.")
    directory_agents: int = Field(description="Active agents of the team in the directory.")
    checked: int = Field(description="Agents with a check within valid_days.")
    ready: int = Field(description="Agents whose latest recent check passed.")
    last_checked_at: datetime | None
    has_results: bool = Field(description="Some agent checked recently: capacity counts those ready.")
    home_capable_agents: int = Field(description="The plan's home_capable share, rounded down.")
    available_from_home: int = Field(description="What impact and relocation count.")

    @classmethod
    def of(cls, team: TeamReadiness) -> TeamOut:
        """The API shape of a team's readiness."""
        return cls(
            team=team.team_id,
            agents=team.agents,
            directory_agents=team.directory_agents,
            checked=team.checked,
            ready=team.ready,
            last_checked_at=team.last_checked_at,
            has_results=team.has_results,
            home_capable_agents=team.home_capable_agents,
            available_from_home=team.available_from_home,
        )


class ReadinessOut(BaseModel):
    """Every team's readiness, and a page of agents."""

    valid_days: int
    teams: list[TeamOut]
    agents: list[AgentOut]
    next_after: str | None = Field(
        description="Pass as `after` for the next page of agents; null at the end."
    )


class AgentHistoryOut(BaseModel):
    """One agent's readiness and their checks, newest first."""

    agent: AgentOut
    checks: list[ResultOut]


class NewCampaign(BaseModel):
    """A mass-login exercise to start now."""

    model_config = ConfigDict(extra="forbid")

    target: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="N: agents who must pass; omitted means the home-capable teams' share of agents.",
    )


class CampaignOut(BaseModel):
    """A mass-login exercise and how far it got."""

    id: int
    started_at: datetime
    started_by: str
    agents: int = Field(description="Agents messaged (SMS, else email).")
    messages: int
    target: int = Field(description="N: agents who must pass.")
    passed: int = Field(description="Agents who passed through the campaign's link so far.")
    target_reached_at: datetime | None
    minutes_to_target: float | None = Field(description="Minutes from the start until N had passed.")
    activation_minutes: float | None = Field(description="The home site's activation_minutes in the plan.")
    within_activation: bool | None = Field(
        description="N passed within activation_minutes; null while not yet."
    )
    passed_minutes: list[float] = Field(
        description="Minutes from the start at which each agent first passed."
    )

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignOut:
        """The API shape of a campaign."""
        minutes = campaign.minutes_to_target
        return cls(
            id=campaign.id,
            started_at=campaign.started_at,
            started_by=campaign.started_by,
            agents=campaign.agents,
            messages=campaign.messages,
            target=campaign.target,
            passed=campaign.passed,
            target_reached_at=campaign.target_reached_at,
            minutes_to_target=None if minutes is None else round(minutes, 2),
            activation_minutes=campaign.activation_minutes,
            within_activation=campaign.within_activation,
            passed_minutes=[
                round((t - campaign.started_at).total_seconds() / 60, 2) for t in campaign.passed_at
            ],
        )


class CampaignList(BaseModel):
    """Campaigns, newest first."""

    campaigns: list[CampaignOut]


def _plan(context: Context) -> Plan:
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
    if found is None:
        raise Conflict(NO_PLAN)
    return found[1]




@router.get("", summary="Agents' home readiness, per team and per agent")
def get_readiness(
    principal: ManageAgents,
    context: Context,
    team: Annotated[str | None, Query(max_length=100, description="Only this team's agents.")] = None,
    after: Annotated[
        str | None,
        Query(max_length=100, description="Agents after this external_id (the last page's next_after)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Agents per page.")] = 500,
) -> ReadinessOut:
    """Each team's agents checked, ready and available from home; the agents (by team, then name)."""
    plan = _plan(context)
    now = context.clock.now()
    with unit_of_work(context.session_factory) as session:
        teams = teams_readiness(session, plan=plan, now=now)
        agents = agents_readiness(session, plan=plan, now=now, team=team)
    if after is not None:
        where = next((i for i, a in enumerate(agents) if a.agent.external_id == after), None)
        if where is None:
            raise InvalidInput(
                f"after: {after!r} is not an active agent of this list; start again without it"
            )
        agents = agents[where + 1 :]
    page = agents[:limit]
    more = len(agents) > limit
    return ReadinessOut(
        valid_days=plan.readiness.valid_days,
        teams=[TeamOut.of(t) for t in teams if team is None or t.team_id == team],
        agents=[AgentOut.of(a) for a in page],
        next_after=page[-1].agent.external_id if more and page else None,
    )


@router.get("/agents/{external_id}", summary="One agent's readiness and checks")
def get_agent(external_id: str, principal: ManageAgents, context: Context) -> AgentHistoryOut:
    """The agent's latest recent check and up to 20 checks, newest first."""
    plan = _plan(context)
    now = context.clock.now()
    with unit_of_work(context.session_factory) as session:
        agent = find_agent(session, external_id)
        latest = latest_checks(session, plan=plan, now=now, agents=[external_id]).get(external_id)
        history = agent_history(session, agent_id=external_id)
    item = AgentReadiness(agent, latest)
    return AgentHistoryOut(agent=AgentOut.of(item), checks=[ResultOut.of(c) for c in history])


@router.post(
    "/campaigns",
    status_code=201,
    summary="Start a mass-login exercise",
    responses={409: {"description": "No plan, no secret key, no home-capable team, or nobody to message."}},
)
def post_campaign(body: NewCampaign, principal: ManageAgents, context: Context) -> JSONResponse:
    """Send the readiness link now, by SMS (else email), to every active agent of the home-capable teams."""
    plan = _plan(context)
    by = principal.named
    with unit_of_work(context.session_factory) as session:
        campaign = start_campaign(
            session,
            plan=plan,
            secret=context.settings.secret_key,
            base_url=context.settings.base_url,
            by=by,
            now=context.clock.now(),
            target=body.target,
        )
    return JSONResponse(
        CampaignOut.of(campaign).model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/api/v1/readiness/campaigns/{campaign.id}"},
    )


@router.get("/campaigns", summary="Mass-login exercises")
def get_campaigns(
    principal: ManageAgents,
    context: Context,
    before: Annotated[Position | None, Query(description="Only campaigns with a smaller id.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CampaignList:
    """Campaigns, newest first, with how far each got."""
    with unit_of_work(context.session_factory) as session:
        found = list_campaigns(session, limit=limit, before=before)
    return CampaignList(campaigns=[CampaignOut.of(c) for c in found])


@router.get("/campaigns/{campaign_id}", summary="One mass-login exercise")
def get_one_campaign(campaign_id: RowId, principal: ManageAgents, context: Context) -> CampaignOut:
    """The time until N agents passed, against the home site's activation_minutes."""
    with unit_of_work(context.session_factory) as session:
        return CampaignOut.of(get_campaign(session, campaign_id))
