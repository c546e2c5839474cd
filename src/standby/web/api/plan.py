"""/api/v1/plan: the plan in force, its versions, and loading a new one."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from standby.access.service import Principal
from standby.errors import NotFound
from standby.plan.loading import load_plan_text
from standby.plan.versions import (
    PlanVersionInfo,
    current_plan,
    list_set_aside,
    list_versions,
    record_plan,
)
from standby.plan.yamlsource import MAX_BYTES
from standby.store.engine import unit_of_work
from standby.web.auth import LoadPlan, ReadPlan
from standby.web.context import Context, WebContext

router = APIRouter(prefix="/api/v1/plan", tags=["plan"])

YAML_TYPES = frozenset({"text/yaml", "application/yaml", "application/x-yaml", "text/x-yaml"})
JSON_TYPE = "application/json"
NO_PLAN = (
    "no plan has been loaded yet: POST one to /api/v1/plan, or start the server with"
    " standby serve --plan PLAN"
)


class Version(BaseModel):
    """A stored version of the plan."""

    id: int
    sha256: str
    loaded_at: datetime
    loaded_by: str | None
    organisation: str
    counts: dict[str, int]

    @classmethod
    def of(cls, info: PlanVersionInfo) -> Version:
        """The API shape of a version record."""
        return cls(
            id=info.id,
            sha256=info.sha256,
            loaded_at=info.loaded_at,
            loaded_by=info.loaded_by,
            organisation=info.organisation,
            counts=dict(info.counts),
        )


class PlanFile(BaseModel):
    """The plan file this server watches, and whether it is the version in force."""

    path: str
    in_force: bool
    note: str | None = None
    problems: list[str] = []


class PlanInForce(BaseModel):
    """The plan in force, by its YAML names, with its version."""

    version: Version
    plan: dict[str, Any]
    plan_file: PlanFile | None = None


class SetAside(BaseModel):
    """A plan file's text read at start but not put in force: a newer upload was in force."""

    id: int
    sha256: str
    path: str
    changed_at: datetime
    read_at: datetime
    in_force_version: int


class Versions(BaseModel):
    """Every stored version, newest first, and the plan file texts set aside."""

    versions: list[Version]
    set_aside: list[SetAside] = []


class Loaded(BaseModel):
    """The version a POSTed plan became, and whether it is new."""

    version: Version
    created: bool


@router.get("", summary="The plan in force", responses={404: {"description": NO_PLAN}})
def get_plan(principal: ReadPlan, context: Context) -> PlanInForce:
    """The plan currently in force, as JSON by its YAML names, with its version."""
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
    if found is None:
        raise NotFound(NO_PLAN)
    info, plan = found
    plan_file = None
    if context.plan_watch is not None:
        status = context.plan_watch.status
        plan_file = PlanFile(
            path=str(status.path),
            in_force=status.sha256 == info.sha256,
            note=status.differs_from(info),
            problems=status.rendered_problems,
        )
    return PlanInForce(
        version=Version.of(info), plan=plan.model_dump(mode="json", by_alias=True), plan_file=plan_file
    )


@router.get("/versions", summary="Versions of the plan")
def get_versions(principal: ReadPlan, context: Context) -> Versions:
    """Every version of the plan that was ever in force, newest first."""
    with unit_of_work(context.session_factory) as session:
        versions = list_versions(session)
        kept = list_set_aside(session)
    return Versions(
        versions=[Version.of(v) for v in versions],
        set_aside=[
            SetAside(
                id=k.id,
                sha256=k.sha256,
                path=k.path,
                changed_at=k.changed_at,
                read_at=k.read_at,
                in_force_version=k.in_force_version,
            )
            for k in kept
        ],
    )


async def plan_body(request: Request) -> bytes:
    """The plan's YAML from the body: raw text/yaml, or JSON {"yaml": "..."}; size-capped."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in YAML_TYPES and kind != JSON_TYPE:
        raise HTTPException(
            415,
            'send the plan as text/yaml (or application/x-yaml), or as JSON {"yaml": "..."}',
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise HTTPException(413, f"a plan may be at most {MAX_BYTES // 1_048_576} MB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BYTES:
            raise HTTPException(413, f"a plan may be at most {MAX_BYTES // 1_048_576} MB")
    if kind != JSON_TYPE:
        return bytes(body)
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(422, "the body is not valid JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("yaml"), str):
        raise HTTPException(422, 'the JSON body must be an object {"yaml": "...the plan..."}')
    return str(document["yaml"]).encode("utf-8")


PlanBody = Annotated[bytes, Depends(plan_body)]


@router.post(
    "",
    summary="Load a plan",
    status_code=201,
    responses={
        200: {"description": "The plan is the version already in force.", "model": Loaded},
        201: {"description": "The plan is a new version, now in force.", "model": Loaded},
        415: {"description": "Neither YAML nor JSON."},
        422: {"description": 'Invalid: {"detail": [{"line", "column", "message"}, ...]}'},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/yaml": {"schema": {"type": "string"}},
                "application/x-yaml": {"schema": {"type": "string"}},
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["yaml"],
                        "properties": {"yaml": {"type": "string"}},
                    }
                },
            },
        }
    },
)
def post_plan(principal: LoadPlan, body: PlanBody, context: Context) -> JSONResponse:
    """Validate the plan and make it the one in force (201), or say it already is (200).

    An invalid plan changes nothing and answers 422 with every problem's line and column.
    """
    info = put_in_force(context, principal, body)  # PlanInvalid -> 422 with line and column
    result = Loaded(version=Version.of(info), created=info.created)
    return JSONResponse(result.model_dump(mode="json"), status_code=201 if info.created else 200)


def put_in_force(context: WebContext, principal: Principal, body: bytes) -> PlanVersionInfo:
    """Validate the plan's YAML and record it as the version in force; PlanInvalid when it cannot be."""
    plan = load_plan_text(body)
    source = body.decode("utf-8-sig")  # the loader accepted it, so it decodes
    with unit_of_work(context.session_factory) as session:
        return record_plan(
            session,
            plan=plan,
            source=source,
            now=context.clock.now(),
            loaded_by=principal.name if principal.kind == "user" else f"token:{principal.name}",
        )
