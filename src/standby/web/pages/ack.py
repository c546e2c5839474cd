"""GET/POST /ack/{token}: acknowledging a page from the signed link in its message.

GET only shows what the link acknowledges, with a button: mail clients and chat apps
fetch links to preview them, and that must not acknowledge anything. POST (the
button) acknowledges. No login is needed: the signed token is the credential (see
respond.ack_links). A malformed, forged or expired link gets a 400 page saying so.
The answers are never cached and send no Referer, so the token stays out of logs
elsewhere.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from standby.errors import InvalidInput, NotFound
from standby.plan.schema import Plan
from standby.plan.versions import current_plan
from standby.respond.oncall_service import PageInfo, acknowledge_by_token, page_for_token
from standby.store.engine import unit_of_work
from standby.web.context import Context, WebContext

router = APIRouter(include_in_schema=False)

HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
NO_SECRET = "acknowledgement links are off on this server (it has no secret key)"


@router.get("/ack/{token}")
def ack_page(token: str, request: Request, context: Context) -> Response:
    """What the link acknowledges, and a button to do it; changes nothing."""
    secret = context.settings.secret_key
    if not secret:
        return _render(request, context, token, None, error=NO_SECRET, status=503)
    now = context.clock.now()
    try:
        with unit_of_work(context.session_factory) as session:
            page = page_for_token(session, secret=secret, token=token, now=now)
            plan = _plan(session)
    except (InvalidInput, NotFound) as exc:
        return _render(request, context, token, None, error=str(exc), status=400)
    return _render(request, context, token, page, plan=plan)


@router.post("/ack/{token}")
def ack_submit(token: str, request: Request, context: Context) -> Response:
    """Acknowledge the page the link names, as the person it was sent to."""
    secret = context.settings.secret_key
    if not secret:
        return _render(request, context, token, None, error=NO_SECRET, status=503)
    now = context.clock.now()
    try:
        with unit_of_work(context.session_factory) as session:
            plan = _plan(session)
            result = acknowledge_by_token(session, secret=secret, token=token, now=now, plan=plan)
            page = page_for_token(session, secret=secret, token=token, now=now)
    except (InvalidInput, NotFound) as exc:
        return _render(request, context, token, None, error=str(exc), status=400)
    zone = _zone(plan)
    done = (
        f"Already acknowledged {_when(result.acknowledged_at, zone)}: nothing more to do."
        if result.already_acknowledged
        else f"Acknowledged {_when(result.acknowledged_at, zone)}. Thank you: escalation stops here."
    )
    return _render(request, context, token, page, plan=plan, done=done)


def _plan(session: Session) -> Plan | None:
    found = current_plan(session)
    return None if found is None else found[1]


def _zone(plan: Plan | None) -> ZoneInfo:
    return ZoneInfo(plan.organisation.timezone if plan is not None else "UTC")


def _when(when: datetime, zone: ZoneInfo) -> str:
    return when.astimezone(zone).strftime("%a %d %b %Y, %H:%M %Z")


def _render(
    request: Request,
    context: WebContext,
    token: str,
    page: PageInfo | None,
    *,
    plan: Plan | None = None,
    error: str = "",
    done: str = "",
    status: int = 200,
) -> Response:
    zone = _zone(plan)
    person = ""
    if page is not None:
        found = plan.people_by_id.get(page.person_id) if plan is not None else None
        person = found.name if found is not None else page.person_id
    response: Response = context.templates.TemplateResponse(
        request,
        "ack.html",
        {
            "principal": None,
            "organisation": plan.organisation.name if plan is not None else None,
            "token": token,
            "page": page,
            "person": person,
            "sent_at": _when(page.sent_at, zone) if page is not None else "",
            "acknowledged_at": (
                _when(page.acknowledged_at, zone) if page is not None and page.acknowledged_at else ""
            ),
            "error": error,
            "done": done,
        },
        status_code=status,
        headers=HEADERS,
    )
    return response
