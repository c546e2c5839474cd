"""The incident room's "Public status update" form: the communications lead's words for the status page.

It calls the same service as `POST /api/v1/incidents/{id}/status-updates`
(status/updates_service.py) and, like the room's other actions, redirects back to the
room, or shows the room with the reason when refused (400 or 404). Only MANAGE_INCIDENTS.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from standby.plan.schema import Plan
from standby.plan.topology import Topology
from standby.status.updates_service import MAX_TEXT, post_public_update
from standby.store.engine import unit_of_work
from standby.web.auth import ManageIncidents
from standby.web.context import Context
from standby.web.pages.incidents import IncidentId, act_in_room

router = APIRouter(include_in_schema=False)


@router.post("/incidents/{incident_id}/status-update")
def public_update(
    incident_id: IncidentId,
    request: Request,
    principal: ManageIncidents,
    context: Context,
    status: Annotated[str, Form(max_length=20)] = "",
    text: Annotated[str, Form(max_length=MAX_TEXT * 2)] = "",
) -> Response:
    """Post an update to the public status page (and so to its subscribers)."""

    def act(_plan: Plan | None, _topology: Topology | None) -> None:
        with unit_of_work(context.session_factory) as session:
            post_public_update(
                session, incident_id=incident_id, status=status, text=text,
                by=principal.signed, now=context.clock.now(),
            )

    return act_in_room(request, context, principal, incident_id, act, done="public", anchor="public-update")
