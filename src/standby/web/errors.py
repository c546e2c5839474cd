"""One error renderer for the whole app: JSON for the API, a friendly page for people.

Every failure ends here: HTTP errors, invalid requests, Standby's own errors and
anything unexpected. A person never sees a traceback; the API always answers
`{"detail": ...}` with a status that says what went wrong.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import fastapi.routing
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from standby.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PlanInvalid,
    StandbyError,
    StorageError,
)

log = logging.getLogger("standby.web")

TITLES = {
    400: "Bad request",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported content type",
    422: "Cannot use this input",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}
FRIENDLY = {
    404: "there is no page at this address",
    405: "this page does not take that kind of request",
}
RETRY_AFTER_S = "5"
SERVER_ERROR = "something went wrong on our side; it has been logged"


class Unauthenticated(Exception):
    """Nobody (valid) is logged in: the API answers 401, pages send the browser to /login."""

    def __init__(self, detail: str) -> None:
        """Say why, in words for the person or script asking."""
        super().__init__(detail)
        self.detail = detail


def wants_json(request: Request) -> bool:
    """Whether the caller gets JSON: the API (and /v2/) and health check always, others when they ask."""
    path = request.url.path
    # /metrics too: Prometheus must be told 401, not sent to the login page.
    if path.startswith(("/api/", "/v2/")) or path in ("/healthz", "/openapi.json", "/metrics"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette's 405 names only the first route's)."""
    routes: Iterable[Any] = request.app.router.routes
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)  # newer FastAPI nests routers
    if flatten is not None:
        routes = flatten(routes)
    methods: set[str] = set()
    for route in routes:
        route_methods = getattr(route, "methods", None)
        pattern = getattr(route, "path_regex", None)
        if route_methods and pattern is not None and pattern.match(request.url.path):
            methods |= set(route_methods)
    return sorted(methods)


def render_error(
    request: Request, status: int, detail: Any, *, headers: Mapping[str, str] | None = None
) -> Response:
    """The error as JSON `{"detail": ...}` or as the HTML error page, with `status`."""
    if wants_json(request):
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)
    message = detail if isinstance(detail, str) else _flatten(detail)
    if message == _phrase(status):  # Starlette's bare "Not Found": say it for people
        message = FRIENDLY.get(status, message)
    title = TITLES.get(status, "Error")
    context = getattr(request.app.state, "standby", None)
    if context is not None:
        try:
            response: Response = context.templates.TemplateResponse(
                request,
                "error.html",
                {
                    "status": status,
                    "title": title,
                    "message": message,
                    "principal": None,
                    "organisation": None,
                },
                status_code=status,
                headers=headers,
            )
            return response
        except Exception:  # the error page itself failed: fall back, never a traceback
            log.exception("the error page could not be rendered")
    body = (
        f"<!doctype html><title>{html.escape(title)}</title>"
        f'<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p><p><a href="/">Overview</a></p>'
    )
    return HTMLResponse(body, status_code=status, headers=headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _flatten(detail: Any) -> str:
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict) and "line" in item:
                parts.append(f"line {item['line']}, column {item['column']}: {item['message']}")
            elif isinstance(item, dict):
                parts.append(str(item.get("message") or item.get("msg") or item))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)


def install_error_handlers(app: FastAPI) -> None:
    """Route every kind of failure through `render_error`."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return render_error(request, exc.status_code, exc.detail, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"location": ".".join(str(part) for part in error.get("loc", ())), "message": error["msg"]}
            for error in exc.errors()
        ]
        return render_error(request, 422, problems)

    @app.exception_handler(Unauthenticated)
    async def unauthenticated(request: Request, exc: Unauthenticated) -> Response:
        if wants_json(request):
            return render_error(request, 401, exc.detail, headers={"WWW-Authenticate": "Bearer"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(PlanInvalid)
    async def plan_invalid(request: Request, exc: PlanInvalid) -> Response:
        problems = [{"line": p.line, "column": p.column, "message": p.message} for p in exc.problems]
        return render_error(request, 422, problems)

    @app.exception_handler(StandbyError)
    async def standby_error(request: Request, exc: StandbyError) -> Response:
        if isinstance(exc, StorageError):
            log.warning("database unavailable: %s", exc)
            return render_error(
                request,
                503,
                "the database is unreachable just now; try again in a few seconds",
                headers={"Retry-After": RETRY_AFTER_S},
            )
        status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 400
        if not isinstance(exc, NotFound | Conflict | InvalidInput):
            log.warning("request failed: %s", exc)
        return render_error(request, status, str(exc))

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        if not isinstance(exc, OperationalError | InterfaceError) and not exc.connection_invalidated:
            # The database refused a value (out of range, a broken constraint): our bug, as
            # the request should have been refused first; not "unreachable", which invites
            # the same request again.
            log.error("database refused %s %s", request.method, request.url.path, exc_info=exc)
            return render_error(request, 500, SERVER_ERROR)
        # Connection failures outside a unit of work (which turns them into StorageError).
        log.warning("database error: %s", str(exc.orig or exc).splitlines()[0])
        return render_error(
            request,
            503,
            "the database is unreachable just now; try again in a few seconds",
            headers={"Retry-After": RETRY_AFTER_S},
        )

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, exc: ClientDisconnect) -> Response:
        # The sender went away while its body was read (a phone losing signal mid-send, a
        # page unloading): nothing was stored, and its resend is what counts. Not our error.
        log.info("client went away during %s %s", request.method, request.url.path)
        return render_error(request, 400, "the connection closed before the request was read whole")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # Starlette re-raises after this answer, so the server's log gets the traceback
        # once; the person sees only this page.
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return render_error(request, 500, SERVER_ERROR)
