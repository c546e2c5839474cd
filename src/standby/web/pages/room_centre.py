"""The incident room's "The centre" section: each queue the outage hits, and the customers caught.

The figures come from the pure core (`respond.centre.centre_now`); this module reads what it
needs (the outage, the running strategies' relocations, the customers' figures from
`customers.summary_service`) and shapes it for the template.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from standby.access.roles import Permission
from standby.access.service import Principal
from standby.customers.summary_service import customer_summary
from standby.detect.history import OutageRecord
from standby.plan.schema import Plan
from standby.plan.topology import Topology
from standby.respond.centre import Arrival, QueueNow, centre_now, queues_hit
from standby.respond.strategy_runs import StrategyRunRecord


def arrivals_of(runs: Sequence[StrategyRunRecord]) -> list[Arrival]:
    """The agents each running strategy moved, from the relocation it carried out."""
    found: list[Arrival] = []
    for run in runs:
        moving = run.relocation
        # Only running strategies: once done, the agents went back where they work normally.
        if run.state != "running" or not moving or "ready_at" not in moving:
            continue
        ready_at = datetime.fromisoformat(str(moving["ready_at"]))
        target = str(moving.get("target", ""))
        for move in moving.get("moves", []):
            found.append(
                Arrival(
                    run.strategy_id,
                    str(move["team"]),
                    target,
                    int(move["agents"]),
                    tuple(str(q) for q in move.get("queues", [])),
                    ready_at,
                )
            )
        partner = int(moving.get("partner_agents", 0) or 0)
        if partner:
            queues = tuple(str(q) for q in moving.get("queues", []))
            found.append(Arrival(run.strategy_id, None, target, partner, queues, ready_at))
    return found


def centre_section(
    session: Session,
    *,
    plan: Plan | None,
    topology: Topology | None,
    outage: OutageRecord | None,
    runs: Sequence[StrategyRunRecord],
    principal: Principal,
    now: datetime,
) -> dict[str, Any] | None:
    """What the room's centre section shows; None when there is no outage or no plan to read it with."""
    if plan is None or topology is None or outage is None:
        return None
    known = plan.components_by_id
    down = [c for c in outage.components if c in known] if outage.ended_at is None else []
    normal, state = topology.availability([]), topology.availability(down)
    lost = normal.sites - state.sites
    answering = {q.id: topology.sites_answering(q.id) for q in plan.queues}
    named = {*outage.queues, *outage.degraded_queues, *outage.ever.get("queues", ())}
    sites = {*outage.sites, *outage.ever.get("sites", ()), *lost}
    hit = queues_hit(plan, queues=named, sites=sites, answering=answering)
    queues = centre_now(
        plan,
        state,
        hit=hit,
        lost_sites=lost,
        answering=answering,
        arrivals=arrivals_of(runs),
        started_at=outage.started_at,
        ended_at=outage.ended_at,
        now=now,
    )
    figures = customer_summary(session, outage_id=outage.id)
    site_names = {s.id: s.name for s in plan.sites}
    links = principal.can(Permission.READ_CUSTOMERS)
    base = f"outage={outage.id}"
    return {
        "queues": [_queue(q, site_names) for q in queues],
        "sites_lost": [site_names.get(s, s) for s in plan.sites_by_id if s in lost],
        "caught": [
            {
                "id": "callbacks",
                "word": "Callbacks flagged",
                "count": figures.callbacks.get("flagged", 0),
                "href": f"/callbacks?{base}" if links else "",
            },
            {
                "id": "calls",
                "word": "Calls cut off",
                "count": figures.calls.get("cut_off", 0),
                "href": f"/calls?{base}" if links else "",
            },
            {
                "id": "vulnerable",
                "word": "Vulnerable customers",
                "count": figures.vulnerable_affected,
                "href": f"/callbacks?{base}&vulnerable=1" if links else "",
            },
        ],
    }


def _percent(share: float | None) -> str:
    return f"{share:.0%}" if share is not None else "—"


def _minutes(value: float) -> str:
    minutes = int(abs(value))
    text = f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
    return text


def _queue(q: QueueNow, site_names: dict[str, str]) -> dict[str, Any]:
    forecast = q.forecast
    interval = ""
    if forecast is not None:
        end = forecast.start + forecast.minutes
        interval = f"{forecast.start // 60:02d}:{forecast.start % 60:02d} to {end // 60:02d}:{end % 60:02d}"
    level_tone = "unknown"
    if q.service_level is not None:
        level_tone = "up" if q.service_level >= q.target else "down"
    tolerance = None
    if q.tolerance is not None:
        t = q.tolerance
        tolerance = {
            "max": _minutes(t.max_minutes),
            "out": _minutes(t.out_minutes),
            "left": _minutes(t.left_minutes),
            "breached": t.breached,
            "tone": "down" if t.breached else "degraded" if t.left_minutes <= t.max_minutes / 4 else "up",
        }
    return {
        "id": q.queue_id,
        "name": q.name,
        "reachable": q.reachable,
        "answered": q.answered,
        "agents": q.agents,
        "moved": q.agents_moved,
        "planned": q.planned_agents,
        "calls": f"{forecast.calls:g}" if forecast is not None else "",
        "interval": interval,
        "service_level": _percent(q.service_level),
        "target": _percent(q.target),
        "within": f"{q.answer_within_s:g}",
        "level_tone": level_tone,
        "asa": f"{q.asa_s:.0f} s" if q.asa_s is not None else ("unbounded" if q.unstable else "—"),
        "abandonment": _percent(q.abandonment),
        "why_not": q.why_not,
        "tolerance": tolerance,
        "sites_lost": [site_names.get(s, s) for s in q.sites_lost],
    }
