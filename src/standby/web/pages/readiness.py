"""/readiness: the agents' home check, opened from the link they were sent or signed in.

The page measures in the agent's browser (static/readiness.js) and sends the figures to
POST /readiness/results, where the service judges them against the plan and stores the
check (`readiness.service`). Who is checking comes from the signed link's token (sent
back in the `X-Readiness-Token` header, never in a cookie) or from the login: a signed-in
user whose username is an active agent's `external_id` in the agents directory.

- GET /readiness/ping answers 204 at once, never cached: the round trips are timed on it.
- GET /readiness/payload?bytes=N sends N bytes (at most 2 MB) and POST /readiness/upload
  takes up to 2 MB and drops it: throughput each way. Both need the token or a login.
- The platform check needs the browser to fetch other origins, which Standby's policy
  (`default-src 'self'`) forbids; this page's own Content-Security-Policy adds to
  `connect-src` exactly the origins of the plan's `readiness.platform_login`, nothing else.
  A `no-cors` fetch then tells only whether an answer came (any HTTP answer: reached;
  DNS failure, refused connection, TLS error or timeout: not reached). It cannot see the
  status, the body, UDP media ports or whether the login works.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from standby.access.roles import Permission
from standby.errors import InvalidInput, NotFound
from standby.plan.readiness import origin
from standby.plan.schema import Plan
from standby.plan.versions import current_plan
from standby.readiness.links import read_readiness_token
from standby.readiness.service import find_agent, record_check
from standby.readiness.verdict import Measurements, PlatformReach, browser_of
from standby.respond.agents import AgentRecord
from standby.store.engine import unit_of_work
from standby.web.auth import check_csrf, identify
from standby.web.context import Context, WebContext
from standby.web.headers import CONTENT_SECURITY_POLICY

router = APIRouter(include_in_schema=False)

TOKEN_HEADER = "x-readiness-token"
MAX_PAYLOAD = 2_000_000
PAYLOAD_BYTES = 1_000_000
UPLOAD_BYTES = 500_000
DEFAULT_SECONDS = 30
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
_BLOCK = bytes(range(256)) * 4096  # 1 MiB that no proxy compresses to nothing


class _Round(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bytes: int = Field(ge=0, le=MAX_PAYLOAD)
    ms: float = Field(ge=0, le=600_000)


class _Reach(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str = Field(max_length=2000)
    reached: bool


class ResultsIn(BaseModel):
    """What the page measured."""

    model_config = ConfigDict(extra="forbid")
    round_trips_ms: list[float] = Field(max_length=1000)
    download: _Round
    upload: _Round
    microphone: str = Field(pattern="^(granted|denied|prompt|unknown)$")
    platform: list[_Reach] = Field(default_factory=list, max_length=50)


class _Caller:
    """Who is checking: the agent, and the campaign whose link they came through (0: none)."""

    def __init__(self, agent: AgentRecord, campaign_id: int) -> None:
        self.agent = agent
        self.campaign_id = campaign_id


def _plan(context: WebContext) -> Plan | None:
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
    return None if found is None else found[1]


def _by_token(context: WebContext, token: str) -> _Caller:
    secret = context.settings.secret_key
    if not secret:
        raise InvalidInput("readiness links are off on this server (it has no secret key)")
    claim = read_readiness_token(secret, token, context.clock.now())
    with unit_of_work(context.session_factory) as session:
        agent = find_agent(session, claim.agent)
    return _Caller(agent, claim.campaign_id)


def _caller(request: Request, context: WebContext) -> _Caller:
    """The agent behind a request: the link's token header, else the login; InvalidInput or NotFound."""
    token = request.headers.get(TOKEN_HEADER)
    if token:
        return _by_token(context, token)
    principal, by_cookie = identify(request, context)
    if principal is None or not principal.can(Permission.LOG_OUTCOMES):
        raise InvalidInput("open the link you were sent, or sign in as an agent")
    if by_cookie:
        check_csrf(request, context)
    with unit_of_work(context.session_factory) as session:
        return _Caller(find_agent(session, principal.name), 0)


def _policy(plan: Plan | None) -> str:
    origins = sorted({origin(a) for a in plan.readiness.platform_login}) if plan is not None else []
    if not origins:
        return CONTENT_SECURITY_POLICY
    return f"{CONTENT_SECURITY_POLICY}; connect-src 'self' {' '.join(origins)}"


def _page(
    request: Request,
    context: WebContext,
    *,
    caller: _Caller | None,
    token: str,
    error: str,
    seconds: int,
    status: int = 200,
) -> Response:
    plan = _plan(context)
    principal, _ = identify(request, context) if not token else (None, False)
    addresses = list(plan.readiness.platform_login) if plan is not None else []
    response: Response = context.templates.TemplateResponse(
        request,
        "readiness.html",
        {
            "principal": principal,
            "organisation": plan.organisation.name if plan is not None else None,
            "agent": caller.agent if caller is not None else None,
            "token": token,
            "error": error
            or ("" if plan is not None else "No continuity plan is loaded yet: ask a manager."),
            "seconds": seconds,
            "platform": json.dumps(addresses),
            "payload_bytes": PAYLOAD_BYTES,
            "upload_bytes": UPLOAD_BYTES,
        },
        status_code=status,
        headers={**NO_STORE, "Content-Security-Policy": _policy(plan)},
    )
    return response


Seconds = Annotated[int, Query(ge=5, le=120, description="How long to time round trips.")]


@router.get("/readiness")
def readiness_page(request: Request, context: Context, seconds: Seconds = DEFAULT_SECONDS) -> Response:
    """The check for a signed-in agent; others are sent to the login page."""
    principal, _ = identify(request, context)
    if principal is None:
        return Response(status_code=303, headers={"Location": "/login?next=%2Freadiness"})
    caller = None
    error = ""
    status = 200
    if not principal.can(Permission.LOG_OUTCOMES):
        error = "The home check is for agents: your role cannot take it."
        status = 403  # as for every page the navigation hides from the role
    else:
        try:
            with unit_of_work(context.session_factory) as session:
                caller = _Caller(find_agent(session, principal.name), 0)
        except NotFound:
            error = (
                f"{principal.name!r} is not an agent in the agents directory:"
                " open the link you were sent by SMS or email instead."
            )
    return _page(request, context, caller=caller, token="", error=error, seconds=seconds, status=status)


@router.get("/readiness/link/{token}")
def readiness_link(
    token: str, request: Request, context: Context, seconds: Seconds = DEFAULT_SECONDS
) -> Response:
    """The check for the agent the signed link names; a bad link is a 400 page saying why."""
    try:
        caller = _by_token(context, token)
    except (InvalidInput, NotFound) as exc:
        return _page(request, context, caller=None, token="", error=str(exc), seconds=seconds, status=400)
    return _page(request, context, caller=caller, token=token, error="", seconds=seconds)


@router.get("/readiness/ping")
def ping() -> Response:
    """Nothing, at once: the page times round trips on it."""
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


@router.get("/readiness/payload")
def payload(
    request: Request,
    context: Context,
    size: Annotated[int, Query(alias="bytes", ge=1, le=MAX_PAYLOAD)] = PAYLOAD_BYTES,
) -> Response:
    """`bytes` bytes for the download test, to an agent checking."""
    try:
        _caller(request, context)
    except (InvalidInput, NotFound) as exc:
        return _refused(exc)
    body = (_BLOCK * (size // len(_BLOCK) + 1))[:size]
    return Response(body, media_type="application/octet-stream", headers={"Cache-Control": "no-store"})


@router.post("/readiness/upload")
async def upload(request: Request, context: Context) -> Response:
    """Take up to 2 MB for the upload test, and drop it."""
    try:
        _caller(request, context)
    except (InvalidInput, NotFound) as exc:
        return _refused(exc)
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > MAX_PAYLOAD:
            return JSONResponse({"detail": f"at most {MAX_PAYLOAD} bytes"}, status_code=413)
    return JSONResponse({"received": received}, headers={"Cache-Control": "no-store"})


@router.post("/readiness/results")
async def results(request: Request, context: Context) -> Response:
    """Judge and store the agent's check; answer each measure's verdict with what to do."""
    try:
        caller = _caller(request, context)
    except (InvalidInput, NotFound) as exc:
        return _refused(exc)
    try:
        body = ResultsIn.model_validate_json(await request.body())
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"])
        return JSONResponse({"detail": f"{where}: {exc.errors()[0]['msg']}"}, status_code=422)
    plan = _plan(context)
    if plan is None:
        return JSONResponse({"detail": "no continuity plan is loaded yet: ask a manager"}, status_code=409)
    user_agent = request.headers.get("user-agent", "")
    measurements = Measurements(
        round_trips_ms=tuple(body.round_trips_ms),
        download_bytes=body.download.bytes,
        download_ms=body.download.ms,
        upload_bytes=body.upload.bytes,
        upload_ms=body.upload.ms,
        browser=browser_of(user_agent),
        microphone=body.microphone,  # type: ignore[arg-type]  # checked by the pattern
        platform=tuple(PlatformReach(p.address, p.reached) for p in body.platform),
    )
    now = context.clock.now()
    with unit_of_work(context.session_factory) as session:
        stored = record_check(
            session,
            plan=plan,
            agent=caller.agent,
            measurements=measurements,
            user_agent=user_agent,
            campaign_id=caller.campaign_id,
            now=now,
        )
    return JSONResponse(
        _shown(stored.passed, stored.checked_at, [c.to_dict() for c in stored.checks]), headers=NO_STORE
    )


def _refused(exc: InvalidInput | NotFound) -> JSONResponse:
    """The page's fetches read JSON whatever they asked for: the reason, 404 for an unknown agent."""
    return JSONResponse({"detail": str(exc)}, status_code=404 if isinstance(exc, NotFound) else 400)


def _shown(passed: bool, at: datetime, checks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"passed": passed, "checked_at": at.isoformat(), "checks": checks}
