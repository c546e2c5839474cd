"""GET /outcomes: the agents' page for logging call outcomes while the CRM is down.

The page works on a phone with a poor connection: each entry is kept in the browser
(localStorage) before it is sent, and sent again until the server has answered for it
(static/outcomes.js). The server renders only the form and the plan's queues; the
entries themselves never pass through this page's HTML.

GET /outcomes-sw.js is the page's service worker (static/outcomes-sw.js): it lets the page
open with no connection, from a copy kept on the device that is dropped at logout.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from standby.customers.outcome_records import MAX_CALL_ID, MAX_CUSTOMER, MAX_TEXT
from standby.plan.versions import current_plan
from standby.store.engine import unit_of_work
from standby.web.auth import LogOutcomes
from standby.web.context import Context, package_dir
from standby.web.pages.refusals import uncached

router = APIRouter(include_in_schema=False)


@router.get("/outcomes")
def outcomes_page(request: Request, principal: LogOutcomes, context: Context) -> Response:
    """The outcome form with the plan's queues; logged-out people go to the login page and back."""
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
    plan = found[1] if found is not None else None
    model = {
        "principal": principal,
        "organisation": plan.organisation.name if plan is not None else None,
        "queues": [{"id": q.id, "name": q.name} for q in plan.queues] if plan is not None else [],
        "limits": {"customer": MAX_CUSTOMER, "text": MAX_TEXT, "call_id": MAX_CALL_ID},
    }
    # The form names the signed-in agent: a shared device must not show it from the HTTP
    # cache. The service worker keeps the one copy that opens offline, and drops it at logout.
    return uncached(request, context, "outcomes.html", model)


@router.get("/outcomes-sw.js")
def outcomes_worker() -> Response:
    """The outcome page's service worker, served from the site's root so its scope can be the whole site."""
    # A worker's scope is at most the folder it is served from: under /static/ it could not
    # see /outcomes, nor the navigations to /logout and /login on which it drops its copy.
    # Like the files under /static/ it holds nothing private, so it needs no login (and a
    # redirect to the login page would make the browser refuse the worker outright).
    return FileResponse(
        package_dir("static") / "outcomes-sw.js",
        media_type="text/javascript",
        # Browsers look for a new worker on each visit; revalidating means a fix reaches them.
        headers={"Cache-Control": "no-cache"},
    )
