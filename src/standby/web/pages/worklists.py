"""What the customers' worklists (callbacks, calls cut off, compensation) share.

Their filters are read from the address by hand rather than by FastAPI's query checks, so
that a bad filter is answered with the page itself (400, the reason above the form) and not
with a bare error page. Each form carries `back`, the worklist address it was sent from: on
success the browser goes back there (POST/redirect/GET), and a refusal is shown on that
page with its reason and status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from standby.access.service import Principal
from standby.errors import Conflict, InvalidInput, NotFound, StandbyError, StorageError
from standby.plan.schema import Plan
from standby.plan.versions import current_plan
from standby.web.context import WebContext

NO_STORE = {"Cache-Control": "no-store"}
PAGE = 50
"""Entries shown at a time: a phone's worth of scrolling, and quick to draw."""
MAX_ROW_ID = 2**31 - 1
TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class Centre:
    """The plan as the worklists need it: the centre's name, its time zone and its queues' names."""

    plan: Plan | None
    zone: ZoneInfo

    @property
    def name(self) -> str | None:
        """The contact centre's name, for the top bar."""
        return self.plan.organisation.name if self.plan is not None else None

    def queue_name(self, queue_id: str) -> str:
        """The queue's name in the plan, else its id (a queue since removed from the plan)."""
        if self.plan is not None:
            for queue in self.plan.queues:
                if queue.id == queue_id:
                    return queue.name
        return queue_id

    def queues(self) -> list[dict[str, str]]:
        """The plan's queues, for a filter's choices."""
        return [{"id": q.id, "name": q.name} for q in self.plan.queues] if self.plan is not None else []

    def when(self, moment: datetime | None) -> str:
        """A moment in the centre's time, for people: 'Mon 15 Jun 14:30'."""
        return moment.astimezone(self.zone).strftime("%a %d %b %H:%M") if moment is not None else ""

    def clock(self, moment: datetime | None) -> str:
        """The time of day of a moment in the centre's time: '14:30'."""
        return moment.astimezone(self.zone).strftime("%H:%M") if moment is not None else ""

    def field(self, moment: datetime | None) -> str:
        """A moment as a datetime-local field's value, in the centre's time."""
        return moment.astimezone(self.zone).strftime("%Y-%m-%dT%H:%M") if moment is not None else ""


def centre(session: Session) -> Centre:
    """The current plan's centre (UTC and no queues when no plan is loaded)."""
    found = current_plan(session)
    plan = found[1] if found is not None else None
    return Centre(plan, ZoneInfo(plan.organisation.timezone if plan is not None else "UTC"))


# --- filters read from the address -------------------------------------------------------------


def text(params: Mapping[str, str], name: str, *, limit: int = 100) -> str | None:
    """A filter's text, trimmed; None when empty; InvalidInput when longer than `limit`."""
    value = params.get(name, "").strip()
    if len(value) > limit:
        raise InvalidInput(f"{name}: at most {limit} characters, not {len(value)}")
    return value or None


def choice(params: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    """One of `allowed`, or None when empty; InvalidInput naming the choices otherwise."""
    value = text(params, name)
    if value is not None and value not in allowed:
        raise InvalidInput(f"{name}: {value!r} is not one of {', '.join(allowed)}")
    return value


def row_number(params: Mapping[str, str], name: str) -> int | None:
    """A record's number (an outage's, a callback's), or None when empty."""
    value = text(params, name, limit=20)
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_ROW_ID:
        raise InvalidInput(f"{name}: {value!r} is not a number from 1 to {MAX_ROW_ID}")
    return int(value)


def count(params: Mapping[str, str], name: str) -> int:
    """A count such as a page's offset: 0 when empty."""
    value = text(params, name, limit=20)
    if value is None:
        return 0
    if not value.isdigit() or int(value) > 10**9:
        raise InvalidInput(f"{name}: {value!r} is not a count from 0")
    return int(value)


def yes(params: Mapping[str, str], name: str) -> bool | None:
    """A yes/no filter: 1 or 0 (true/false, yes/no, on/off); None when empty."""
    value = text(params, name, limit=10)
    if value is None:
        return None
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise InvalidInput(f"{name}: {value!r} is not yes or no: use 1 or 0")


def local_moment(value: str, zone: ZoneInfo, name: str) -> datetime:
    """A time typed in a form, in the centre's time unless it gives its offset; InvalidInput if not a time."""
    typed = value.strip()
    try:
        parsed = datetime.fromisoformat(typed)
    except ValueError:
        raise InvalidInput(f"{name}: {typed[:40]!r} is not a date and time: use YYYY-MM-DDTHH:MM") from None
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed


def moment(params: Mapping[str, str], name: str, zone: ZoneInfo) -> datetime | None:
    """A time filter in the centre's time, or None when empty."""
    value = text(params, name, limit=40)
    return None if value is None else local_moment(value, zone, name)


def echo(params: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """The filters as typed, for the form to show them again (each cut to a sane length)."""
    return {name: params.get(name, "")[:100] for name in names}


def address(path: str, params: Mapping[str, Any]) -> str:
    """`path` with the non-empty `params` as its query."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "", False)})
    return f"{path}?{query}" if query else path


# --- actions ------------------------------------------------------------------------------------


def back_to(back: str, section: str) -> str:
    """Where a form came from, if it is a page of `section` on this site; else the section's page."""
    parts = urlsplit(back)
    if parts.scheme or parts.netloc or "\\" in back:
        return section
    if parts.path != section and not parts.path.startswith(section + "/"):
        return section
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def query_of(page: str) -> dict[str, str]:
    """An address's query as a mapping (the last of a repeated name wins)."""
    return dict(parse_qsl(urlsplit(page).query))


def done_at(page: str, said: Mapping[str, str | int]) -> str:
    """`page` again, saying what was just done (and dropping what the last action said)."""
    params: dict[str, Any] = {k: v for k, v in query_of(page).items() if k not in ("done", "made")}
    return address(urlsplit(page).path, {**params, **said})


def after_form(
    section: str,
    back: str,
    action: Callable[[], None],
    draw: Callable[[str, str, int], Response],
    said: Callable[[], Mapping[str, str | int]],
) -> Response:
    """Run a form's action: on success back to its page (its query saying `said()`, such as
    `done=moved`), else `draw(page, reason, status)`: that page with the reason it was refused."""
    page = back_to(back, section)
    refused = attempt(action)
    if refused is None:
        return RedirectResponse(done_at(page, said()), status_code=303)
    reason, status = refused
    return draw(page, reason, status)


def frame(centre: Centre, principal: Principal, now: datetime, *, error: str, done: str) -> dict[str, Any]:
    """What every worklist shows around its list: who, where, the time, and what was done or refused."""
    return {
        "principal": principal,
        "organisation": centre.name,
        "timezone": str(centre.zone),
        "now": centre.when(now),
        "now_field": centre.field(now),
        "error": sentence(error),
        "done": "" if error else done,
    }


def attempt(action: Callable[[], None]) -> tuple[str, int] | None:
    """Run a form's action; None when done, else the reason it was refused and its status."""
    try:
        action()
    except NotFound as missing:
        return str(missing), 404
    except Conflict as conflict:
        return str(conflict), 409
    except StandbyError as refused:
        if isinstance(refused, StorageError):
            raise
        return str(refused), 400
    return None


def sentence(message: str) -> str:
    """A reason as a sentence: its first letter a capital."""
    return message[:1].upper() + message[1:]


def show(
    request: Request, context: WebContext, template: str, model: dict[str, Any], status: int = 200
) -> Response:
    """The page, never cached: it names customers."""
    response: Response = context.templates.TemplateResponse(
        request, template, model, status_code=status, headers=NO_STORE
    )
    return response
