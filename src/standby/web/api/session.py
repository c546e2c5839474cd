"""/api/v1/session: log in with a password for a session cookie, see who you are, log out."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from standby.access.roles import permissions_of
from standby.web.auth import (
    ReadStatus,
    check_csrf,
    clear_session_cookie,
    log_in,
    log_out,
    set_session_cookie,
)
from standby.web.context import SESSION_LIFETIME, Context
from standby.web.errors import Unauthenticated

router = APIRouter(prefix="/api/v1/session", tags=["session"])


class Credentials(BaseModel):
    """A username and password."""

    username: str = Field(max_length=200)
    password: str = Field(max_length=1024)


class Who(BaseModel):
    """Who is logged in, with which role and permissions."""

    kind: str
    name: str
    role: str
    permissions: list[str]
    expires_at: datetime | None = None


@router.post(
    "",
    summary="Log in",
    responses={
        401: {"description": "Wrong username or password."},
        429: {"description": "Too many failed logins for the account or address: wait Retry-After."},
    },
)
def open_session(credentials: Credentials, request: Request, response: Response, context: Context) -> Who:
    """Check the password and set the session cookie (HttpOnly, SameSite=Lax)."""
    check_csrf(request, context)  # login CSRF: someone else's site must not log you in as them
    opened = log_in(request, context, username=credentials.username, password=credentials.password)
    if opened is None:
        raise Unauthenticated("wrong username or password")
    principal, cookie = opened
    set_session_cookie(response, cookie, context)
    return Who(
        kind=principal.kind,
        name=principal.name,
        role=principal.role.value,
        permissions=sorted(p.value for p in permissions_of(principal.role)),
        expires_at=context.clock.now() + SESSION_LIFETIME,
    )


@router.get("", summary="Who am I")
def who_am_i(principal: ReadStatus) -> Who:
    """The logged-in user or token, its role and permissions."""
    return Who(
        kind=principal.kind,
        name=principal.name,
        role=principal.role.value,
        permissions=sorted(p.value for p in permissions_of(principal.role)),
    )


@router.delete("", status_code=204, summary="Log out")
def close_session(request: Request, context: Context) -> Response:
    """Forget the session and clear the cookie; fine when nobody was logged in."""
    if request.headers.get("authorization"):
        raise HTTPException(400, "API tokens have no session to close; revoke the token instead")
    check_csrf(request, context)
    log_out(request, context)
    response = Response(status_code=204)
    clear_session_cookie(response, context)
    return response
