"""GET /messages: the outbox, everything Standby sends, by state and channel, newest first.

The page reads what GET /api/v1/notifications reads, from the same service
(notify.outbox), and needs the same permission (messages carry staff and customers'
numbers and addresses). Webhook addresses are credentials: only their host is shown, as
the API does. Roles that may manage notifications get Retry on a parked message and
Cancel on a waiting one: plain POSTs to the routes here that call the outbox's
retry_parked and cancel, as the API's retry and cancel do; the server refuses them (403)
to other roles whatever the form says. What the outbox refuses (a message sent meanwhile)
is shown on the page with its reason.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response

from standby.access.roles import Permission
from standby.access.service import Principal
from standby.errors import InvalidInput
from standby.notify.outbox import MessageRecord
from standby.notify.outbox_desk import cancel, count_by_state, list_messages, retry_parked
from standby.store.engine import unit_of_work
from standby.store.tables import CHANNELS, MESSAGE_STATES
from standby.web.api.notifications import shown_recipient
from standby.web.auth import ManageNotifications, ReadNotifications
from standby.web.context import Context, WebContext
from standby.web.pages.centre_clock import clock_now
from standby.web.pages.refusals import Refusal, page_response, run_form

router = APIRouter(include_in_schema=False)

PAGE = 50
FIRST_LINE = 160
MessageId = Annotated[int, Path(ge=1, le=2**63 - 1)]
STATE_WORDS = {
    "pending": "Waiting",
    "sending": "Sending",
    "sent": "Sent",
    "parked": "Parked",
    "cancelled": "Cancelled",
}
TONES = {"pending": "unknown", "sending": "unknown", "sent": "up", "parked": "down", "cancelled": "unknown"}
DONE = {
    "retried": "The message goes out again now.",
    "cancelled": "The message will not be sent.",
}
DONE_AS = {"retry": "retried", "cancel": "cancelled"}


@router.get("/messages")
def messages_page(
    request: Request,
    principal: ReadNotifications,
    context: Context,
    state: Annotated[str, Query(max_length=20)] = "",
    channel: Annotated[str, Query(max_length=20)] = "",
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    """The outbox, newest first: counts per state, filtered by state and channel, paged."""
    return _render(request, context, principal, _filters(state, channel), before=before)


@router.post("/messages/{message_id}/{action}")
def act_on_message(
    message_id: MessageId,
    action: Literal["retry", "cancel"],
    request: Request,
    principal: ManageNotifications,
    context: Context,
    state: Annotated[str, Form(max_length=20)] = "",
    channel: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Retry a parked message (pending again, due now, attempts from zero, the same key), or
    cancel a waiting or parked one (one being sent or sent already cannot be: 409)."""
    filters = _filters(state, channel)

    def act() -> None:
        now = context.clock.now()
        with unit_of_work(context.session_factory) as session:
            if action == "retry":
                retry_parked(session, message_id=message_id, now=now, by=principal.name)
            else:
                cancel(session, message_id=message_id, now=now)

    return run_form(
        act,
        refused=lambda why: _render(request, context, principal, filters, refused=why),
        then=lambda: _query(filters, done=DONE_AS[action]),
    )


def _filters(state: str, channel: str) -> dict[str, str]:
    """The state and channel asked for ('' for all); InvalidInput (the 400 page) for others."""
    if state and state not in MESSAGE_STATES:
        raise InvalidInput(f"state: {state!r} is not a state: use one of {', '.join(MESSAGE_STATES)}")
    if channel and channel not in CHANNELS:
        raise InvalidInput(f"channel: {channel!r} is not a channel: use one of {', '.join(CHANNELS)}")
    return {"state": state, "channel": channel}


def _query(filters: dict[str, str], **more: object) -> str:
    """The page's address with these filters (empty ones left out)."""
    values = {k: v for k, v in {**filters, **more}.items() if v not in ("", None)}
    return "/messages" + (f"?{urlencode(values)}" if values else "")


def _render(
    request: Request,
    context: WebContext,
    principal: Principal,
    filters: dict[str, str],
    *,
    before: int | None = None,
    refused: Refusal | None = None,
) -> Response:
    model = messages_model(context, principal, filters, before=before)
    return page_response(request, context, "messages.html", model, refused=refused, done=DONE)


def messages_model(
    context: WebContext, principal: Principal, filters: dict[str, str], *, before: int | None = None
) -> dict[str, Any]:
    """Everything the messages page shows: counts, the filters and one page of messages."""
    clock = clock_now(context)
    state, channel = filters["state"] or None, filters["channel"] or None
    with unit_of_work(context.session_factory) as session:
        counts = count_by_state(session, channel=channel)
        records = list_messages(session, state=state, channel=channel, limit=PAGE + 1, before_id=before)
    older = records[PAGE - 1].id if len(records) > PAGE else None
    can_manage = principal.can(Permission.MANAGE_NOTIFICATIONS)

    def row(record: MessageRecord) -> dict[str, Any]:
        waiting = record.state == "pending"
        return {
            "id": record.id,
            "channel": record.channel,
            "to": shown_recipient(record),
            "to_name": record.recipient_name or "",
            "first_line": _first_line(record),
            "purpose": record.purpose,
            "incident_id": record.incident_id,
            "state": record.state,
            "word": "Retrying" if waiting and record.attempts > 0 else _word(record.state),
            "tone": "degraded" if waiting and record.attempts > 0 else TONES.get(record.state, "unknown"),
            "attempts": record.attempts,
            "last_error": record.last_error or "",
            "created": clock.when(record.created_at),
            "sent": clock.when(record.sent_at),
            "parked": clock.when(record.parked_at),
            "next_attempt": clock.when(record.next_attempt_at) if waiting else "",
            "can_retry": can_manage and record.state == "parked",
            "can_cancel": can_manage and record.state in ("pending", "parked"),
        }

    return {
        **clock.header(principal),
        "filters": filters,
        "counts": [
            {"state": s, "word": _word(s), "count": counts.get(s, 0), "href": _query({**filters, "state": s})}
            for s in MESSAGE_STATES
        ],
        "total": sum(counts.values()),
        "all_states": _query({**filters, "state": ""}),
        "channels": [{"channel": c, "href": _query({**filters, "channel": c})} for c in ("", *CHANNELS)],
        "messages": [row(r) for r in records[:PAGE]],
        "older": _query(filters, before=older) if older is not None else "",
        "newest": _query(filters) if before is not None else "",
    }


def _first_line(record: MessageRecord) -> str:
    """The subject, else the body's first line that says something, cut to fit a row."""
    text = record.subject or next((line.strip() for line in record.body.splitlines() if line.strip()), "")
    return text if len(text) <= FIRST_LINE else text[: FIRST_LINE - 1] + "…"


def _word(state: str) -> str:
    """A state as the page names it (the outbox's `pending` is a message waiting its turn)."""
    return STATE_WORDS.get(state, state.capitalize())
