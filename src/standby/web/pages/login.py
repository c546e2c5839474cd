"""GET/POST /login and POST /logout: the form-based doors for people."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from standby.access.service import MAX_PASSWORD_LENGTH
from standby.web.auth import (
    TooManyLogins,
    check_csrf,
    clear_session_cookie,
    identify,
    log_in,
    log_out,
    set_session_cookie,
)
from standby.web.context import Context, WebContext
from standby.web.errors import Unauthenticated

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """A local path to go to after logging in; anything else (another site) becomes /."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _form(
    request: Request,
    context: WebContext,
    *,
    next_: str,
    username: str = "",
    error: str = "",
    notice: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    response: Response = context.templates.TemplateResponse(
        request,
        "login.html",
        {
            "next": next_,
            "username": username,
            "error": error,
            "notice": notice,
            "principal": None,
            "organisation": None,
        },
        status_code=status,
        headers=headers,
    )
    return response


@router.get("/login")
def login_page(request: Request, context: Context, next: str = "/", out: int = 0) -> Response:
    """The login form; someone already logged in goes straight on."""
    try:
        principal, _ = identify(request, context)
    except Unauthenticated:
        principal = None
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = "You are logged out." if out else ""
    return _form(request, context, next_=safe_next(next), notice=notice)


@router.post("/login")
def login_submit(
    request: Request,
    context: Context,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password; on success set the session cookie and go on to `next`."""
    check_csrf(request, context)  # login CSRF: another site must not log you in as someone else
    target = safe_next(next)
    if not username.strip() or not password or len(password) > MAX_PASSWORD_LENGTH:
        return _form(
            request,
            context,
            next_=target,
            username=username[:200],
            error="Enter your username and password.",
            status=400,
        )
    try:
        opened = log_in(request, context, username=username, password=password)
    except TooManyLogins as locked:
        return _form(
            request,
            context,
            next_=target,
            username=username[:200],
            error=f"{locked.detail[:1].upper()}{locked.detail[1:]}.",
            status=429,
            headers=dict(locked.headers or {}),
        )
    if opened is None:
        return _form(
            request,
            context,
            next_=target,
            username=username[:200],
            error="Wrong username or password.",
            status=401,
        )
    _, cookie = opened
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, cookie, context)
    return response


@router.post("/logout")
def logout(request: Request, context: Context) -> Response:
    """Forget the session, clear the cookie, and show the login form again."""
    check_csrf(request, context)
    log_out(request, context)
    response = RedirectResponse("/login?out=1", status_code=303)
    clear_session_cookie(response, context)
    return response
