"""The centre's clock: the plan in force, its time zone and the time now, for every page.

Every time a page shows is in the plan's time zone (UTC while no plan is loaded), written
one way: the weekday, the day, the month and the time ('Mon 15 Jun 14:30'), with the year
only when it is not this year. The weekday matters at 3 a.m. and at a hand-over; the year
seldom does. Every time a form sends (an `<input type="datetime-local">`) is a wall-clock
time there: the services take a time without an offset as the plan's local time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from standby.access.service import Principal
from standby.errors import Conflict, InvalidInput
from standby.plan.schema import Plan
from standby.plan.versions import current_plan
from standby.respond.templates import duration_text
from standby.store.engine import unit_of_work
from standby.web.context import WebContext

FIELD = "%Y-%m-%dT%H:%M"
"""A time as a datetime-local field holds it."""


@dataclass(frozen=True)
class CentreClock:
    """The plan in force (or None), its time zone and the time now, to write times with."""

    plan: Plan | None
    zone: ZoneInfo
    now: datetime

    @property
    def organisation(self) -> str | None:
        """The contact centre's name, for the top bar; None without a plan."""
        return self.plan.organisation.name if self.plan is not None else None

    def when(self, moment: datetime | None, *, seconds: bool = False) -> str:
        """'Mon 15 Jun 14:30' in the centre's time (with the year when not this one); empty for no time."""
        if moment is None:
            return ""
        local = moment.astimezone(self.zone)
        day = "%a %d %b" if local.year == self.now.astimezone(self.zone).year else "%a %d %b %Y"
        return local.strftime(f"{day} %H:%M:%S" if seconds else f"{day} %H:%M")

    def ago(self, moment: datetime) -> str:
        """How long ago `moment` was: '12 minutes ago'."""
        return f"{duration_text(self.now - moment)} ago"

    def clock(self, moment: datetime | None) -> str:
        """The time of day of a moment in the centre's time: '14:30'; empty for no time."""
        return moment.astimezone(self.zone).strftime("%H:%M") if moment is not None else ""

    def field(self, moment: datetime | None) -> str:
        """A moment as a datetime-local field's value, in the centre's time; empty for no time."""
        return moment.astimezone(self.zone).strftime(FIELD) if moment is not None else ""

    def person(self, actor: str | None) -> str:
        """A person of the plan by name; another actor (user:NAME, token:NAME) by its name."""
        if actor is None:
            return ""
        people = self.plan.people_by_id if self.plan is not None else {}
        if actor in people:
            return people[actor].name
        return actor.split(":", 1)[1] if ":" in actor else actor

    def queue_name(self, queue_id: str) -> str:
        """The queue's name in the plan, else its id (a queue since removed from the plan)."""
        queue = self.plan.queues_by_id.get(queue_id) if self.plan is not None else None
        return queue.name if queue is not None else queue_id

    def queues(self) -> list[dict[str, str]]:
        """The plan's queues, for a filter's or a form's choices."""
        return [{"id": q.id, "name": q.name} for q in self.plan.queues] if self.plan is not None else []

    def header(self, principal: Principal) -> dict[str, Any]:
        """What every page shows in its top bar (who, which centre, its time zone, the time now), and
        the time now as a form's field holds it."""
        return {
            "principal": principal,
            "organisation": self.organisation,
            "timezone": self.zone.key,
            "now": self.when(self.now),
            "now_local": self.field(self.now),
            "has_plan": self.plan is not None,
        }


def centre_clock(session: Session, now: datetime) -> CentreClock:
    """The plan in force and its zone, as of `now`."""
    found = current_plan(session)
    plan = found[1] if found is not None else None
    return clock_for(plan, now)


def clock_for(plan: Plan | None, now: datetime) -> CentreClock:
    """The clock of `plan` (UTC without one), as of `now`."""
    return CentreClock(plan, ZoneInfo(plan.organisation.timezone if plan is not None else "UTC"), now)


def clock_now(context: WebContext) -> CentreClock:
    """The centre's clock as of now, read in a unit of work of its own."""
    with unit_of_work(context.session_factory) as session:
        return centre_clock(session, context.clock.now())


def plan_needed(plan: Plan | None, why: str) -> Plan:
    """The plan, or Conflict (409) saying that none is loaded and `why` the action needs one."""
    if plan is None:
        raise Conflict(f"no plan is loaded: {why}")
    return plan


def form_time(text: str, field: str) -> datetime:
    """A time typed in a form, without an offset (the plan's wall clock); InvalidInput naming the field."""
    value = text.strip()
    if not value:
        raise InvalidInput(f"{field}: give a date and time")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        shown_value = value if len(value) <= 40 else value[:40] + "..."
        raise InvalidInput(
            f"{field}: {shown_value!r} is not a date and time: use YYYY-MM-DDTHH:MM"
        ) from None


def form_day(text: str, field: str) -> date:
    """A day typed in a form (YYYY-MM-DD); InvalidInput naming the field."""
    value = text.strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        shown_value = value if len(value) <= 40 else value[:40] + "..."
        raise InvalidInput(f"{field}: {shown_value!r} is not a date (YYYY-MM-DD)") from None
