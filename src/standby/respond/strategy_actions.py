"""Carrying out a running continuity strategy: its webhooks, its IVR message on the timeline, and
the relocation of agents, told one SMS each. Every message goes through the outbox under a key of
its own (`strategy:INCIDENT:STRATEGY:...`), so carrying out again sends nothing twice.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.detect.states import read_states
from standby.errors import InvalidInput, NotFound
from standby.notify.outbox import enqueue
from standby.plan.schema import Plan, Strategy
from standby.plan.topology import Topology
from standby.readiness.service import ready_by_team
from standby.respond.continuity import (
    RelocationPlan,
    ivr_announcements,
    relocation,
    relocation_sms,
)
from standby.respond.timeline import add_entry
from standby.store.tables import AgentRow, IncidentRow, StrategyRunRow

PURPOSE = "strategy"


def incident_row(session: Session, incident_id: int) -> IncidentRow:
    """The incident's row; NotFound when there is none."""
    row = session.get(IncidentRow, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    return row


def down_components(session: Session, plan: Plan) -> list[str]:
    """The plan's components down now, in plan order."""
    states = read_states(session)
    return [c.id for c in plan.components if c.id in states and states[c.id].state == "down"]


def shown_url(url: str) -> str:
    """Where a webhook goes, without its path or query: a webhook URL may be a credential."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}/…"


def _agent_key(incident_id: int, strategy_id: str, external_id: str) -> str:
    """The SMS's idempotency key: the external id quoted (keys are visible ASCII), hashed if too long."""
    key = f"strategy:{incident_id}:{strategy_id}:agent:{quote(external_id, safe='')}"
    if len(key) <= 200:
        return key
    digest = hashlib.sha256(external_id.encode()).hexdigest()[:32]
    return f"strategy:{incident_id}:{strategy_id}:agent-sha256:{digest}"


def carry_out(
    session: Session,
    *,
    plan: Plan,
    topology: Topology,
    row: StrategyRunRow,
    strategy: Strategy,
    by: str,
    now: datetime,
) -> None:
    """Carry out a strategy that has just started running: its webhooks, IVR message and relocation."""
    incident = incident_row(session, row.incident_id)
    for index, action in enumerate(strategy.actions):
        if action.webhook is not None:
            _webhook(session, incident, strategy, index, action.webhook, action.body or {}, by=by, now=now)
    for announcement in ivr_announcements(strategy):
        add_entry(
            session,
            incident_id=incident.id,
            at=now,
            kind="action",
            actor=by,
            text=f"IVR outage message published ({strategy.name}): {announcement.text}",
            data={
                "strategy": strategy.id,
                "event": "ivr_message",
                "action": announcement.index,
                "text": announcement.text,
                "deflect_share": announcement.deflect_share,
            },
        )
    if strategy.relocate is not None:
        _relocate(session, plan=plan, topology=topology, incident=incident, strategy=strategy, by=by, now=now)


def _webhook(
    session: Session,
    incident: IncidentRow,
    strategy: Strategy,
    index: int,
    url: str,
    body: dict[str, Any],
    *,
    by: str,
    now: datetime,
) -> None:
    data: dict[str, Any] = dict(body)
    facts = {
        "incident": {
            "id": incident.id,
            "title": incident.title,
            "classification": incident.classification,
            "severity": incident.severity,
            "state": incident.state,
        },
        "strategy": {"id": strategy.id, "name": strategy.name},
        "approved_by": by,
        "at": now.isoformat(),
    }
    for name, value in facts.items():
        data.setdefault(name, value)
    key = f"strategy:{incident.id}:{strategy.id}:action:{index}"
    shown = shown_url(url)
    try:
        enqueue(
            session,
            key=key,
            channel="webhook",
            recipient=url,
            body=f"{strategy.name} (incident {incident.id})",
            subject=strategy.name,
            payload={"style": "generic", "data": data},
            purpose=PURPOSE,
            incident_id=incident.id,
            now=now,
        )
    except InvalidInput as exc:
        text, event = f"Webhook not sent ({strategy.name}): {exc}", "webhook_refused"
    else:
        text, event = f"Webhook queued ({strategy.name}): POST {shown}", "webhook"
    add_entry(
        session,
        incident_id=incident.id,
        at=now,
        kind="action",
        actor=by,
        text=text,
        data={"strategy": strategy.id, "event": event, "action": index, "key": key, "url": shown},
    )


def _earlier_relocations(session: Session, plan: Plan, incident_id: int, strategy_id: str) -> list[Strategy]:
    carried = set(
        session.scalars(
            select(StrategyRunRow.strategy_id).where(
                StrategyRunRow.incident_id == incident_id,
                StrategyRunRow.state.in_(("running", "done")),
                StrategyRunRow.strategy_id != strategy_id,
            )
        )
    )
    return [s for s in plan.strategies if s.id in carried and s.relocate is not None]


def _relocate(
    session: Session,
    *,
    plan: Plan,
    topology: Topology,
    incident: IncidentRow,
    strategy: Strategy,
    by: str,
    now: datetime,
) -> None:
    moving = relocation(
        plan,
        topology,
        strategy,
        down_components=down_components(session, plan),
        now=now,
        before=_earlier_relocations(session, plan, incident.id, strategy.id),
        home_ready=ready_by_team(session, plan=plan, now=now),
    )
    if moving is None:
        return
    told, untold, unnamed = _tell_agents(session, plan, incident, strategy, moving, now=now)
    text = f"Relocation ({strategy.name}): {moving.summary(plan)}"
    if moving.moves:
        text += f"; SMS queued to {told} agents"
        if untold:
            more = "; ..." if len(untold) > 5 else ""
            text += f"; {len(untold)} could not be told ({'; '.join(untold[:5])}{more})"
        if unnamed:
            text += f"; {unnamed} more are not in the agents directory"
    add_entry(
        session,
        incident_id=incident.id,
        at=now,
        kind="action",
        actor=by,
        text=text,
        data={
            "strategy": strategy.id,
            "event": "relocation",
            "relocation": moving.to_dict(),
            "sms": told,
            "not_told": untold,
            "not_in_directory": unnamed,
        },
    )


def _tell_agents(
    session: Session,
    plan: Plan,
    incident: IncidentRow,
    strategy: Strategy,
    moving: RelocationPlan,
    *,
    now: datetime,
) -> tuple[int, list[str], int]:
    """SMS each agent who moves: (how many told, who could not be, how many are not in the directory).

    Of a moving team, the active agents with a phone number, by external id, at most as
    many as the team moves. An agent whose number the outbox refuses is named, not told.
    """
    told = 0
    untold: list[str] = []
    unnamed = 0
    for move in moving.moves:
        agents = list(
            session.scalars(
                select(AgentRow)
                .where(AgentRow.team_id == move.team_id, AgentRow.active.is_(True))
                .order_by(AgentRow.external_id)
            )
        )
        reachable = [a for a in agents if a.phone and a.phone.strip()]
        chosen = reachable[: move.agents]
        short = move.agents - len(chosen)
        without_phone = [a for a in agents if a not in reachable][: max(0, short)]
        untold += [f"{a.name} ({a.external_id}): no phone number" for a in without_phone]
        unnamed += max(0, move.agents - len(agents))
        text = relocation_sms(plan, moving, move, now=now)
        for agent in chosen:
            try:
                enqueue(
                    session,
                    key=_agent_key(incident.id, strategy.id, agent.external_id),
                    channel="sms",
                    recipient=(agent.phone or "").strip(),
                    recipient_name=agent.name,
                    body=text,
                    purpose=PURPOSE,
                    incident_id=incident.id,
                    now=now,
                )
            except InvalidInput as exc:
                untold.append(f"{agent.name} ({agent.external_id}): {exc}")
            else:
                told += 1
    return told, untold, unnamed
