"""The receivers: /api/v1/integrations/alertmanager, /events, /heartbeats and /metrics.

What they took is read back through web/api/alerts.py.

PagerDuty's own paths are served too (`pagerduty_router`): /v2/enqueue and
/v2/change/enqueue, so a tool with a "PagerDuty events URL" needs only the base address
changed.

Who may post: a receiver token (`standby receiver create NAME`) as `Authorization:
Bearer sbr_...`, or for events the body's `routing_key`, as PagerDuty senders do; an
API token (or a login) of an admin or manager works too, for trying things by hand.
Each answers 2xx only once what it received is committed. Bodies are read here, with
a size cap, and validated after the sender is known, so a stranger learns nothing
about the shapes Standby accepts. A body declared as anything but JSON is a 415.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from standby.access.roles import Role
from standby.access.service import principal_for_token
from standby.detect.change_events import record_change_event
from standby.detect.payloads import (
    AlertmanagerGroup,
    AlertmanagerWebhook,
    ChangeEventV2,
    EventV2,
    MetricsBody,
    read_alertmanager,
)
from standby.detect.receiver_tokens import RECEIVER_TOKEN_PREFIX, receiver_for_token
from standby.detect.receivers import (
    Refused,
    ingest_alertmanager,
    ingest_events,
    record_heartbeat,
    record_metrics,
)
from standby.detect.refused_alerts import RefusedAlertInfo
from standby.errors import Conflict
from standby.plan.schema import Plan
from standby.plan.versions import current_plan
from standby.store.engine import unit_of_work
from standby.web.auth import MAX_CREDENTIAL_LENGTH, check_csrf, identify
from standby.web.context import Context, WebContext
from standby.web.errors import Unauthenticated

router = APIRouter(prefix="/api/v1", tags=["receivers"])
pagerduty_router = APIRouter(tags=["receivers"])
"""PagerDuty's Events API v2 paths, at the root as PagerDuty serves them."""

MAX_ALERTMANAGER_BYTES = 8 * 1024 * 1024
MAX_EVENT_BYTES = 512 * 1024  # PagerDuty's own limit for an event
MAX_METRICS_BYTES = 4 * 1024 * 1024
RECEIVER_ROLES = frozenset({Role.ADMIN, Role.MANAGER})
NO_PLAN = (
    "no plan has been loaded yet, so there is nothing to match this to: POST one to"
    " /api/v1/plan, or start the server with standby serve --plan PLAN"
)
NO_TOKEN = (
    "send a receiver token as 'Authorization: Bearer sbr_...' (make one with standby receiver create NAME)"
)
BAD_TOKEN = "the token is not valid (unknown or revoked)"

Model = TypeVar("Model", bound=BaseModel)


# -- who is posting ----------------------------------------------------------------------


def authenticate_receiver(request: Request, context: WebContext, *, routing_key: str | None = None) -> str:
    """The name alerts are recorded as coming from; 401 for no or a bad token, 403 for a weak role."""
    header = request.headers.get("authorization")
    now = context.clock.now()
    token: str | None = None
    if header is not None:
        scheme, _, value = header.partition(" ")
        token = value.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated(NO_TOKEN)
    elif routing_key is not None and routing_key.strip():
        token = routing_key.strip()
    if token is None:
        principal, by_cookie = identify(request, context)
        if principal is None:
            raise Unauthenticated(NO_TOKEN)
        if by_cookie:
            check_csrf(request, context)
        _check_role(principal.role)
        return f"user:{principal.name}"
    if len(token) > MAX_CREDENTIAL_LENGTH:
        raise Unauthenticated(BAD_TOKEN)
    with unit_of_work(context.session_factory) as session:
        if token.startswith(RECEIVER_TOKEN_PREFIX):
            name = receiver_for_token(session, token, now)
            principal = None
        else:
            name = None
            principal = principal_for_token(session, token, now=now)
    if name is not None:
        return name
    if principal is None:
        raise Unauthenticated(BAD_TOKEN)
    _check_role(principal.role)
    return f"token:{principal.name}"


def _check_role(role: Role) -> None:
    if role not in RECEIVER_ROLES:
        raise HTTPException(
            403,
            f"your role ({role.value}) may not post to the receivers: use a receiver token"
            " (standby receiver create NAME), or an admin's or manager's token",
        )


def _receiver(request: Request, context: Context) -> str:
    return authenticate_receiver(request, context)


Receiver = Annotated[str, Depends(_receiver)]


# -- bodies ------------------------------------------------------------------------------


def check_json_type(request: Request) -> None:
    """415 when the body is declared as anything but JSON; no Content-Type at all is read as JSON."""
    declared = request.headers.get("content-type", "").strip()
    media = declared.partition(";")[0].strip().lower()
    if not media or media == "application/json":
        return
    if media.startswith("application/") and media.endswith("+json"):
        return
    shown = declared if len(declared) <= 100 else declared[:100] + "..."
    raise HTTPException(
        415, f"the body is declared as {shown!r}: send JSON, with Content-Type: application/json"
    )


def _body_reader(limit: int) -> Callable[[Request], Coroutine[Any, Any, bytes]]:
    async def read(request: Request) -> bytes:
        check_json_type(request)
        too_large = f"the body is larger than {_size(limit)}; send fewer items per request"
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise HTTPException(413, too_large)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise HTTPException(413, too_large)
        return bytes(body)

    return read


AlertmanagerBody = Annotated[bytes, Depends(_body_reader(MAX_ALERTMANAGER_BYTES))]
EventBody = Annotated[bytes, Depends(_body_reader(MAX_EVENT_BYTES))]
MetricsBodyBytes = Annotated[bytes, Depends(_body_reader(MAX_METRICS_BYTES))]


def parse_json(body: bytes) -> Any:
    """The JSON document in the body; 400 saying where it stops being JSON."""
    if not body.strip():
        raise HTTPException(400, "the body is empty: send a JSON object")
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise HTTPException(
            400, f"the body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except (ValueError, RecursionError):  # bad UTF-8, absurd numbers or nesting
        raise HTTPException(400, "the body is not valid JSON (UTF-8 text)") from None


def validate(model: type[Model], document: Any, *, strip: str = "") -> Model:
    """The document as `model`; 422 listing each problem's location and message."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise _unfit(exc, strip) from None


def _unfit(exc: ValidationError, strip: str = "") -> HTTPException:
    problems = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"])
        if strip and where.startswith(strip):
            where = where[len(strip) :]
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append({"location": f"body.{where}" if where else "body", "message": message})
    return HTTPException(422, problems)


def read_group(document: Any) -> AlertmanagerGroup:
    """The notification, alert by alert; 422 only when it is no Alertmanager notification at all."""
    try:
        return read_alertmanager(document)
    except ValidationError as exc:
        raise _unfit(exc) from None


def _refused(exc: Refused) -> HTTPException:
    located = [{**p, "location": f"body.{p['location']}"} for p in exc.problems]
    return HTTPException(422, located)


def _plan(session: Session) -> Plan:
    found = current_plan(session)
    if found is None:
        raise Conflict(NO_PLAN)
    return found[1]


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with its `$defs` inlined, to embed in the OpenAPI document."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                extra = {k: v for k, v in node.items() if k != "$ref"}
                return {**resolve(definitions[ref.removeprefix("#/$defs/")]), **resolve(extra)}
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def _json_body(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline_schema(model)}},
        }
    }


def _size(limit: int) -> str:
    return f"{limit // 1_048_576} MB" if limit >= 1_048_576 else f"{limit // 1024} KB"


COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not JSON."},
    401: {"description": "No token, or an unknown or revoked one."},
    403: {"description": "An API token of a role other than admin or manager."},
    409: {"description": "No plan has been loaded yet."},
    413: {"description": "The body is too large."},
    415: {"description": "The body is declared as something other than JSON."},
    422: {"description": 'The body does not fit: {"detail": [{"location", "message"}, ...]}.'},
}


# -- responses ---------------------------------------------------------------------------


class RefusedOut(BaseModel):
    """An alert Standby could not take: where in the request, and why."""

    id: int = Field(description="Its record in GET /api/v1/refused-alerts.")
    position: int = Field(description="Its index in the request's `alerts` (0 for an event).")
    location: str = Field(description="Where the problem is, such as alerts.2.labels.component.")
    label: str | None = Field(description="The label (or field) at fault, when there is one.")
    reason: str
    dedup_key: str | None = Field(description="Its fingerprint or dedup key, when it has a usable one.")

    @classmethod
    def of(cls, info: RefusedAlertInfo) -> RefusedOut:
        """The answer's shape of a refused alert."""
        return cls.model_validate(info, from_attributes=True)


class AlertsStored(BaseModel):
    """What an Alertmanager notification did: the alerts taken, and those refused with why."""

    stored: int = Field(description="Alerts stored: new, updated, or resolved.")
    ignored: int = Field(description="Resolved alerts Standby never saw firing.")
    dedup_keys: list[str] = Field(description="Each taken alert's dedup key (its fingerprint), in order.")
    components: list[str] = Field(description="The components the alerts are about.")
    refused: list[RefusedOut] = Field(
        description="Alerts not taken (no component matches, or they do not fit), kept with why."
    )


class ChangeProcessed(BaseModel):
    """The answer PagerDuty gives to a change event."""

    status: Literal["success"] = "success"
    message: str = "Change event processed"
    id: str = Field(description="The change event's id in Standby.")


class EventProcessed(BaseModel):
    """The answer PagerDuty gives to an event."""

    status: Literal["success"] = "success"
    message: str = "Event processed"
    dedup_key: str


class HeartbeatOut(BaseModel):
    """The component's last heartbeat and how many have come."""

    component_id: str
    last_at: datetime
    received: int


class MetricsStored(BaseModel):
    """What a request of metric samples stored."""

    stored: int
    metrics: list[str] = Field(description="The metric names posted.")
    unwatched: list[str] = Field(description="Those no metric probe of the plan watches (stored anyway).")


# -- endpoints ---------------------------------------------------------------------------


@router.post(
    "/integrations/alertmanager",
    status_code=202,
    summary="Alertmanager webhook (version 4)",
    responses=COMMON_RESPONSES,
    openapi_extra=_json_body(AlertmanagerWebhook),
)
def post_alertmanager(receiver: Receiver, body: AlertmanagerBody, context: Context) -> AlertsStored:
    """Store a notification's alerts, one per fingerprint; a repeat updates the same alert.

    An alert that matches no component, or does not fit, is refused on its own: the
    others are taken, and the answer (still 202, since Alertmanager never sends a group
    again after a 4xx) lists each refused one with where and why. They are kept in
    GET /api/v1/refused-alerts.
    """
    group = read_group(parse_json(body))
    with unit_of_work(context.session_factory) as session:
        result = ingest_alertmanager(
            session, payload=group, plan=_plan(session), receiver=receiver, now=context.clock.now()
        )
    return AlertsStored(
        stored=result.stored,
        ignored=result.ignored,
        dedup_keys=list(result.dedup_keys),
        components=list(result.components),
        refused=[RefusedOut.of(r) for r in result.refused],
    )


@router.post(
    "/events",
    status_code=202,
    summary="An event in the PagerDuty Events v2 shape",
    responses=COMMON_RESPONSES,
    openapi_extra=_json_body(EventV2),
)
def post_event(request: Request, body: EventBody, context: Context) -> EventProcessed:
    """Trigger, acknowledge or resolve an alert by `dedup_key` (made up for a trigger without one).

    The token comes as `Authorization: Bearer` or as the body's `routing_key`. A
    trigger that matches no component is a 422, and is kept in GET /api/v1/refused-alerts.
    """
    receiver, document = _event_sender(request, body, context)
    event = validate(EventV2, document)
    with unit_of_work(context.session_factory) as session:
        result = ingest_events(
            session, event=event, plan=_plan(session), receiver=receiver, now=context.clock.now()
        )
    if result.refused:  # kept (committed above), and the sender told
        raise HTTPException(422, [_refusal_problem(r) for r in result.refused])
    return EventProcessed(dedup_key=result.dedup_keys[0])


@pagerduty_router.post(
    "/v2/enqueue",
    status_code=202,
    summary="PagerDuty Events API v2 (its own path)",
    responses=COMMON_RESPONSES,
    openapi_extra=_json_body(EventV2),
)
def enqueue_event(request: Request, body: EventBody, context: Context) -> EventProcessed:
    """The same as POST /api/v1/events, at the path PagerDuty's clients post to."""
    return post_event(request, body, context)


@pagerduty_router.post(
    "/v2/change/enqueue",
    status_code=202,
    summary="PagerDuty change event (its own path)",
    responses={k: v for k, v in COMMON_RESPONSES.items() if k != 409},
    openapi_extra=_json_body(ChangeEventV2),
)
def enqueue_change(request: Request, body: EventBody, context: Context) -> ChangeProcessed:
    """Keep a change event (a deploy, a configuration change), tied to the component it names.

    The token comes as `Authorization: Bearer` or as the body's `routing_key`.
    """
    receiver, document = _event_sender(request, body, context)
    event = validate(ChangeEventV2, document)
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
        info = record_change_event(
            session,
            event=event,
            plan=found[1] if found else None,
            receiver=receiver,
            now=context.clock.now(),
        )
    return ChangeProcessed(id=str(info.id))


def _event_sender(request: Request, body: bytes, context: WebContext) -> tuple[str, Any]:
    """Who sent an event (by header, else by the body's routing_key) and the body as JSON."""
    if request.headers.get("authorization") is not None:
        return authenticate_receiver(request, context), parse_json(body)
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        document = None
    key = document.get("routing_key") if isinstance(document, dict) else None
    receiver = authenticate_receiver(request, context, routing_key=key if isinstance(key, str) else None)
    if document is None:
        document = parse_json(body)  # says why it is not JSON
    return receiver, document


def _refusal_problem(refused: RefusedAlertInfo) -> dict[str, Any]:
    return {"location": f"body.{refused.location}", "message": refused.reason, "refused_id": refused.id}


@router.post(
    "/heartbeats/{component_id}",
    status_code=202,
    summary="A heartbeat of a component",
    responses={
        401: COMMON_RESPONSES[401],
        403: COMMON_RESPONSES[403],
        404: {"description": "No component with this id in the plan in force."},
        409: {"description": "The component has no heartbeat probe, or no plan is loaded."},
    },
)
def post_heartbeat(
    receiver: Receiver,
    context: Context,
    component_id: Annotated[str, Path(description="The component's id in the plan.")],
) -> HeartbeatOut:
    """Note that the component is alive; it is down when none comes for 1.5 x its `every_s`.

    The body, if any, is ignored.
    """
    with unit_of_work(context.session_factory) as session:
        info = record_heartbeat(
            session, component_id=component_id, plan=_plan(session), now=context.clock.now()
        )
    return HeartbeatOut(component_id=info.component_id, last_at=info.last_at, received=info.received)


@router.post(
    "/metrics",
    status_code=202,
    summary="Metric samples",
    responses={k: v for k, v in COMMON_RESPONSES.items() if k != 409},
    openapi_extra=_json_body(MetricsBody),
)
def post_metrics(receiver: Receiver, body: MetricsBodyBytes, context: Context) -> MetricsStored:
    """Store samples (`{"samples": [...]}` or one sample object) for the metric probes."""
    document = parse_json(body)
    single = isinstance(document, dict) and "samples" not in document and "metric" in document
    samples = validate(MetricsBody, document, strip="samples.0." if single else "").samples
    try:
        with unit_of_work(context.session_factory) as session:
            found = current_plan(session)
            result = record_metrics(
                session, samples=samples, now=context.clock.now(), plan=found[1] if found else None
            )
    except Refused as exc:
        if single:
            for problem in exc.problems:
                problem["location"] = str(problem["location"]).removeprefix("samples.0.")
        raise _refused(exc) from None
    return MetricsStored(stored=result.stored, metrics=list(result.metrics), unwatched=list(result.unwatched))
