"""Who may sign in: users, API tokens and login sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from standby.access.roles import Role
from standby.store.tables.base import Base, one_of

ROLES = tuple(role.value for role in Role)
LOCKOUT_SCOPES = ("account", "address")


class UserRow(Base):
    """A person who signs in to the command centre."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(one_of("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ApiTokenRow(Base):
    """A token that a script or an integration presents as `Authorization: Bearer ...`."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint(one_of("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    # SHA-256 of the token, not a slow password hash: the token is 256 random bits, so
    # guessing is hopeless anyway, and a plain digest can be looked up by equality.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class LoginSessionRow(Base):
    """A signed-in browser: the cookie's SHA-256, never the cookie itself."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime]


class LoginFailureRow(Base):
    """Failed logins of one account or client address, and until when its door is locked.

    In the database, not in memory: several servers behind a load balancer share it.
    Usernames that do not exist get tallies too, so a lockout tells nothing.
    """

    __tablename__ = "login_failures"
    __table_args__ = (
        CheckConstraint(one_of("scope", LOCKOUT_SCOPES), name="scope"),
        UniqueConstraint("scope", "key", name="uq_login_failures_scope_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(200))
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
