"""/api/v1/agents: the agents directory, whose phones the communication plan texts.

Managers and admins only: it holds agents' personal phone numbers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from standby.errors import Conflict
from standby.intake import RowsInvalid, UploadRefused, parse_body, read_upload
from standby.plan.versions import current_plan
from standby.respond.agents import (
    LAYOUT,
    AgentRecord,
    import_agents,
    list_agents,
)
from standby.store.engine import unit_of_work
from standby.web.api.imports import upload_body, upload_responses
from standby.web.auth import ManageAgents
from standby.web.context import Context

router = APIRouter(prefix="/api/v1/agents", tags=["agents"])

MAX_BYTES = 5 * 1_048_576
NO_PLAN = (
    "no plan has been loaded yet: agents belong to the plan's teams, so POST the plan to /api/v1/plan first"
)


class AgentOut(BaseModel):
    """An agent in the directory."""

    external_id: str = Field(description="The id in the centre's HR or workforce system.")
    name: str
    team: str = Field(description="The plan's team id.")
    phone: str | None = Field(description="International form, such as +447700900123.")
    email: str | None
    active: bool = Field(description="False once a replacing import left them out.")
    updated_at: datetime

    @classmethod
    def of(cls, record: AgentRecord) -> AgentOut:
        """The API shape of an agent record."""
        return cls(
            external_id=record.external_id,
            name=record.name,
            team=record.team_id,
            phone=record.phone,
            email=record.email,
            active=record.active,
            updated_at=record.updated_at,
        )


class AgentList(BaseModel):
    """Agents by team, then name."""

    agents: list[AgentOut]
    count: int


class Imported(BaseModel):
    """What an import changed."""

    total: int = Field(description="Agents in the import.")
    created: int
    updated: int
    unchanged: int
    deactivated: int = Field(description="Active agents left out of a replacing import.")


@router.get("", summary="The agents directory")
def get_agents(
    principal: ManageAgents,
    context: Context,
    team: Annotated[str | None, Query(max_length=100, description="Only this team's agents.")] = None,
    inactive: Annotated[bool, Query(description="Also agents deactivated by a replacing import.")] = False,
) -> AgentList:
    """Agents with their team, phone and email; active ones unless `inactive=true`."""
    with unit_of_work(context.session_factory) as session:
        records = list_agents(session, team=team, include_inactive=inactive)
    return AgentList(agents=[AgentOut.of(r) for r in records], count=len(records))


async def agents_body(request: Request) -> tuple[str, bytes]:
    """The import's media type and bytes, size-capped; 415 for other types."""
    try:
        return await read_upload(request, max_bytes=MAX_BYTES, layout=LAYOUT)
    except UploadRefused as exc:
        raise HTTPException(exc.status, str(exc)) from None


AgentsBody = Annotated[tuple[str, bytes], Depends(agents_body)]


def _problems(exc: RowsInvalid) -> JSONResponse:
    return JSONResponse({"detail": [p.as_dict() for p in exc.problems]}, status_code=422)


@router.post(
    "",
    summary="Import agents",
    responses=upload_responses(
        "Imported: what changed.",
        'Bad rows, nothing written: {"detail": [{"row", "column", "message"}, ...]}',
        max_mb=MAX_BYTES // 1_048_576,
        model=Imported,
    ),
    openapi_extra=upload_body(LAYOUT),
)
def post_agents(
    principal: ManageAgents,
    upload: AgentsBody,
    context: Context,
    replace: Annotated[
        bool, Query(description="Deactivate the active agents this import leaves out.")
    ] = False,
) -> JSONResponse:
    """Add or update agents by `external_id`; every row is checked first, and one bad row
    writes nothing (422 lists every bad row with its row and column)."""
    kind, body = upload
    try:
        parsed = parse_body(kind, body, LAYOUT)
        rows = parsed.all_or_nothing(LAYOUT.plural)
        with unit_of_work(context.session_factory) as session:
            found = current_plan(session)
            if found is None:
                raise Conflict(NO_PLAN)
            result = import_agents(
                session, plan=found[1], rows=rows, now=context.clock.now(), replace=replace
            )
    except UploadRefused as exc:
        raise HTTPException(exc.status, str(exc)) from None
    except RowsInvalid as exc:
        return _problems(exc)
    imported = Imported(
        total=result.total,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        deactivated=result.deactivated,
    )
    return JSONResponse(imported.model_dump(mode="json"))
