"""The HTTP API's contract in one place: id types, the error body, the statuses and the doors.

FastAPI writes most of the OpenAPI document from the handlers; this module adds what
it cannot know: that every error answer is the error renderer's `{"detail": ...}`
(web/errors.py), which statuses every operation may answer besides its own, and how
callers authenticate (`securitySchemes`). The schemathesis test in the suite holds the
app to this document: no answer that it does not declare.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from annotated_types import Interval
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from standby.iso8601 import refuse_numbers
from standby.web.context import SESSION_COOKIE

# Ids are the rows' primary keys: INTEGER (32-bit on PostgreSQL) unless a table says
# BIGINT. A larger number cannot name a row, and sent to the database it is an error
# there (SQLite cannot even bind one of 2^63 and above), so it is refused first, as 422.
MAX_ROW_ID = 2**31 - 1
MAX_BIG_ROW_ID = 2**63 - 1

RowId = Annotated[int, Interval(ge=1, le=MAX_ROW_ID)]
"""The id of a row in an INTEGER-keyed table (outages, incidents, callbacks, offers...)."""

BigRowId = Annotated[int, Interval(ge=1, le=MAX_BIG_ROW_ID)]
"""The id of a row in a BIGINT-keyed table (messages, the change feed, outcomes, the timeline)."""

Position = Annotated[int, Interval(ge=0, le=MAX_ROW_ID)]
"""A place in an INTEGER-keyed list to continue after: 0 for the start."""

BigPosition = Annotated[int, Interval(ge=0, le=MAX_BIG_ROW_ID)]
"""A place in a BIGINT-keyed feed to continue after: 0 for the start."""

Moment = Annotated[datetime, BeforeValidator(refuse_numbers)]
"""A time in ISO 8601 (without an offset: UTC)."""

AwareMoment = Annotated[AwareDatetime, BeforeValidator(refuse_numbers)]
"""A time in ISO 8601 with its offset."""


class Problem(BaseModel):
    """One thing wrong with a request: what, and where when it can say."""

    model_config = ConfigDict(extra="allow")

    message: str = Field(description="What is wrong, in words.")
    location: str | None = Field(
        None, description="Where in the request: `query.limit`, `path.outage_id`, `body.reason`..."
    )
    line: int | None = Field(None, description="In a plan: the line (from 1).")
    column: int | str | None = Field(
        None, description="In a plan: the column (from 1); in an import: the column's name."
    )
    row: int | None = Field(
        None, description="In an import: the CSV line (header is 1) or the JSON item (from 1)."
    )


class ErrorBody(BaseModel):
    """Every error answer: `detail` says what is wrong, as words or as a list of problems."""

    model_config = ConfigDict(extra="allow")

    detail: str | list[Problem]


ERROR_STATUSES: dict[int, str] = {
    400: "A value is wrong; `detail` says which and why.",
    401: "Not logged in, or the token is unknown or revoked (`WWW-Authenticate: Bearer`).",
    403: "Logged in, but the role does not allow this (or a cross-site request was refused).",
    404: "Nothing with this id.",
    405: "The path does not take this method (`Allow` lists those it takes).",
    409: "Not possible in the current state (such as before any plan is loaded); `detail` says why.",
    413: "The body is too large.",
    415: "The body is of a type this operation does not take.",
    422: "The request does not match this description; `detail` lists each problem and where.",
    503: "The database is unreachable just now (`Retry-After`): try again.",
}

# Operations under /api/ that anyone may call (the login and the logout); those outside it
# (the health check, receivers that speak another product's protocol) declare their own.
# Atlassian Statuspage's public read API (web/api/statuspage.py): open to anyone, like the page.
STATUSPAGE_DOCUMENTS = (
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "scheduled-maintenances.json",
    "incidents/unresolved.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
)
PUBLIC_OPERATIONS = frozenset(
    {
        ("POST", "/api/v1/session"),
        ("DELETE", "/api/v1/session"),
        *(("GET", f"/api/v2/{name}") for name in STATUSPAGE_DOCUMENTS),
    }
)
# The iCalendar feed also opens with the key in its calendar_url, for calendar apps.
CALENDAR_OPERATION = ("GET", "/api/v1/oncall/{rotation_id}/calendar.ics")

SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": (
            "`Authorization: Bearer TOKEN`: an API token (`standby token create`,"
            " `POST /api/v1/tokens`); the receivers also take receiver tokens"
            " (`standby receiver create`)."
        ),
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": (
            "The session cookie from `POST /api/v1/session` or the /login page. A state-changing"
            " request made with it must come from Standby's own pages (Origin), else 403."
        ),
    },
    "calendarKey": {
        "type": "apiKey",
        "in": "query",
        "name": "key",
        "description": "The key in a rotation's `calendar_url`: that rotation's iCalendar feed only.",
    },
}


def install_contract(app: FastAPI) -> None:
    """Make `app.openapi()` the document with errors, statuses and security declared."""
    app.openapi = _document(app)  # type: ignore[method-assign]


def _document(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            declare(document)
            app.openapi_schema = document
        return app.openapi_schema

    return openapi


def declare(document: dict[str, Any]) -> None:
    """Add the error body, the statuses each operation may answer and the security schemes."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for model in (ErrorBody, Problem):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    schemas.pop("HTTPValidationError", None)  # FastAPI's shape, which Standby never answers
    schemas.pop("ValidationError", None)
    components["securitySchemes"] = SECURITY_SCHEMES
    error_schema = {"$ref": "#/components/schemas/ErrorBody"}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            key = (method.upper(), path)
            responses: dict[str, Any] = operation.setdefault("responses", {})
            for status in _statuses(key):
                responses.setdefault(str(status), {})
            for code, response in responses.items():
                if code.isdigit() and int(code) >= 400:
                    response.setdefault("description", ERROR_STATUSES.get(int(code), "An error."))
                    content = response.setdefault("content", {})
                    declared = content.get("application/json")
                    if declared and declared.get("schema") and _fastapi_validation_error(declared["schema"]):
                        response["description"] = ERROR_STATUSES[422]
                        declared = None
                    if not declared or not declared.get("schema"):
                        content["application/json"] = {"schema": error_schema}
                    elif declared["schema"] != error_schema:
                        # Its own shape (an import's refusal), or the plain error body when
                        # the request fails before its own checks.
                        declared["schema"] = {"anyOf": [declared["schema"], error_schema]}
            operation["responses"] = dict(sorted(responses.items()))
            security = _security(key)
            if security is not None:
                operation["security"] = security


def _fastapi_validation_error(schema: dict[str, Any]) -> bool:
    return str(schema.get("$ref", "")).endswith("/HTTPValidationError")


def _statuses(key: tuple[str, str]) -> list[int]:
    """The errors any operation of this kind can answer, besides those it declares itself."""
    statuses = [400, 422, 503]  # a wrong value; a malformed request; the database away
    if _secured(key):
        statuses += [401, 403, 409]  # no login; not allowed; not now (such as no plan yet)
    if "{" in key[1]:  # a path parameter names something that may not exist
        statuses.append(404)
    return statuses


def _secured(key: tuple[str, str]) -> bool:
    return key[1].startswith("/api/") and key not in PUBLIC_OPERATIONS


def _security(key: tuple[str, str]) -> list[dict[str, list[str]]] | None:
    if not _secured(key):
        return None
    either: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]
    if key == CALENDAR_OPERATION:
        either.append({"calendarKey": []})
    return either
