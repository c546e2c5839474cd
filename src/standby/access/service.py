"""Users, API tokens and login sessions: who is asking, and with which role.

A service: functions take a Session and the time, and never commit (the unit of work
does). Passwords are hashed with argon2id; API tokens and session cookies are random
and stored only as SHA-256 digests, so a copy of the database opens no doors.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Executable, Row, bindparam, delete, select, update
from sqlalchemy.orm import Session

from standby.access.roles import MIN_PASSWORD_LENGTH, Permission, Role, allows, parse_role
from standby.errors import Conflict, InvalidInput, NotFound
from standby.store.tables import ApiTokenRow, LoginSessionRow, UserRow

ADMIN_USERNAME = "admin"
TOKEN_PREFIX = "sby_"
# Argon2 will hash anything; a megabyte "password" would only be a way to burn CPU.
MAX_PASSWORD_LENGTH = 1024
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._@-]{0,63}$"
TOKEN_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
# Recording every request's time would turn each read into a write; a minute is precise
# enough to see which tokens and sessions are in use.
TOUCH_EVERY = timedelta(minutes=1)

_USERNAME_RE = re.compile(USERNAME_PATTERN)
_TOKEN_NAME_RE = re.compile(TOKEN_NAME_PATTERN)
_HASHER = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user or an API token, and the role it holds."""

    kind: Literal["user", "token"]
    name: str
    role: Role

    def can(self, permission: Permission) -> bool:
        """Whether this principal's role holds `permission`."""
        return allows(self.role, permission)

    @property
    def signed(self) -> str:
        """Who did it, as incidents, reviews, exercises and offers record it: `user:NAME` or `token:NAME`."""
        return f"{self.kind}:{self.name}"

    @property
    def named(self) -> str:
        """Who did it, as on call, maintenance and readiness campaigns record it: NAME or `token:NAME`."""
        return self.name if self.kind == "user" else f"token:{self.name}"


@dataclass(frozen=True)
class UserInfo:
    """A user as listed to an administrator; never the password hash."""

    username: str
    role: Role
    created_at: datetime
    disabled: bool


@dataclass(frozen=True)
class TokenInfo:
    """An API token as listed: its name, role and first characters, never the token."""

    name: str
    role: Role
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the token still opens doors."""
        return self.revoked_at is None


def create_user(
    session: Session, *, username: str, password: str, role: Role | str, now: datetime
) -> Principal:
    """Add a user who signs in with `password`; Conflict when the username is taken."""
    name = normalise_username(username)
    checked_role = parse_role(role)
    _check_password(password)
    if session.scalar(select(UserRow.id).where(UserRow.username == name)) is not None:
        raise Conflict(f"a user named {name!r} already exists")
    session.add(
        UserRow(
            username=name,
            password_hash=_HASHER.hash(password),
            role=checked_role.value,
            created_at=now,
            disabled=False,
        )
    )
    session.flush()
    return Principal(kind="user", name=name, role=checked_role)


def list_users(session: Session) -> list[UserInfo]:
    """Every user, by username."""
    rows = session.scalars(select(UserRow).order_by(UserRow.username))
    return [UserInfo(r.username, Role(r.role), r.created_at, r.disabled) for r in rows]


def set_password(session: Session, *, username: str, password: str) -> None:
    """Give a user a new password and sign them out everywhere; NotFound if no such user."""
    _check_password(password)
    user = _user(session, username)
    user.password_hash = _HASHER.hash(password)
    session.execute(delete(LoginSessionRow).where(LoginSessionRow.user_id == user.id))


def set_user_disabled(session: Session, *, username: str, disabled: bool) -> None:
    """Disable (and sign out) or re-enable a user; NotFound if no such user."""
    user = _user(session, username)
    user.disabled = disabled
    if disabled:
        session.execute(delete(LoginSessionRow).where(LoginSessionRow.user_id == user.id))


def authenticate(session: Session, *, username: str, password: str) -> Principal | None:
    """The user these credentials belong to, or None; a disabled user is None too.

    Unknown usernames cost as much time as wrong passwords, so timing does not tell
    which usernames exist. A hash made with older parameters is replaced on success.
    """
    if len(password) > MAX_PASSWORD_LENGTH:
        return None
    name = username.strip().lower()
    user = session.scalars(select(UserRow).where(UserRow.username == name)).first()
    if user is None or user.disabled:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(user.password_hash, password):
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    return Principal(kind="user", name=user.username, role=Role(user.role))


def ensure_admin(session: Session, *, password: str | None, now: datetime) -> str | None:
    """Create user `admin` when no enabled administrator exists; None if one already did.

    Returns the password to show once: `password` when given, else a generated one.
    """
    exists = session.scalar(
        select(UserRow.id).where(UserRow.role == Role.ADMIN.value, UserRow.disabled.is_(False))
    )
    if exists is not None:
        return None
    if session.scalar(select(UserRow.id).where(UserRow.username == ADMIN_USERNAME)) is not None:
        raise Conflict(
            f"no enabled administrator exists, but a user named {ADMIN_USERNAME!r} does"
            " (disabled or with another role); re-enable or promote it"
        )
    chosen = password if password is not None else secrets.token_urlsafe(16)
    create_user(session, username=ADMIN_USERNAME, password=chosen, role=Role.ADMIN, now=now)
    return chosen


def create_token(session: Session, *, name: str, role: Role | str, now: datetime) -> str:
    """Make an API token and return it: the only time the plaintext exists."""
    checked_name = name.strip()
    if not _TOKEN_NAME_RE.match(checked_name):
        raise InvalidInput(
            f"{name!r} is not a token name: use letters, digits, '.', '_' and '-',"
            " starting with a letter or digit, at most 100 characters"
        )
    checked_role = parse_role(role)
    if session.scalar(select(ApiTokenRow.id).where(ApiTokenRow.name == checked_name)):
        raise Conflict(
            f"a token named {checked_name!r} already exists (names of revoked tokens stay"
            " taken, so the record stays clear); choose another name"
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiTokenRow(
            name=checked_name,
            role=checked_role.value,
            token_hash=secret_digest(token),
            prefix=token[:12],
            created_at=now,
        )
    )
    session.flush()
    return token


def list_tokens(session: Session) -> list[TokenInfo]:
    """Every API token, revoked ones included, by name."""
    rows = session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.name))
    return [
        TokenInfo(r.name, Role(r.role), r.prefix, r.created_at, r.last_used_at, r.revoked_at) for r in rows
    ]


# Built once: asked on every request, these statements cost more to build than to run.
TOKEN_BY_DIGEST = select(
    ApiTokenRow.id, ApiTokenRow.name, ApiTokenRow.role, ApiTokenRow.revoked_at, ApiTokenRow.last_used_at
).where(ApiTokenRow.token_hash == bindparam("digest"))
"""A token's row by the SHA-256 of the token (parameter `digest`); `admit_token` judges it."""
LOGIN_BY_DIGEST = (
    select(
        LoginSessionRow.id,
        LoginSessionRow.expires_at,
        LoginSessionRow.last_seen_at,
        UserRow.username,
        UserRow.role,
        UserRow.disabled,
    )
    .join(UserRow, LoginSessionRow.user_id == UserRow.id)
    .where(LoginSessionRow.token_hash == bindparam("digest"))
)
"""A login session's row and its user by the SHA-256 of the cookie; `admit_login` judges it."""


@dataclass(frozen=True)
class Admission:
    """What a credential's row says now: who it stands for (None: refused), and the write of its
    last use when that is due (TOUCH_EVERY), for the caller to run."""

    principal: Principal | None
    touch: Executable | None = None


def admit_token(row: Row[*tuple[Any, ...]] | None, now: datetime) -> Admission:
    """Judge a row of TOKEN_BY_DIGEST (None: no such token): unknown or revoked is refused."""
    if row is None or row.revoked_at is not None:
        return Admission(None)
    touch = None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        touch = update(ApiTokenRow).where(ApiTokenRow.id == row.id).values(last_used_at=now)
    return Admission(Principal(kind="token", name=row.name, role=Role(row.role)), touch)


def admit_login(row: Row[*tuple[Any, ...]] | None, now: datetime) -> Admission:
    """Judge a row of LOGIN_BY_DIGEST (None: no such session): expired or disabled is refused."""
    if row is None or now >= row.expires_at or row.disabled:
        return Admission(None)
    touch = None
    if now - row.last_seen_at >= TOUCH_EVERY:
        touch = update(LoginSessionRow).where(LoginSessionRow.id == row.id).values(last_seen_at=now)
    return Admission(Principal(kind="user", name=row.username, role=Role(row.role)), touch)


def principal_for_token(session: Session, token: str, *, now: datetime) -> Principal | None:
    """The principal a bearer token stands for, or None when unknown or revoked.

    One indexed read per request, never cached: a revoked token stops working at once on
    every server. It writes only when last_used_at is a minute old (TOUCH_EVERY).
    """
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.execute(TOKEN_BY_DIGEST, {"digest": secret_digest(token)}).first()
    return _admitted(session, admit_token(row, now))


def revoke_token(session: Session, *, name: str, now: datetime) -> None:
    """Stop a token from working; NotFound when no token has that name."""
    row = session.scalars(select(ApiTokenRow).where(ApiTokenRow.name == name.strip())).first()
    if row is None:
        raise NotFound(f"no token named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = now


def open_login_session(session: Session, *, username: str, now: datetime, lifetime: timedelta) -> str:
    """Sign a user in; returns the cookie value (shown to the browser, stored hashed)."""
    if lifetime <= timedelta(0):
        raise InvalidInput("a login session needs a positive lifetime")
    user = _user(session, username)
    if user.disabled:
        raise InvalidInput(f"user {user.username!r} is disabled")
    cookie = secrets.token_urlsafe(32)
    session.add(
        LoginSessionRow(
            user_id=user.id,
            token_hash=secret_digest(cookie),
            created_at=now,
            expires_at=now + lifetime,
            last_seen_at=now,
        )
    )
    session.flush()
    return cookie


def principal_for_login(session: Session, cookie: str, *, now: datetime) -> Principal | None:
    """The user a session cookie belongs to, or None when unknown, expired or disabled.

    Like tokens, read on every request and never cached: logging out, disabling the user
    or a new password ends the session at once on every server.
    """
    row = session.execute(LOGIN_BY_DIGEST, {"digest": secret_digest(cookie)}).first()
    return _admitted(session, admit_login(row, now))


def _admitted(session: Session, admission: Admission) -> Principal | None:
    if admission.touch is not None:
        session.execute(admission.touch)
    return admission.principal


def close_login_session(session: Session, cookie: str) -> None:
    """Sign out: forget the session; a cookie that is already unknown is fine."""
    session.execute(delete(LoginSessionRow).where(LoginSessionRow.token_hash == secret_digest(cookie)))


def purge_expired_sessions(session: Session, *, now: datetime) -> int:
    """Delete login sessions that have expired; returns how many."""
    result = session.execute(delete(LoginSessionRow).where(LoginSessionRow.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def normalise_username(username: str) -> str:
    """The username as stored (lower case, trimmed); InvalidInput when it is not allowed."""
    name = username.strip().lower()
    if not _USERNAME_RE.match(name):
        raise InvalidInput(
            f"{username!r} is not a username: use letters, digits, '.', '_', '@' and '-',"
            " starting with a letter or digit, at most 64 characters"
        )
    return name


def _check_password(password: str) -> None:
    if not password or not password.strip():
        raise InvalidInput("the password is empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"the password is too long: at most {MAX_PASSWORD_LENGTH} characters")


def _user(session: Session, username: str) -> UserRow:
    name = username.strip().lower()
    user = session.scalars(select(UserRow).where(UserRow.username == name)).first()
    if user is None:
        raise NotFound(f"no user named {name!r}")
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    # Made on first use, not at import: hashing takes tens of milliseconds.
    return _HASHER.hash(secrets.token_urlsafe(16))


def secret_digest(secret: str) -> str:
    """The SHA-256 of a random secret (a token or a session cookie), as stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
