"""Home checks stored per agent, and read back per agent and per team.

A service: functions take a session and the time and never commit. An agent is ready
when their latest check within the plan's `readiness.valid_days` passed; a team "has
results" when any of its active agents has a check that recent, and then its agents
available from home are those ready (`readiness.home`), not its `home_capable` share.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from standby.errors import NotFound
from standby.plan.schema import Plan
from standby.readiness.home import agents_available_from_home
from standby.readiness.verdict import Check, Measurements, Verdict, judge
from standby.respond.agents import AgentRecord, list_agents
from standby.store.tables import AgentRow, ReadinessCheckRow

MAX_USER_AGENT = 500


@dataclass(frozen=True)
class StoredCheck:
    """A check as stored: who, when, and its verdict."""

    id: int
    agent_id: str
    team_id: str
    campaign_id: int | None
    checked_at: datetime
    passed: bool
    latency_ms: float
    jitter_ms: float
    download_kbps: float
    upload_kbps: float
    browser: str
    microphone: str
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class AgentReadiness:
    """An agent of the directory with their latest recent check (None: not checked recently)."""

    agent: AgentRecord
    latest: StoredCheck | None

    @property
    def ready(self) -> bool:
        """Whether their latest recent check passed."""
        return self.latest is not None and self.latest.passed


@dataclass(frozen=True)
class TeamReadiness:
    """A team's agents, how many checked recently, how many are ready, and who works from home."""

    team_id: str
    agents: int
    directory_agents: int
    checked: int
    ready: int
    last_checked_at: datetime | None
    home_capable_agents: int
    available_from_home: int

    @property
    def has_results(self) -> bool:
        """Whether the team's capacity from home counts ready agents rather than its share."""
        return self.checked > 0


def find_agent(session: Session, external_id: str) -> AgentRecord:
    """The active agent with this directory id; NotFound otherwise."""
    row = session.scalar(select(AgentRow).where(AgentRow.external_id == external_id, AgentRow.active))
    if row is None:
        raise NotFound(f"no active agent {external_id!r} in the agents directory")
    return AgentRecord(
        row.external_id, row.name, row.team_id, row.phone, row.email, row.active, row.updated_at
    )


def record_check(
    session: Session,
    *,
    plan: Plan,
    agent: AgentRecord,
    measurements: Measurements,
    user_agent: str,
    campaign_id: int | None,
    now: datetime,
) -> StoredCheck:
    """Judge the measurements against the plan's thresholds and store the check for the agent."""
    verdict = judge(measurements, plan.readiness)
    row = ReadinessCheckRow(
        agent_id=agent.external_id,
        team_id=agent.team_id,
        campaign_id=campaign_id or None,
        checked_at=now,
        passed=verdict.passed,
        latency_ms=verdict.latency_ms,
        jitter_ms=verdict.jitter_ms,
        download_kbps=verdict.download_kbps,
        upload_kbps=verdict.upload_kbps,
        browser=str(measurements.browser)[:40],
        user_agent=user_agent[:MAX_USER_AGENT],
        microphone=measurements.microphone,
        checks=[c.to_dict() for c in verdict.checks],
    )
    session.add(row)
    session.flush()
    return _stored(row, verdict)


def latest_checks(
    session: Session, *, plan: Plan, now: datetime, agents: Iterable[str] | None = None
) -> dict[str, StoredCheck]:
    """Each agent's latest check within the plan's `valid_days`, by agent id."""
    since = now - timedelta(days=plan.readiness.valid_days)
    newest = (
        select(func.max(ReadinessCheckRow.id).label("id"))
        .where(ReadinessCheckRow.checked_at >= since, ReadinessCheckRow.checked_at <= now)
        .group_by(ReadinessCheckRow.agent_id)
    )
    if agents is not None:
        wanted = list(agents)
        if not wanted:
            return {}
        newest = newest.where(ReadinessCheckRow.agent_id.in_(wanted))
    rows = session.scalars(
        select(ReadinessCheckRow).where(ReadinessCheckRow.id.in_(newest.scalar_subquery()))
    )
    return {r.agent_id: _stored(r) for r in rows}


def agents_readiness(
    session: Session, *, plan: Plan, now: datetime, team: str | None = None
) -> list[AgentReadiness]:
    """Active agents (by team, then name) with their latest recent check."""
    agents = list_agents(session, team=team)
    latest = latest_checks(
        session, plan=plan, now=now, agents=None if team is None else [a.external_id for a in agents]
    )
    return [AgentReadiness(a, latest.get(a.external_id)) for a in agents]


def teams_readiness(session: Session, *, plan: Plan, now: datetime) -> list[TeamReadiness]:
    """Every team of the plan: agents ready and checked recently, and agents available from home."""
    found: dict[str, list[AgentReadiness]] = {t.id: [] for t in plan.teams}
    for item in agents_readiness(session, plan=plan, now=now):
        found.setdefault(item.agent.team_id, []).append(item)
    teams = []
    for team in plan.teams:
        members = found[team.id]
        checked = [m for m in members if m.latest is not None]
        ready = sum(1 for m in checked if m.ready)
        last = max((m.latest.checked_at for m in checked if m.latest is not None), default=None)
        teams.append(
            TeamReadiness(
                team_id=team.id,
                agents=team.agents,
                directory_agents=len(members),
                checked=len(checked),
                ready=ready,
                last_checked_at=last,
                home_capable_agents=agents_available_from_home(team, None),
                available_from_home=agents_available_from_home(team, ready if checked else None),
            )
        )
    return teams


def ready_by_team(session: Session, *, plan: Plan, now: datetime) -> dict[str, int]:
    """Agents ready per team, for the teams with recent checks only (the others keep their share)."""
    return {t.team_id: t.ready for t in teams_readiness(session, plan=plan, now=now) if t.has_results}


def agent_history(session: Session, *, agent_id: str, limit: int = 20) -> list[StoredCheck]:
    """An agent's checks, newest first."""
    query = (
        select(ReadinessCheckRow)
        .where(ReadinessCheckRow.agent_id == agent_id)
        .order_by(ReadinessCheckRow.checked_at.desc(), ReadinessCheckRow.id.desc())
        .limit(limit)
    )
    return [_stored(r) for r in session.scalars(query)]


def _stored(row: ReadinessCheckRow, verdict: Verdict | None = None) -> StoredCheck:
    checks = (
        verdict.checks
        if verdict is not None
        else tuple(
            Check(c["measure"], bool(c["passed"]), str(c["value"]), str(c["limit"]), str(c["advice"]))
            for c in row.checks
        )
    )
    return StoredCheck(
        id=row.id,
        agent_id=row.agent_id,
        team_id=row.team_id,
        campaign_id=row.campaign_id,
        checked_at=row.checked_at,
        passed=row.passed,
        latency_ms=row.latency_ms,
        jitter_ms=row.jitter_ms,
        download_kbps=row.download_kbps,
        upload_kbps=row.upload_kbps,
        browser=row.browser,
        microphone=row.microphone,
        checks=checks,
    )
