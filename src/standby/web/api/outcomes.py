"""/api/v1/outcomes: outcomes of calls logged while the CRM is down, and their export for the CRM.

Agents log them (the /outcomes page, or a script); whoever works customers reads them;
a manager's token exports them as CSV and, once the CRM has imported the file, confirms
them by their client ids (POST /exported), so that the next export brings only the new
ones and a download lost on the way marks nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from standby.customers.outcome_records import EXPORT_COLUMNS, LAYOUT, MAX_BATCH, OutcomeRecord
from standby.customers.outcome_service import (
    MAX_EXPORT,
    MAX_LIST,
    ItemResult,
    OutcomeFilter,
    export_outcomes,
    list_outcomes,
    log_outcomes,
    mark_exported_by_client_id,
)
from standby.errors import Conflict, InvalidInput
from standby.intake import RowsInvalid, UploadRefused, parse_body, read_upload
from standby.plan.versions import current_plan
from standby.store.engine import unit_of_work
from standby.web.auth import ImportCustomers, LogOutcomes, ReadCustomers
from standby.web.context import Context
from standby.web.contract import BigRowId, RowId

router = APIRouter(prefix="/api/v1/outcomes", tags=["outcomes"])

MAX_BYTES = 5 * 1_048_576
NO_PLAN = (
    "no plan has been loaded yet: outcomes name the plan's queues, so POST the plan to /api/v1/plan first"
)


class OutcomeOut(BaseModel):
    """An outcome as stored."""

    id: int
    client_id: str = Field(description="The sender's id for it: sending it again finds this one.")
    customer: str
    phone: str | None = Field(description="International form, such as +447700900123.")
    queue: str
    reason: str
    outcome: str
    follow_up: bool
    agent: str
    logged_at: datetime
    call_id: str | None = Field(description="The cut-off call it closes, if any.")
    outage_id: int | None = Field(description="The outage going on when it was logged, if any.")
    received_at: datetime
    received_by: str = Field(description="user:NAME or token:NAME")
    exported_at: datetime | None = Field(description="When an export first marked it.")

    @classmethod
    def of(cls, record: OutcomeRecord) -> OutcomeOut:
        """The API shape of an outcome record."""
        return cls.model_validate(record, from_attributes=True)


class Problem(BaseModel):
    """One thing wrong with an item: its row (the item, from 1; CSV: the line) and column."""

    row: int
    column: str | None
    message: str


class ItemOut(BaseModel):
    """What became of one item."""

    row: int
    status: Literal["stored", "duplicate", "refused"] = Field(
        description="stored now; duplicate: stored before (a resend), nothing changed; refused: see problems."
    )
    client_id: str | None
    outcome: OutcomeOut | None
    problems: list[Problem]

    @classmethod
    def of(cls, item: ItemResult) -> ItemOut:
        """The API shape of one item's result."""
        return cls(
            row=item.row,
            status=item.status,
            client_id=item.client_id,
            outcome=OutcomeOut.of(item.record) if item.record is not None else None,
            problems=[Problem(**p.as_dict()) for p in item.problems],
        )


class Logged(BaseModel):
    """What became of each item. Good items are stored even when others are refused."""

    stored: int
    duplicates: int
    refused: int
    results: list[ItemOut]
    detail: list[Problem] = Field(description="Every problem of the refused items (422).")


class OutcomeList(BaseModel):
    """Outcomes, newest first."""

    outcomes: list[OutcomeOut]
    count: int


async def outcomes_body(request: Request) -> tuple[str, bytes]:
    """The request's media type and bytes, size-capped; 415 for other types."""
    try:
        return await read_upload(request, max_bytes=MAX_BYTES, layout=LAYOUT)
    except UploadRefused as exc:
        raise HTTPException(exc.status, str(exc)) from None


OutcomesBody = Annotated[tuple[str, bytes], Depends(outcomes_body)]
_FIELD = {"type": "string"}
_ITEM = {
    "type": "object",
    "required": list(LAYOUT.required),
    "properties": {**{c: _FIELD for c in EXPORT_COLUMNS}, "follow_up": {"type": "boolean"}},
}


@router.post(
    "",
    summary="Log outcomes",
    responses={
        200: {"description": "Every item stored, or stored before.", "model": Logged},
        409: {"description": "No plan has been loaded yet."},
        413: {"description": "Over 5 MB."},
        415: {"description": "Neither JSON nor CSV."},
        422: {
            "description": "Some items refused (the others are stored): the same body, with"
            ' "detail": [{"row", "column", "message"}, ...].',
            "model": Logged,
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"oneOf": [_ITEM, {"type": "array", "maxItems": MAX_BATCH, "items": _ITEM}]}
                },
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
def post_outcomes(principal: LogOutcomes, upload: OutcomesBody, context: Context) -> JSONResponse:
    """Store one outcome or a list (up to 500), each once by `client_id`; bad items are refused
    with their row and column, good ones stored beside them."""
    kind, body = upload
    now = context.clock.now()
    try:
        parsed = parse_body(kind, body, LAYOUT)
    except UploadRefused as exc:
        raise HTTPException(exc.status, str(exc)) from None
    except RowsInvalid as exc:
        return JSONResponse({"detail": [p.as_dict() for p in exc.problems]}, status_code=422)
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
        if found is None:
            raise Conflict(NO_PLAN)
        result = log_outcomes(
            session, plan=found[1], rows=parsed.rows, now=now, by=principal, unreadable=parsed.problems
        )
    answer = Logged(
        stored=result.count("stored"),
        duplicates=result.count("duplicate"),
        refused=result.count("refused"),
        results=[ItemOut.of(i) for i in result.items],
        detail=[Problem(**p.as_dict()) for p in result.problems],
    )
    return JSONResponse(answer.model_dump(mode="json"), status_code=422 if answer.refused else 200)


def _moment(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{name}: {value[:60]!r} is not a time; write ISO 8601 with an offset") from None
    if moment.utcoffset() is None:
        raise InvalidInput(f"{name}: {value[:60]!r} has no UTC offset; add one, such as +01:00 or Z")
    return moment


MARK_ON_GET_REMOVED = (
    "mark_exported: removed, because a GET must not change anything; export with"
    " ?format=csv&not_exported=true, then confirm what the CRM imported with"
    ' POST /api/v1/outcomes/exported {"client_ids": [...]}'
)


@router.get(
    "",
    summary="Outcomes, as JSON or as CSV for the CRM",
    responses={
        200: {
            "description": "JSON (newest first), or CSV (in the order logged) with `Accept: text/csv`"
            " or `format=csv`.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        400: {"description": "`mark_exported` (removed: confirm with POST /api/v1/outcomes/exported)."},
        403: {"description": "The role may not read customers."},
    },
)
def get_outcomes(
    request: Request,
    principal: ReadCustomers,
    context: Context,
    since: Annotated[str | None, Query(max_length=64, description="Logged at or after (ISO 8601).")] = None,
    until: Annotated[str | None, Query(max_length=64, description="Logged before (ISO 8601).")] = None,
    queue: Annotated[str | None, Query(max_length=100)] = None,
    follow_up: Annotated[bool | None, Query(description="Only those needing (or not) a follow-up.")] = None,
    outage: Annotated[RowId | None, Query(description="Only those logged during this outage.")] = None,
    agent: Annotated[str | None, Query(max_length=100)] = None,
    not_exported: Annotated[bool, Query(description="Only those no export has marked yet.")] = False,
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_EXPORT, description="JSON: 100, at most 1,000; CSV: 100,000.")
    ] = None,
    before: Annotated[BigRowId | None, Query(description="JSON: those with a smaller id (paging).")] = None,
    format: Annotated[Literal["json", "csv"] | None, Query(description="Else by the Accept header.")] = None,
    mark_exported: Annotated[
        bool,
        Query(deprecated=True, description="Removed: a GET changes nothing; POST /api/v1/outcomes/exported."),
    ] = False,
) -> Response:
    """Outcomes matching the filters, as JSON or as CSV for the CRM's import; changes nothing."""
    if mark_exported:
        # A GET must not change anything: a link on another site could make a signed-in
        # manager's browser follow it (SameSite=Lax cookies go with top-level GETs).
        raise InvalidInput(MARK_ON_GET_REMOVED)
    which = OutcomeFilter(
        since=_moment("since", since),
        until=_moment("until", until),
        queue=queue,
        follow_up=follow_up,
        outage_id=outage,
        agent=agent,
        not_exported=not_exported,
    )
    now = context.clock.now()
    as_csv = format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))
    if not as_csv and limit is not None and limit > MAX_LIST:
        raise InvalidInput(f"limit: at most {MAX_LIST:,} as JSON (page with before=ID), or use format=csv")
    with unit_of_work(context.session_factory) as session:
        if as_csv:
            text, _ = export_outcomes(session, which, now=now, limit=limit or MAX_EXPORT)
        else:
            records = list_outcomes(session, which, limit=limit or 100, before=before)
    if as_csv:
        name = f"standby-outcomes-{now:%Y%m%dT%H%M%SZ}.csv"
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )
    listed = OutcomeList(outcomes=[OutcomeOut.of(r) for r in records], count=len(records))
    return JSONResponse(listed.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


MAX_CONFIRM = 100_000


class ExportedIn(BaseModel):
    """The outcomes the CRM has imported, by the client_id column of the export."""

    client_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=MAX_CONFIRM, description="At most 100,000 a request."
    )


class ExportedOut(BaseModel):
    """What confirming did."""

    marked: int = Field(description="Marked exported now.")
    already: int = Field(description="Marked by an earlier export or confirmation; their time is kept.")
    unknown: list[str] = Field(description="Client ids Standby does not hold.")


@router.post(
    "/exported",
    summary="Confirm outcomes the CRM has imported, so later exports leave them out",
    response_model=ExportedOut,
    responses={403: {"description": "The role may not import customers."}},
)
def confirm_exported(body: ExportedIn, principal: ImportCustomers, context: Context) -> ExportedOut:
    """Mark the outcomes named by client id exported (the safe alternative to `mark_exported`)."""
    with unit_of_work(context.session_factory) as session:
        receipt = mark_exported_by_client_id(session, body.client_ids, now=context.clock.now())
    return ExportedOut(marked=receipt.marked, already=receipt.already, unknown=receipt.unknown)
