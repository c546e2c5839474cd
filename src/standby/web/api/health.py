"""GET /healthz: is the server up and can it reach its database. No login: load balancers ask.

Anonymous callers learn the status only. Where the database is (driver, host, port,
name) helps an attacker more than a load balancer, so only an administrator (a session
or a token with manage_access) sees it, and why the database failed goes to the log:
with the database down, nobody can be told apart from an administrator anyway.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from standby.access.roles import Permission
from standby.errors import StandbyError
from standby.web.auth import identify
from standby.web.context import Context, WebContext
from standby.web.errors import Unauthenticated

router = APIRouter(tags=["health"])
log = logging.getLogger("standby.web")


@router.get(
    "/healthz",
    summary="Health check",
    responses={503: {"description": "The database is unreachable."}},
)
def healthz(request: Request, context: Context) -> JSONResponse:
    """{"status": "ok", "database": "ok"}, or 503 when the database fails; details for administrators."""
    try:
        with context.session_factory() as session:
            session.execute(text("SELECT 1"))
            where = session.get_bind().engine.url.render_as_string(hide_password=True)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        why = reason[0] if reason else type(exc).__name__
        log.warning("health check: the database is unreachable: %s", why)
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable"},
            status_code=503,
            headers={"Retry-After": "5", "Cache-Control": "no-store"},
        )
    body = {"status": "ok", "database": "ok"}
    if _administrator(request, context):
        body["database_url"] = where
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _administrator(request: Request, context: WebContext) -> bool:
    if not request.headers.get("authorization") and not request.cookies:
        return False  # the load balancer's every-few-seconds call: no query for nobody
    try:
        principal, _ = identify(request, context)
    except (Unauthenticated, HTTPException, StandbyError, SQLAlchemyError):
        return False  # a bad token gets the anonymous answer, not a 401: this door is open
    return principal is not None and principal.can(Permission.MANAGE_ACCESS)
