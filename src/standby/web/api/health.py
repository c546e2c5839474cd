"""GET /healthz: is the server up and can it reach its database. No login: load balancers ask."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from standby.web.context import Context

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="Health check",
    responses={503: {"description": "The database is unreachable."}},
)
def healthz(context: Context) -> JSONResponse:
    """{"status": "ok", "database": "ok"}, or 503 with the reason when the database fails."""
    try:
        with context.session_factory() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return JSONResponse(
            {
                "status": "unavailable",
                "database": "unreachable",
                "detail": reason[0] if reason else type(exc).__name__,
            },
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return JSONResponse({"status": "ok", "database": "ok"})
