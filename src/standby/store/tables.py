"""The database tables, as typed SQLAlchemy declarative classes.

Only services import these; the API and pages see the services' frozen records.
A change here needs a migration in `store/migrations/versions`; a test compares the
migrated schema with these classes on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from standby.access.roles import Role

# Named constraints: Alembic can then drop and alter them, which SQLite's batch mode needs.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = tuple(role.value for role in Role)
COMPONENT_STATES = ("up", "degraded", "down", "maintenance", "unknown")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored in UTC and always returned aware, in UTC.

    SQLite has no time zones: without this, values would come back naive and compare
    wrongly with the aware times the clock gives.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; store the UTC instant (naive on SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{value!r} has no time zone; the database stores aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware datetime in UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _json() -> Any:
    # JSONB on PostgreSQL: indexable and compact; plain JSON text elsewhere.
    return JSON().with_variant(JSONB(), "postgresql")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    """Base of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class PlanVersionRow(Base):
    """A plan as it was loaded: one row each time the text in force changed."""

    __tablename__ = "plan_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Not unique: a plan switched back to an earlier text is a new version, so that
    # "which plan was in force when" stays answerable.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # source and document are deferred: listing versions should not read whole plans.
    source: Mapped[str] = mapped_column(Text, deferred=True)
    # The validated plan as the loader produced it (field aliases as keys), so reading
    # it back needs no YAML parsing and no line numbers.
    document: Mapped[dict[str, Any]] = mapped_column(_json(), deferred=True)
    organisation: Mapped[str] = mapped_column(String(200))
    component_count: Mapped[int] = mapped_column(Integer)
    site_count: Mapped[int] = mapped_column(Integer)
    queue_count: Mapped[int] = mapped_column(Integer)
    team_count: Mapped[int] = mapped_column(Integer)
    agent_count: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime] = mapped_column(index=True)
    loaded_by: Mapped[str | None] = mapped_column(String(100))


class UserRow(Base):
    """A person who signs in to the command centre."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ApiTokenRow(Base):
    """A token that a script or an integration presents as `Authorization: Bearer ...`."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="role"),)

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


class ComponentStateRow(Base):
    """The live state of a component, written by probes; no row means `unknown`."""

    __tablename__ = "component_states"
    __table_args__ = (CheckConstraint(_one_of("state", COMPONENT_STATES), name="state"),)

    component_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[str] = mapped_column(String(12))
    since: Mapped[datetime]
    updated_at: Mapped[datetime]
    detail: Mapped[str | None] = mapped_column(Text)
