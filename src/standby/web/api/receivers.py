"""The receivers: /api/v1/integrations/alertmanager, /events, /heartbeats and /metrics; and /alerts.

Who may post: a receiver token (`standby receiver create NAME`) as `Authorization:
Bearer sbr_...`, or for /events the body's `routing_key`, as PagerDuty senders do; an
API token (or a login) of an admin or manager works too, for trying things by hand.
Each answers 2xx only once what it received is committed. Bodies are read here, with
a size cap, and validated after the sender is known, so a stranger learns nothing
about the shapes Standby accepts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from standby.access.roles import Role
from standby.access.service import principal_for_token
from standby.detect.payloads import AlertmanagerWebhook, EventV2, MetricsBody
from standby.detect.receiver_tokens import RECEIVER_TOKEN_PREFIX, receiver_for_token
from standby.detect.receivers import (
    AlertInfo,
    Refused,
    get_alert,
    ingest_alertmanager,
    ingest_events,
    list_alerts,
    record_heartbeat,
    record_metrics,
)
from standby.errors import Conflict
from standby.plan.schema import Plan
from standby.plan.versions import current_plan
from standby.store.engine import unit_of_work
from standby.web.auth import MAX_CREDENTIAL_LENGTH, ReadOutages, check_csrf, identify
from standby.web.context import Context, WebContext
from standby.web.contract import RowId
from standby.web.errors import Unauthenticated

router = APIRouter(prefix="/api/v1", tags=["receivers"])

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


def _body_reader(limit: int) -> Callable[[Request], Coroutine[Any, Any, bytes]]:
    async def read(request: Request) -> bytes:
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
        problems = []
        for error in exc.errors(include_url=False, include_context=False, include_input=False):
            where = ".".join(str(part) for part in error["loc"])
            if strip and where.startswith(strip):
                where = where[len(strip) :]
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append({"location": f"body.{where}" if where else "body", "message": message})
        raise HTTPException(422, problems) from None


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
    422: {"description": 'The body does not fit: {"detail": [{"location", "message"}, ...]}.'},
}


# -- responses ---------------------------------------------------------------------------


class AlertsStored(BaseModel):
    """What an Alertmanager notification did."""

    stored: int = Field(description="Alerts stored: new, updated, or resolved.")
    ignored: int = Field(description="Resolved alerts Standby never saw firing.")
    dedup_keys: list[str] = Field(description="Each alert's dedup key (its fingerprint), in order.")
    components: list[str] = Field(description="The components the alerts are about.")


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


class AlertOut(BaseModel):
    """An alert: where it came from, the component it is about, its status and counts."""

    id: int
    source: str
    dedup_key: str
    component_id: str
    status: str
    severity: str
    summary: str
    receiver: str
    first_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    received: int

    @classmethod
    def of(cls, info: AlertInfo) -> AlertOut:
        """The API shape of an alert record, without its payload."""
        return cls.model_validate(info, from_attributes=True)


class AlertDetail(AlertOut):
    """An alert with the payload it last came with."""

    payload: dict[str, Any]


class AlertList(BaseModel):
    """Alerts, most recently updated first."""

    alerts: list[AlertOut]


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

    Refused whole (422, nothing stored) when a firing alert matches no component.
    """
    payload = validate(AlertmanagerWebhook, parse_json(body))
    try:
        with unit_of_work(context.session_factory) as session:
            result = ingest_alertmanager(
                session, payload=payload, plan=_plan(session), receiver=receiver, now=context.clock.now()
            )
    except Refused as exc:
        raise _refused(exc) from None
    return AlertsStored(
        stored=result.stored,
        ignored=result.ignored,
        dedup_keys=list(result.dedup_keys),
        components=list(result.components),
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

    The token comes as `Authorization: Bearer` or as the body's `routing_key`.
    """
    if request.headers.get("authorization") is not None:
        receiver = authenticate_receiver(request, context)
        document = parse_json(body)
    else:
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            document = None
        key = document.get("routing_key") if isinstance(document, dict) else None
        receiver = authenticate_receiver(request, context, routing_key=key if isinstance(key, str) else None)
        if document is None:
            document = parse_json(body)  # says why it is not JSON
    event = validate(EventV2, document)
    try:
        with unit_of_work(context.session_factory) as session:
            result = ingest_events(
                session, event=event, plan=_plan(session), receiver=receiver, now=context.clock.now()
            )
    except Refused as exc:
        raise _refused(exc) from None
    return EventProcessed(dedup_key=result.dedup_keys[0])


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


@router.get("/alerts", summary="Alerts received")
def get_alerts(
    principal: ReadOutages,
    context: Context,
    status: Annotated[
        Literal["firing", "acknowledged", "resolved"] | None, Query(description="Only this status.")
    ] = None,
    component: Annotated[str | None, Query(max_length=100, description="Only about this component.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many.")] = 100,
) -> AlertList:
    """Alerts from Alertmanager and Events v2 sources, most recently updated first."""
    with unit_of_work(context.session_factory) as session:
        alerts = list_alerts(session, status=status, component_id=component, limit=limit)
    return AlertList(alerts=[AlertOut.of(a) for a in alerts])


@router.get(
    "/alerts/{alert_id}",
    summary="One alert",
    responses={404: {"description": "No alert with this id."}},
)
def get_one_alert(
    alert_id: Annotated[RowId, Path(description="The alert's id.")],
    principal: ReadOutages,
    context: Context,
) -> AlertDetail:
    """One alert with the payload it last came with."""
    with unit_of_work(context.session_factory) as session:
        info = get_alert(session, alert_id)
    return AlertDetail.model_validate(info, from_attributes=True)
