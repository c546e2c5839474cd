"""The mass-login exercise: the readiness link to every agent of the home-capable teams at once.

A service; never commits. Starting a campaign records it and queues one message per
agent through the outbox: an SMS to an agent with a phone, else an email. Each message's
key is `readiness:{campaign}:{agent}`, so a retried or repeated sending of the same
campaign never texts anyone twice. The exercise measures the time from the start until
`target` agents (N) have passed the check through their link, against the
`activation_minutes` of the home site the plan's strategies move agents to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from standby.errors import Conflict, InvalidInput, NotFound
from standby.notify.outbox import NewMessage, put_many
from standby.plan.schema import Plan
from standby.readiness.home import agents_available_from_home
from standby.readiness.links import DEFAULT_LIFETIME, make_readiness_token, readiness_url
from standby.store.tables import AgentRow, ReadinessCampaignRow, ReadinessCheckRow

PURPOSE = "readiness"
SUBJECT = "Check your home set-up for home working"


@dataclass(frozen=True)
class Campaign:
    """A mass-login exercise and how far it got."""

    id: int
    started_at: datetime
    started_by: str
    agents: int
    messages: int
    target: int
    activation_minutes: float | None
    passed: int
    passed_at: tuple[datetime, ...]
    """When each agent first passed through the campaign's link, in order."""

    @property
    def target_reached_at(self) -> datetime | None:
        """When the N-th agent passed; None while fewer have."""
        return self.passed_at[self.target - 1] if 0 < self.target <= len(self.passed_at) else None

    @property
    def minutes_to_target(self) -> float | None:
        """Minutes from the start until N had passed."""
        reached = self.target_reached_at
        return None if reached is None else (reached - self.started_at).total_seconds() / 60

    @property
    def within_activation(self) -> bool | None:
        """Whether N passed within the home site's activation time (None: not yet, or no home site)."""
        minutes = self.minutes_to_target
        if minutes is None or self.activation_minutes is None:
            return None
        return minutes <= self.activation_minutes


def home_activation_minutes(plan: Plan) -> float | None:
    """The activation time of the home site the plan's strategies relocate to (the shortest if several)."""
    found = [
        plan.sites_by_id[s.relocate.to].activation_minutes
        for s in plan.strategies
        if s.relocate is not None
        and s.relocate.to in plan.sites_by_id
        and plan.sites_by_id[s.relocate.to].kind == "home"
    ]
    return min(found) if found else None


def start_campaign(
    session: Session,
    *,
    plan: Plan,
    secret: str | None,
    base_url: str,
    by: str,
    now: datetime,
    target: int | None = None,
) -> Campaign:
    """Record a campaign and queue the readiness link to every active agent of the home-capable teams."""
    if not secret:
        raise Conflict("readiness links are signed: set STANDBY_SECRET_KEY on the server first")
    teams = [t for t in plan.teams if t.home_capable > 0]
    if not teams:
        raise Conflict("no team in the plan is home-capable (home_capable above 0): nobody to ask")
    contacts = session.scalars(
        select(AgentRow)
        .where(AgentRow.team_id.in_([t.id for t in teams]), AgentRow.active)
        .order_by(AgentRow.team_id, AgentRow.external_id)
    ).all()
    reachable = [a for a in contacts if a.phone or a.email]
    if not reachable:
        raise Conflict(
            "no agent of the home-capable teams has a phone or email in the agents directory:"
            " import them at /api/v1/agents first"
        )
    wanted = sum(agents_available_from_home(t, None) for t in teams)
    chosen = min(wanted, len(reachable)) if target is None else target
    if chosen < 1 or chosen > len(reachable):
        raise InvalidInput(f"target: between 1 and {len(reachable)} (the agents who can be messaged)")
    campaign = ReadinessCampaignRow(
        started_at=now,
        started_by=by[:200],
        agents=len(reachable),
        messages=len(reachable),
        target=chosen,
        activation_minutes=home_activation_minutes(plan),
    )
    session.add(campaign)
    session.flush()
    expires = now + DEFAULT_LIFETIME
    messages = []
    for agent in reachable:
        token = make_readiness_token(
            secret, agent=agent.external_id, campaign_id=campaign.id, expires_at=expires
        )
        link = readiness_url(base_url, token)
        key = f"readiness:{campaign.id}:{agent.external_id}"
        if agent.phone:
            body = f"Standby: check your home set-up for home working now (about a minute): {link}"
            messages.append(NewMessage(key, "sms", agent.phone, body, PURPOSE, recipient_name=agent.name))
        else:
            body = (
                f"Hello {agent.name},\n\nPlease check your home set-up for home working now: open\n{link}\n"
                "on the computer you would work from, and keep the page open for about a minute.\n"
            )
            assert agent.email is not None
            messages.append(
                NewMessage(
                    key, "email", agent.email, body, PURPOSE, subject=SUBJECT, recipient_name=agent.name
                )
            )
    put_many(session, messages, now=now)
    return get_campaign(session, campaign.id)


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    """A campaign with the agents who passed through its link so far."""
    row = session.get(ReadinessCampaignRow, campaign_id)
    if row is None:
        raise NotFound(f"no readiness campaign {campaign_id}")
    first = (
        select(func.min(ReadinessCheckRow.checked_at))
        .where(ReadinessCheckRow.campaign_id == campaign_id, ReadinessCheckRow.passed)
        .group_by(ReadinessCheckRow.agent_id)
    )
    passed_at = tuple(sorted(session.scalars(first)))
    return Campaign(
        id=row.id,
        started_at=row.started_at,
        started_by=row.started_by,
        agents=row.agents,
        messages=row.messages,
        target=row.target,
        activation_minutes=row.activation_minutes,
        passed=len(passed_at),
        passed_at=passed_at,
    )


def list_campaigns(session: Session, *, limit: int = 20, before: int | None = None) -> list[Campaign]:
    """Campaigns, newest first."""
    query = select(ReadinessCampaignRow.id).order_by(ReadinessCampaignRow.id.desc()).limit(limit)
    if before is not None:
        query = query.where(ReadinessCampaignRow.id < before)
    return [get_campaign(session, i) for i in session.scalars(query)]
