"""The plan in force and its clock, for the on-call, messages and maintenance pages.

Every time a page shows is in the plan's time zone (UTC without a plan), and every time a
form sends (an `<input type="datetime-local">`) is read as a wall-clock time there: the
services take such a time without an offset as the plan's local time.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from standby.access.service import Principal
from standby.errors import InvalidInput
from standby.plan.schema import Plan
from standby.plan.versions import current_plan
from standby.store.engine import unit_of_work
from standby.web.context import WebContext

SHOWN = "%a %d %b %H:%M"
"""How a time is shown: the weekday matters for a hand-over, the year seldom does."""
FORM = "%Y-%m-%dT%H:%M"
"""A time as a datetime-local field holds it."""


def plan_in_force(context: WebContext) -> Plan | None:
    """The plan in force, or None before any has been loaded."""
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
    return None if found is None else found[1]


def zone_of(plan: Plan | None) -> ZoneInfo:
    """The plan's time zone; UTC without a plan."""
    return ZoneInfo(plan.organisation.timezone if plan is not None else "UTC")


def shown(moment: datetime | None, zone: ZoneInfo) -> str:
    """A time as a page shows it, in `zone`; empty for no time."""
    return moment.astimezone(zone).strftime(SHOWN) if moment is not None else ""


def form_value(moment: datetime, zone: ZoneInfo) -> str:
    """A time as a datetime-local field's value, in `zone`."""
    return moment.astimezone(zone).strftime(FORM)


def form_time(text: str, field: str) -> datetime:
    """A time typed in a form, without an offset (the plan's wall clock); InvalidInput naming the field."""
    value = text.strip()
    if not value:
        raise InvalidInput(f"{field}: give a date and time")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        shown_value = value if len(value) <= 40 else value[:40] + "..."
        raise InvalidInput(f"{field}: {shown_value!r} is not a date and time: use YYYY-MM-DDTHH:MM") from None


def actor(principal: Principal) -> str:
    """Who did it, as the API records it: a user's name, or `token:NAME`."""
    return principal.name if principal.kind == "user" else f"token:{principal.name}"


def form_day(text: str, field: str) -> date:
    """A day typed in a form (YYYY-MM-DD); InvalidInput naming the field."""
    value = text.strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        shown_value = value if len(value) <= 40 else value[:40] + "..."
        raise InvalidInput(f"{field}: {shown_value!r} is not a date (YYYY-MM-DD)") from None
