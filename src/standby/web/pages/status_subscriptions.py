"""The status page's subscriptions: sign up (email, SMS, signed webhook), confirm, unsubscribe.

Public doors, no login. Every answer to a sign-up that passes its checks is the same
page whether the address was known or not. The links' GETs change nothing (mail
scanners follow links): each shows one button that POSTs. The unsubscribe POST also
takes RFC 8058's one-click POST (`List-Unsubscribe=One-Click`) from mail providers.
Every POST here refuses another site's form as web/auth.py does for logged-in pages
(Origin, Referer, Sec-Fetch-Site); a mail provider's one-click POST, made by its server,
names no site at all and passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import IntegrityError

from standby.errors import InvalidInput
from standby.plan.versions import current_plan
from standby.status.door_limits import Allowance, admit
from standby.status.services import public_services
from standby.status.subscriber_service import StaleLink, checked_sign_up, confirm, sign_up, unsubscribe
from standby.status.subscription_links import read_confirm_token
from standby.store.engine import unit_of_work
from standby.web.auth import same_origin
from standby.web.context import Context, WebContext

router = APIRouter(include_in_schema=False)

BY_CLIENT = Allowance("subscribe-client", 10, timedelta(hours=1))
BY_ADDRESS = Allowance("subscribe-address", 3, timedelta(hours=1))
ASKED = (
    "If that address can receive our messages, a link to confirm is on its way. Nothing else is"
    " sent until it is followed, and every message has a link to stop them in one step."
)
CROSS_SITE = "Refused: this form was sent from another site. Use the form on the status page."
LIMITED = "Too many sign-ups from here or for that address: try again in an hour."
NOT_VALID = "This unsubscribe link is not valid: it was cut short or changed."
NO_KEY = "Subscriptions are not available: the server has no secret key (STANDBY_SECRET_KEY)."


def answer(
    request: Request,
    status: int,
    heading: str,
    lines: Sequence[str],
    *,
    action: str | None = None,
    button: str = "",
    hidden: Sequence[tuple[str, str]] = (),
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A small public page: a heading, a few lines, and at most one button."""
    context: WebContext = request.app.state.standby
    snapshot = request.app.state.status_board.snapshot
    organisation = snapshot.organisation if snapshot is not None else "Service"
    html = context.templates.get_template("status_answer.html").render(
        organisation=organisation, heading=heading, lines=list(lines), action=action, button=button,
        hidden=list(hidden),
    )
    answered = HTMLResponse(html, status_code=status, headers=headers)
    answered.headers["Cache-Control"] = "no-store"
    return answered


def client_address(request: Request) -> str:
    """The address the request came from (as the server saw it)."""
    return request.client.host if request.client is not None else "unknown"


@router.post("/status/subscribe")
async def subscribe(request: Request, context: Context) -> HTMLResponse:
    """Ask for status updates by email, SMS or webhook: a confirmation is sent, the same answer always."""
    if not same_origin(request, context):
        return answer(request, 403, "Not subscribed", [CROSS_SITE])
    secret = context.settings.secret_key
    if not secret:
        return answer(request, 503, "Not subscribed", [NO_KEY])
    form = await request.form()

    def field(name: str) -> str | None:
        value = form.get(name)
        return value if isinstance(value, str) else None

    services = [v for v in form.getlist("services") if isinstance(v, str) and v]
    now = context.clock.now()
    base_url = context.settings.base_url.rstrip("/")

    def work() -> str | None:
        with unit_of_work(context.session_factory) as session:
            found = current_plan(session)
            if found is None:
                raise InvalidInput("the status page is not published yet: try again shortly")
            plan = found[1]
            request_ = checked_sign_up(
                email=field("email"), phone=field("phone"), webhook_url=field("webhook_url"),
                secret=field("secret"), services=services,
                known_services=[s.id for s in public_services(plan)], country=plan.organisation.country,
            )
            asks = [
                (BY_CLIENT, client_address(request)),
                (BY_ADDRESS, f"{request_.channel}:{request_.address}"),
            ]
            if not admit(session, asks, salt=secret, now=now):
                return "limited"
            sign_up(
                session, request_, link_secret=secret, base_url=base_url,
                organisation=plan.organisation.name, now=now,
            )
            return None

    try:
        try:
            outcome = await anyio.to_thread.run_sync(work)
        except IntegrityError:  # the same new address signed up twice at once: the row exists now
            outcome = await anyio.to_thread.run_sync(work)
    except InvalidInput as exc:
        return answer(request, 400, "Not subscribed", [str(exc)])
    if outcome == "limited":
        return answer(
            request, 429, "Not subscribed yet", [LIMITED],
            headers={"Retry-After": "3600"},
        )
    return answer(request, 202, "Check your messages", [ASKED])


@router.get("/status/subscriptions/confirm/{token}")
async def confirm_page(request: Request, token: str, context: Context) -> HTMLResponse:
    """The confirmation link: one button that confirms (a GET changes nothing)."""
    secret = context.settings.secret_key
    if not secret:
        return answer(request, 503, "Not confirmed", [NO_KEY])
    try:
        read_confirm_token(secret, token)
    except InvalidInput as exc:
        return answer(request, 400, "Not confirmed", [str(exc)])
    return answer(
        request, 200, "Confirm your subscription",
        ["One more step: press the button to start receiving updates."],
        action=f"/status/subscriptions/confirm/{token}", button="Confirm",
    )


@router.post("/status/subscriptions/confirm/{token}")
async def confirm_post(request: Request, token: str, context: Context) -> HTMLResponse:
    """Confirm: the subscription in force; a forged (400) or used or stale (410) link is refused."""
    if not same_origin(request, context):
        return answer(request, 403, "Not confirmed", [CROSS_SITE])
    secret = context.settings.secret_key
    if not secret:
        return answer(request, 503, "Not confirmed", [NO_KEY])
    now = context.clock.now()

    def work() -> str:
        with unit_of_work(context.session_factory) as session:
            return confirm(session, token=token, link_secret=secret, now=now)

    try:
        await anyio.to_thread.run_sync(work)
    except StaleLink as exc:
        return answer(request, 410, "Not confirmed", [str(exc)])
    except InvalidInput as exc:
        return answer(request, 400, "Not confirmed", [str(exc)])
    return answer(
        request, 200, "Subscribed",
        ["You will be told of incidents and planned maintenance. Each message has a link to stop them."],
    )


@router.get("/status/unsubscribe/{token}")
async def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
    """The unsubscribe link: one button, no login, no questions (a GET changes nothing)."""
    return answer(
        request, 200, "Stop status updates", ["Press the button and no more updates will be sent."],
        action=f"/status/unsubscribe/{token}", button="Unsubscribe",
    )


@router.post("/status/unsubscribe/{token}")
async def unsubscribe_post(request: Request, token: str, context: Context) -> HTMLResponse:
    """Unsubscribe in one step: the page's button, or a mail provider's RFC 8058 one-click POST."""
    if not same_origin(request, context):  # a provider's server-side POST names no other site
        return answer(request, 403, "Not unsubscribed", [CROSS_SITE])
    now = context.clock.now()

    def work() -> bool:
        with unit_of_work(context.session_factory) as session:
            return unsubscribe(session, token=token, now=now)

    if not await anyio.to_thread.run_sync(work):
        return answer(request, 404, "Link not valid", [NOT_VALID])
    return answer(request, 200, "Unsubscribed", ["No more status updates will be sent."])
