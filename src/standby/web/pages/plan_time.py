"""Times on the lists' pages: written in the plan's time zone (UTC while no plan is loaded)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from standby.plan.schema import Plan
from standby.plan.versions import current_plan
from standby.respond.templates import duration_text


@dataclass(frozen=True)
class PlanTime:
    """The plan in force (or None), its time zone and the time now, to write times with."""

    plan: Plan | None
    zone: ZoneInfo
    now: datetime

    def when(self, moment: datetime | None) -> str:
        """'15 Jun 2026 10:30' in the plan's zone; empty for no time."""
        return moment.astimezone(self.zone).strftime("%d %b %Y %H:%M") if moment is not None else ""

    def ago(self, moment: datetime) -> str:
        """How long ago `moment` was: '12 minutes ago'."""
        return f"{duration_text(self.now - moment)} ago"

    def person(self, actor: str | None) -> str:
        """A person of the plan by name; another actor (user:NAME, token:NAME) by its name."""
        if actor is None:
            return ""
        people = self.plan.people_by_id if self.plan is not None else {}
        if actor in people:
            return people[actor].name
        return actor.split(":", 1)[1] if ":" in actor else actor


def plan_time(session: Session, now: datetime) -> PlanTime:
    """The plan in force and its zone, as of `now`."""
    found = current_plan(session)
    plan = found[1] if found is not None else None
    return PlanTime(plan, ZoneInfo(plan.organisation.timezone if plan is not None else "UTC"), now)
