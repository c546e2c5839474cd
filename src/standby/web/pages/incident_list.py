"""GET /incidents: every incident, open ones first, filtered and paged; POST /incidents declares one.

The list reads through respond.incident_search and the deadlines through
respond.deadline_service, as the overview does. Its filters are query parameters, each
checked here: a bad one is a 400 page naming the parameter and why. Declaring calls
respond.incident_service.declare, as `POST /api/v1/incidents` does; only roles with
manage_incidents see the form, and the server refuses the rest (403). What the service
refuses is shown on the page with the form as it was typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from standby.access.roles import Permission
from standby.access.service import Principal
from standby.errors import InvalidInput
from standby.respond.deadline_service import DeadlineView, deadlines_of
from standby.respond.incident_search import (
    CLASS_CHOICES,
    MAX_TEXT,
    SEVERITY_CHOICES,
    STATE_CHOICES,
    IncidentFilter,
    ListedIncident,
    find_incidents,
)
from standby.respond.incident_service import declare
from standby.respond.incidents import SEVERITY_WORDS
from standby.store.engine import unit_of_work
from standby.store.open_first import PageMark, parse_mark
from standby.web.auth import ManageIncidents, ReadOutages
from standby.web.context import Context, WebContext
from standby.web.pages.centre_clock import CentreClock, centre_clock, plan_needed
from standby.web.pages.refusals import Refusal, page_response, run_form

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
MAX_TITLE = 500  # as the API's Declaration
DECLARED_CLASSES = ("total", "partial", "degraded")
_CLASS_TONES = {"total": "down", "partial": "down", "degraded": "degraded", "interruption": "degraded"}


@dataclass(frozen=True)
class Typed:
    """The declaration form as it was typed, to show it again with the reason it was refused."""

    title: str = ""
    classification: str = "partial"
    queues: Sequence[str] = field(default_factory=tuple)


@router.get("/incidents")
def incident_list(
    request: Request,
    principal: ReadOutages,
    context: Context,
    state: str = "all",
    severity: str = "",
    classification: Annotated[str, Query(alias="class")] = "",
    q: str = "",
    before: str = "",
) -> Response:
    """The incidents list: open ones first, then the rest newest first, 50 a page."""
    where = read_filter(state=state, severity=severity, classification=classification, text=q)
    after = parse_mark(before) if before.strip() else None
    return _render(request, context, principal, where, after)


@router.post("/incidents")
def declare_incident(
    request: Request,
    principal: ManageIncidents,
    context: Context,
    title: Annotated[str, Form(max_length=100_000)] = "",
    classification: Annotated[str, Form()] = "partial",
    queues: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Declare an incident by hand, as the API does; its room next, or this page with the reason."""
    typed = Typed(title, classification, tuple(queues or ()))
    declared: list[int] = []

    def act() -> None:
        now = context.clock.now()
        with unit_of_work(context.session_factory) as session:
            plan = plan_needed(
                centre_clock(session, now).plan, "an incident's severity and paging come from the plan"
            )
            if len(title.strip()) > MAX_TITLE:
                raise InvalidInput(
                    f"title: at most {MAX_TITLE} characters; this one has {len(title.strip()):,}"
                )
            record = declare(
                session,
                title=title,
                classification=classification,
                plan=plan,
                by=principal.signed,
                now=now,
                queues=list(typed.queues),
            )
        declared.append(record.id)

    return run_form(
        act,
        refused=lambda why: _render(
            request, context, principal, IncidentFilter(), None, typed=typed, refused=why
        ),
        then=lambda: f"/incidents/{declared[0]}",
    )


def read_filter(*, state: str, severity: str, classification: str, text: str) -> IncidentFilter:
    """The list's filter from its query parameters; InvalidInput naming the parameter that is wrong."""
    state = state.strip().lower() or "all"
    if state not in STATE_CHOICES:
        raise InvalidInput(f"state: {state[:40]!r} is not a choice: use one of {', '.join(STATE_CHOICES)}")
    level: int | None = None
    if severity.strip():
        word = severity.strip().lower().removeprefix("sev")
        if not word.isdigit() or int(word) not in SEVERITY_CHOICES:
            raise InvalidInput(
                f"severity: {severity[:40]!r} is not a severity: use 1, 2, 3 or 4 (SEV1 to SEV4)"
            )
        level = int(word)
    chosen = classification.strip().lower() or None
    if chosen is not None and chosen not in CLASS_CHOICES:
        raise InvalidInput(
            f"class: {classification[:40]!r} is not a class: use one of {', '.join(CLASS_CHOICES)}"
        )
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            f"q: at most {MAX_TEXT} characters of the title to look for; this has {len(text):,}"
        )
    return IncidentFilter(state=state, severity=level, classification=chosen, text=text.strip())


def _render(
    request: Request,
    context: WebContext,
    principal: Principal,
    where: IncidentFilter,
    after: PageMark | None,
    *,
    typed: Typed | None = None,
    refused: Refusal | None = None,
) -> Response:
    now = context.clock.now()
    with unit_of_work(context.session_factory) as session:
        clock = centre_clock(session, now)
        listed, older = find_incidents(session, where=where, after=after, limit=PAGE_SIZE)
        deadlines = deadlines_of(session, [i.record.id for i in listed], now)
    model: dict[str, Any] = {
        **clock.header(principal),
        "rows": [_row(i, clock, deadlines.get(i.record.id, ())) for i in listed],
        "filter": {
            "state": where.state,
            "severity": str(where.severity or ""),
            "class": where.classification or "",
            "q": where.text,
        },
        "filtered": where != IncidentFilter(),
        "choices": {
            "state": STATE_CHOICES,
            "severity": [(str(level), SEVERITY_WORDS[level]) for level in SEVERITY_CHOICES],
            "class": CLASS_CHOICES,
        },
        "older": _link(where, older) if older is not None else None,
        "first": _link(where, None) if after is not None else None,
        "can_declare": principal.can(Permission.MANAGE_INCIDENTS),
        "declare": {
            "classes": DECLARED_CLASSES,
            "queues": clock.queues(),
            "typed": typed or Typed(),
            "max_title": MAX_TITLE,
        },
    }
    return page_response(request, context, "incidents.html", model, refused=refused, done={})


def _link(where: IncidentFilter, mark: PageMark | None) -> str:
    """This list's address with the same filter, from `mark` on."""
    query = {
        "state": where.state if where.state != "all" else "",
        "severity": str(where.severity or ""),
        "class": where.classification or "",
        "q": where.text,
        "before": mark.text() if mark is not None else "",
    }
    kept = urlencode({k: v for k, v in query.items() if v})
    return f"/incidents?{kept}" if kept else "/incidents"


def _row(listed: ListedIncident, clock: CentreClock, deadlines: Sequence[DeadlineView]) -> dict[str, Any]:
    r = listed.record
    return {
        "id": r.id,
        "title": r.title,
        "severity": r.severity_text.split()[0],
        "severity_text": r.severity_text,
        "tone": "down" if r.severity <= 2 else "degraded",
        "exercise_id": r.exercise_id,
        "classification": r.classification,
        "class_tone": _CLASS_TONES.get(r.classification, "unknown"),
        "state": r.state,
        "open": r.open,
        "started": clock.when(listed.started_at),
        "ago": clock.ago(listed.started_at),
        "commander": clock.person(r.commander),
        "acknowledged": clock.when(r.acknowledged_at),
        # Left `detected` unacknowledged: still paging; past it without an acknowledgement, nobody answered.
        "paging": r.state == "detected",
        "deadlines": deadline_warnings(deadlines, clock),
    }


def deadline_warnings(deadlines: Sequence[DeadlineView], clock: CentreClock) -> list[Mapping[str, str]]:
    """The deadlines at risk or missed (not those met, nor groups this kind of outage does not tell)."""
    return [
        {
            "group": d.group,
            "state": d.state.replace("_", " "),
            "due": clock.when(d.due_by),
            "reason": d.reason,
        }
        for d in deadlines
        if d.state != "met" and d.cause != "not_told"
    ]
