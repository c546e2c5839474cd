"""The status page's "call me back" form, offered while a public line is down.

A public door, no login: a plain form POST (the page stays script-free and rendered
once; only this POST touches the database). It books through the customers' service
(customers/status_callbacks.py) and answers a small page that echoes no more than the
last digits of the number, the same whether the number had asked already or not.
Cross-site posts are refused as web/auth.py refuses them; requests are rate-limited per
client address and per number.
"""

from __future__ import annotations

from datetime import timedelta

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from standby.customers.phones import customer_phone
from standby.customers.status_callbacks import MAX_NAME, CallbackAsked, open_outage_of, request_callback
from standby.errors import InvalidInput
from standby.plan.versions import current_plan
from standby.status.door_limits import Allowance, admit
from standby.store.engine import unit_of_work
from standby.web.auth import same_origin
from standby.web.context import Context
from standby.web.pages.status_subscriptions import CROSS_SITE, answer, client_address

router = APIRouter(include_in_schema=False)

BY_CLIENT = Allowance("callback-client", 5, timedelta(hours=1))
BY_NUMBER = Allowance("callback-number", 3, timedelta(hours=1))
DOWN = ("partial_outage", "major_outage")
LIMITED = "Too many requests from here or for that number: try again in an hour."


@router.post("/status/callback")
async def call_me_back(request: Request, context: Context) -> HTMLResponse:
    """Ask to be called back once a line that is down works again."""
    heading = "Not booked"
    if not same_origin(request, context):
        return answer(request, 403, heading, [CROSS_SITE])
    board = request.app.state.status_board
    snapshot = board.snapshot
    form = await request.form()
    fields = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    views = {v.service.id: v for v in snapshot.services} if snapshot is not None else {}
    view = views.get(fields.get("service", ""))
    if view is None:
        return answer(request, 400, heading, ["service: choose the line you were calling"])
    if view.status not in DOWN or not view.service.queues:
        return answer(request, 409, heading, [f"{view.service.name} is answering: please call it now."])
    name = " ".join(fields.get("name", "").split())
    if not name or len(name) > MAX_NAME:
        return answer(request, 400, heading, [f"name: give your name (at most {MAX_NAME} characters)"])
    now = context.clock.now()
    salt = context.settings.secret_key or "standby"

    def work() -> str:
        with unit_of_work(context.session_factory) as session:
            found = current_plan(session)
            if found is None:
                raise InvalidInput("the status page is not published yet: try again shortly")
            plan = found[1]
            phone = customer_phone(fields.get("phone", ""), country=plan.organisation.country)
            asks = [(BY_CLIENT, client_address(request)), (BY_NUMBER, phone)]
            if not admit(session, asks, salt=salt, now=now):
                return ""
            queues = view.service.queues
            queue = next((q for q in queues if open_outage_of(session, q)), queues[0])
            asked = CallbackAsked(phone, name, queue, fields.get("vulnerable") in ("on", "yes", "true", "1"))
            request_callback(session, asked, organisation=plan.organisation.name, now=now)
            return phone

    try:
        phone = await anyio.to_thread.run_sync(work)
    except InvalidInput as exc:
        return answer(request, 400, heading, [f"phone: {exc}" if "phone" not in str(exc) else str(exc)])
    if not phone:
        return answer(request, 429, heading, [LIMITED], headers={"Retry-After": "3600"})
    return answer(
        request, 202, "We will call you back",
        [
            f"We will call the number ending {phone[-3:]} once {view.service.name} is working again.",
            "We will text you the time first. You do not need to stay on the line or ask again.",
        ],
    )
