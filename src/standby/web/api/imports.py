"""The edge of a partial import (callbacks, calls cut off): read the upload, book the good rows
in one unit of work, and answer what was taken and what was refused, row by row.

200 when something was taken; 422 with the same shape (and `detail`, the refused rows)
when nothing was; 413 and 415 for a body that cannot be read; 409 before a plan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from standby.errors import Conflict
from standby.intake import (
    JSON_TYPE,
    Layout,
    Parsed,
    RowProblem,
    RowsInvalid,
    UploadRefused,
    parse_body,
    read_upload,
)
from standby.plan.schema import Plan
from standby.plan.versions import current_plan
from standby.store.engine import unit_of_work
from standby.web.context import WebContext

MAX_BYTES = 30 * 1_048_576
"""100,000 rows of a few hundred bytes each, with room to spare."""


class Problem(BaseModel):
    """One refused row: CSV line (the header is line 1) or JSON item (from 1), and column."""

    row: int
    column: str | None
    message: str


class Taken(BaseModel):
    """What an import took, and every problem of the rows it refused."""

    imported: int
    ids: list[int] = Field(description="The ids given to the rows taken, in row order.")
    refused: list[Problem]
    refused_rows: int = Field(description="How many rows were refused.")


class Outcome(Protocol):
    """What a service's import returns."""

    @property
    def ids(self) -> list[int]:
        """The ids of the rows taken."""
        ...

    @property
    def refused(self) -> list[RowProblem]:
        """Every problem of the rows refused."""
        ...


def upload_body(layout: Layout, *, booleans: Sequence[str] = ()) -> dict[str, Any]:
    """The OpenAPI request body of an import: CSV text, or JSON objects with the layout's fields."""
    properties = {c: {"type": "boolean" if c in booleans else "string"} for c in layout.columns}
    item = {"type": "object", "required": list(layout.required), "properties": properties}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": item}},
            },
        }
    }


def upload_responses(
    taken: str, refused: str, *, model: type[BaseModel], max_mb: int = MAX_BYTES // 1_048_576
) -> dict[int | str, Any]:
    """The OpenAPI responses of an import: what was `taken` (200, as `model`) or `refused` (422)."""
    return {
        200: {"description": taken, "model": model},
        409: {"description": "No plan has been loaded yet."},
        413: {"description": f"Over {max_mb} MB."},
        415: {"description": "Neither CSV nor JSON."},
        422: {"description": refused},
    }


Book = Callable[[Session, Plan, Parsed, datetime, str, str], Outcome]
"""(session, plan, parsed rows, now, by, source) -> what was taken and refused."""


async def receive(
    request: Request, context: WebContext, *, by: str, layout: Layout, no_plan: str, book: Book
) -> JSONResponse:
    """Read the upload and book it off the event loop (100,000 rows take seconds, and the
    status page and the receivers are answered meanwhile)."""
    try:
        kind, body = await read_upload(request, max_bytes=MAX_BYTES, layout=layout)
    except UploadRefused as exc:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)
    return await run_in_threadpool(_take, context, kind, body, by, layout, no_plan, book)


def _take(
    context: WebContext, kind: str, body: bytes, by: str, layout: Layout, no_plan: str, book: Book
) -> JSONResponse:
    try:
        parsed = parse_body(kind, body, layout)
    except UploadRefused as exc:
        return _nothing_taken([RowProblem(0, None, str(exc))])
    except RowsInvalid as exc:
        return _nothing_taken(exc.problems)
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
        if found is None:
            raise Conflict(no_plan)
        source = "api" if kind == JSON_TYPE else "csv"
        result = book(session, found[1], parsed, context.clock.now(), by, source)
    if not result.ids:
        return _nothing_taken(result.refused)
    taken = Taken(
        imported=len(result.ids),
        ids=result.ids,
        refused=[Problem(**p.as_dict()) for p in result.refused],
        refused_rows=len({p.row for p in result.refused}),
    )
    return JSONResponse(taken.model_dump(mode="json"))


def _nothing_taken(problems: Sequence[RowProblem]) -> JSONResponse:
    listed = [p.as_dict() for p in problems]
    body = {"imported": 0, "ids": [], "refused": listed, "refused_rows": len({p.row for p in problems})}
    return JSONResponse({**body, "detail": listed}, status_code=422)
