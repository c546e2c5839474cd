"""The doors: who is asking (a bearer token or a session cookie), and may they.

CSRF. Browsers attach the session cookie by themselves, so a state-changing request
that authenticates with the cookie must be shown to come from our own pages. Two
layers, because each alone has gaps:

- the cookie is SameSite=Lax, so modern browsers do not send it on cross-site POSTs
  at all;
- the Origin header (or, when a browser omits it, the Referer) of every unsafe
  request that uses the cookie, and of the login form, must be this site's own
  origin or STANDBY_PUBLIC_URL's. This covers older browsers and same-site attackers
  (a sibling sub-domain), which SameSite does not.

A request with neither header is let through: only non-browser clients omit both,
and they cannot be tricked into sending someone's cookie. A token-based scheme would
need JavaScript or a hidden field on every form for no extra protection here. Bearer
tokens need no check: a browser never adds an Authorization header by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, Response

from standby.access.roles import Permission
from standby.access.service import (
    Principal,
    authenticate,
    close_login_session,
    open_login_session,
    principal_for_login,
    principal_for_token,
)
from standby.store.engine import unit_of_work
from standby.web.context import SESSION_COOKIE, SESSION_LIFETIME, Context, WebContext
from standby.web.errors import Unauthenticated

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_CREDENTIAL_LENGTH = 512  # longer is not ours; refuse before hashing or querying


def identify(request: Request, context: WebContext) -> tuple[Principal | None, bool]:
    """The principal behind the request and whether it came by cookie; (None, False) if nobody.

    A bad Authorization header is an error, not a fall-back to the cookie: a script
    with a revoked token should be told so rather than act as whoever else is logged in.
    """
    header = request.headers.get("authorization")
    now = context.clock.now()
    if header is not None:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("use 'Authorization: Bearer TOKEN' with an API token")
        if len(token) > MAX_CREDENTIAL_LENGTH:
            raise Unauthenticated("the API token is not valid (unknown or revoked)")
        with unit_of_work(context.session_factory) as session:
            principal = principal_for_token(session, token, now=now)
        if principal is None:
            raise Unauthenticated("the API token is not valid (unknown or revoked)")
        return principal, False
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie or len(cookie) > MAX_CREDENTIAL_LENGTH:
        return None, False
    with unit_of_work(context.session_factory) as session:
        principal = principal_for_login(session, cookie, now=now)
    return principal, principal is not None


def same_origin(request: Request, context: WebContext) -> bool:
    """Whether an unsafe browser request comes from our own pages (see the module's note)."""
    claimed = request.headers.get("origin")
    if claimed is None:
        referer = request.headers.get("referer")
        if referer is None:
            return True
        claimed = referer
    return _origin(claimed) in allowed_origins(request, context)


def allowed_origins(request: Request, context: WebContext) -> set[str]:
    """Our own origins: the address the browser used, and the public URL."""
    origins = {_origin(str(request.base_url))}
    if context.settings.public_url:
        origins.add(_origin(context.settings.public_url))
    origins.discard("")
    return origins


def _origin(url: str) -> str:
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.hostname:
        return ""  # "null" and garbage match nothing
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    try:
        port = parts.port
    except ValueError:
        return ""
    shown = "" if port is None or port == default else f":{port}"
    return f"{parts.scheme.lower()}://{parts.hostname.lower()}{shown}"


def check_csrf(request: Request, context: WebContext) -> None:
    """Refuse (403) an unsafe cookie-authenticated request that another site made."""
    if request.method not in SAFE_METHODS and not same_origin(request, context):
        raise HTTPException(
            403, "refused: this request came from another site (cross-site request forgery)"
        )


def require(permission: Permission) -> Callable[[Request, WebContext], Principal]:
    """A dependency: the principal, if logged in (else 401) and allowed `permission` (else 403)."""

    def dependency(request: Request, context: Context) -> Principal:
        principal, by_cookie = identify(request, context)
        if principal is None:
            raise Unauthenticated(
                "log in first: POST /api/v1/session, the /login page, or"
                " 'Authorization: Bearer TOKEN' for scripts"
            )
        if by_cookie:
            check_csrf(request, context)
        if not principal.can(permission):
            raise HTTPException(
                403,
                f"your role ({principal.role.value}) does not allow this"
                f" (it needs {permission.value})",
            )
        return principal

    return dependency


ReadStatus = Annotated[Principal, Depends(require(Permission.READ_STATUS))]
ReadComponents = Annotated[Principal, Depends(require(Permission.READ_COMPONENTS))]
ReadOutages = Annotated[Principal, Depends(require(Permission.READ_OUTAGES))]
ManageMaintenance = Annotated[Principal, Depends(require(Permission.MANAGE_MAINTENANCE))]
ManageIncidents = Annotated[Principal, Depends(require(Permission.MANAGE_INCIDENTS))]
ManageOncall = Annotated[Principal, Depends(require(Permission.MANAGE_ONCALL))]
AcknowledgePages = Annotated[Principal, Depends(require(Permission.ACKNOWLEDGE_PAGES))]
ReadNotifications = Annotated[Principal, Depends(require(Permission.READ_NOTIFICATIONS))]
ManageNotifications = Annotated[Principal, Depends(require(Permission.MANAGE_NOTIFICATIONS))]
ManageAgents = Annotated[Principal, Depends(require(Permission.MANAGE_AGENTS))]
ReadCustomers = Annotated[Principal, Depends(require(Permission.READ_CUSTOMERS))]
ImportCustomers = Annotated[Principal, Depends(require(Permission.IMPORT_CUSTOMERS))]
WorkCustomers = Annotated[Principal, Depends(require(Permission.WORK_CUSTOMERS))]
LogOutcomes = Annotated[Principal, Depends(require(Permission.LOG_OUTCOMES))]
ManageCompensation = Annotated[Principal, Depends(require(Permission.MANAGE_COMPENSATION))]
ReadPlan = Annotated[Principal, Depends(require(Permission.READ_PLAN))]
LoadPlan = Annotated[Principal, Depends(require(Permission.LOAD_PLAN))]
ManageAccess = Annotated[Principal, Depends(require(Permission.MANAGE_ACCESS))]


def log_in(context: WebContext, *, username: str, password: str) -> tuple[Principal, str] | None:
    """Check the password and open a login session: (principal, cookie value), or None."""
    if len(username) > MAX_CREDENTIAL_LENGTH:
        return None
    with unit_of_work(context.session_factory) as session:
        principal = authenticate(session, username=username, password=password)
        if principal is None:
            return None
        cookie = open_login_session(
            session, username=principal.name, now=context.clock.now(), lifetime=SESSION_LIFETIME
        )
    return principal, cookie


def log_out(request: Request, context: WebContext) -> None:
    """Forget the request's login session, if it has one."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and len(cookie) <= MAX_CREDENTIAL_LENGTH:
        with unit_of_work(context.session_factory) as session:
            close_login_session(session, cookie)


def set_session_cookie(response: Response, cookie: str, context: WebContext) -> None:
    """Give the browser its session cookie: HttpOnly, SameSite=Lax, Secure behind https."""
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,  # page scripts never need it; stolen by XSS it would open every door
        samesite="lax",
        secure=context.secure_cookies,
    )


def clear_session_cookie(response: Response, context: WebContext) -> None:
    """Tell the browser to drop its session cookie."""
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=context.secure_cookies
    )
