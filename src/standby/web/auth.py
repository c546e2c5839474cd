"""The doors: who is asking (a bearer token or a session cookie), and may they.

CSRF. Browsers attach the session cookie by themselves, so a state-changing request
that authenticates with the cookie must be shown to come from our own pages. Two
layers, because each alone has gaps:

- the cookie is SameSite=Lax, so modern browsers do not send it on cross-site POSTs
  at all;
- the Origin header (or, when a browser omits it, the Referer) of every unsafe
  request that uses the cookie, and of the login form, must be this site's own
  origin or STANDBY_PUBLIC_URL's, and Sec-Fetch-Site, when sent, must not say
  cross-site or same-site. This covers older browsers and same-site attackers
  (a sibling sub-domain), which SameSite does not.

A request with neither header is let through: only non-browser clients omit both,
and they cannot be tricked into sending someone's cookie. A token-based scheme would
need JavaScript or a hidden field on every form for no extra protection here. Bearer
tokens need no check: a browser never adds an Authorization header by itself.

Login lockout (standby.access.lockout): every password login, by the form or the API,
counts against its account and its client address. The client address is the socket's
peer, unless that peer is one of STANDBY_TRUSTED_PROXIES: then X-Forwarded-For is read
from the right, past the trusted proxies, to the first address they did not add.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Annotated, Literal, TypeVar
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, Response
from sqlalchemy.orm import Session

from standby.access.lockout_service import Locked, begin_attempt, settle_attempt
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

T = TypeVar("T")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_CREDENTIAL_LENGTH = 512  # longer is not ours; refuse before hashing or querying
TOKEN_REFUSED = "the API token is not valid (unknown or revoked)"
LOG_IN_FIRST = (
    "log in first: POST /api/v1/session, the /login page, or 'Authorization: Bearer TOKEN' for scripts"
)


def credential(request: Request) -> tuple[Literal["token", "cookie"], str] | None:
    """The request's credential: ("token", T) from its bearer header, ("cookie", C) from the
    session cookie, or None; Unauthenticated when the header is not a bearer token.

    A bad Authorization header is an error, not a fall-back to the cookie: a script
    with a revoked token should be told so rather than act as whoever else is logged in.
    """
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("use 'Authorization: Bearer TOKEN' with an API token")
        if len(token) > MAX_CREDENTIAL_LENGTH:
            raise Unauthenticated(TOKEN_REFUSED)
        return "token", token
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie or len(cookie) > MAX_CREDENTIAL_LENGTH:
        return None
    return "cookie", cookie


def identify(
    request: Request, context: WebContext, session: Session | None = None
) -> tuple[Principal | None, bool]:
    """The principal behind the request and whether it came by cookie; (None, False) if nobody.

    With `session`, the credential is read in it (one transaction for the whole request).
    """
    found = credential(request)
    if found is None:
        return None, False
    kind, secret = found
    now = context.clock.now()
    if kind == "token":
        principal = _read(context, session, lambda s: principal_for_token(s, secret, now=now))
        if principal is None:
            raise Unauthenticated(TOKEN_REFUSED)
        return principal, False
    principal = _read(context, session, lambda s: principal_for_login(s, secret, now=now))
    return principal, principal is not None


def _read(context: WebContext, session: Session | None, read: Callable[[Session], T]) -> T:
    """`read` in the caller's session, or in a unit of work of its own."""
    if session is not None:
        return read(session)
    with unit_of_work(context.session_factory) as own:
        return read(own)


def same_origin(request: Request, context: WebContext) -> bool:
    """Whether an unsafe browser request comes from our own pages (see the module's note)."""
    # Browsers since 2020 say where a request comes from; "same-site" is a sibling
    # sub-domain, which is no more ours than any other site.
    if request.headers.get("sec-fetch-site", "").lower() in ("cross-site", "same-site"):
        return False
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
        raise HTTPException(403, "refused: this request came from another site (cross-site request forgery)")


def require(permission: Permission) -> Callable[[Request, WebContext], Principal]:
    """A dependency: the principal, if logged in (else 401) and allowed `permission` (else 403)."""

    def dependency(request: Request, context: Context) -> Principal:
        return authorise(request, context, permission)

    return dependency


def authorise(
    request: Request, context: WebContext, permission: Permission, session: Session | None = None
) -> Principal:
    """The principal, if logged in (else 401) and allowed `permission` (else 403); what `require` checks."""
    principal, by_cookie = identify(request, context, session)
    if principal is None:
        raise Unauthenticated(LOG_IN_FIRST)
    if by_cookie:
        check_csrf(request, context)
    permit(principal, permission)
    return principal


def permit(principal: Principal, permission: Permission) -> None:
    """Refuse (403) a principal whose role does not hold `permission`."""
    if not principal.can(permission):
        raise HTTPException(
            403,
            f"your role ({principal.role.value}) does not allow this (it needs {permission.value})",
        )


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


LOCKED_OUT = (
    "too many failed logins for this account or from this address: try again in {wait},"
    " or ask an administrator to unlock it"
)


class TooManyLogins(HTTPException):
    """429: the login door is locked for a while; the same answer whatever the password."""

    def __init__(self, retry_after: timedelta) -> None:
        seconds = max(1, math.ceil(retry_after.total_seconds()))
        wait = f"{seconds} s" if seconds < 120 else f"{math.ceil(seconds / 60)} minutes"
        super().__init__(429, LOCKED_OUT.format(wait=wait), headers={"Retry-After": str(seconds)})
        self.retry_after_s = seconds


def log_in(
    request: Request, context: WebContext, *, username: str, password: str
) -> tuple[Principal, str] | None:
    """Check the password and open a login session: (principal, cookie value), or None.

    Raises TooManyLogins, before any password is checked, while the account's or the
    client address's door is locked.
    """
    now = context.clock.now()
    with unit_of_work(context.session_factory) as session:
        address = client_address(request, context)
        attempt = begin_attempt(session, username=username[:MAX_CREDENTIAL_LENGTH], address=address, now=now)
    if isinstance(attempt, Locked):
        raise TooManyLogins(attempt.retry_after)
    with unit_of_work(context.session_factory) as session:
        principal = None
        if len(username) <= MAX_CREDENTIAL_LENGTH:
            principal = authenticate(session, username=username, password=password)
        settle_attempt(session, attempt, succeeded=principal is not None, now=now)
        if principal is None:
            return None
        cookie = open_login_session(session, username=principal.name, now=now, lifetime=SESSION_LIFETIME)
    return principal, cookie


def client_address(request: Request, context: WebContext) -> str:
    """The address of the client, for the login limits: see the module's note on proxies."""
    peer = request.client.host if request.client is not None else ""
    return address_behind_proxies(
        peer, request.headers.getlist("x-forwarded-for"), context.settings.trusted_proxies
    )


def address_behind_proxies(
    peer: str,
    forwarded_for: Sequence[str],
    trusted: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> str:
    """The client's address: `peer`, or when it is a trusted proxy, the hop its X-Forwarded-For names.

    Read from the right: each trusted proxy appends the address it saw, so the first
    address from the right that is not a trusted proxy is the client. Anything left of
    it was written by the client and is not believed.
    """
    if not trusted or not _within(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    client = peer
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # garbage from a proxy we trust: stop at the last address we could read
        client = hop
        if not _within(hop, trusted):
            break
    return client


def _within(address: str, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return any(parsed in network for network in networks)


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
