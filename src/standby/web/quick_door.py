"""The door of the hot routes: who is asking and the change mark, in one statement.

The overview and GET /api/v1/components serve what they built for a change mark
(standby.store.change_mark) until it moves. Each request still checks its credential in
the database, as every door does (nothing about who may do what is kept between
requests), and reads the mark in the same statement: one round trip, no transaction
(a single statement is consistent on its own).

On PostgreSQL the statement goes through an engine of its own, a few connections wide,
in autocommit and without the pool's liveness ping (a round trip per request): a
connection found dead (a restarted server, a failover) is dropped and the read is tried
once more on a fresh one. On SQLite the app's own engine is used: there is no round trip
to save, and an in-memory database exists only on that engine.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import Engine, Row, Select, create_engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Permission
from standby.access.service import (
    LOGIN_BY_DIGEST,
    TOKEN_BY_DIGEST,
    TOKEN_PREFIX,
    Admission,
    Principal,
    admit_login,
    admit_token,
    secret_digest,
)
from standby.store.change_mark import CHANGE_MARK
from standby.store.engine import storage_error, unit_of_work
from standby.web.auth import LOG_IN_FIRST, TOKEN_REFUSED, check_csrf, credential, permit
from standby.web.context import WebContext
from standby.web.errors import Unauthenticated

_TOKEN_AND_MARK = TOKEN_BY_DIGEST.add_columns(CHANGE_MARK.label("mark"))
_LOGIN_AND_MARK = LOGIN_BY_DIGEST.add_columns(CHANGE_MARK.label("mark"))


@dataclass(frozen=True)
class Admitted:
    """A request let in: who asks, and the change mark read with the credential."""

    principal: Principal
    mark: int


class QuickDoor:
    """Checks the credential and reads the change mark in one statement (see the module)."""

    def __init__(self, session_factory: sessionmaker[Session], connections: int) -> None:
        """Read through `session_factory`'s engine, or on PostgreSQL one of `connections` of its own."""
        bound = session_factory.kw["bind"]
        assert isinstance(bound, Engine)
        self._own: Engine | None = None
        if bound.dialect.name == "postgresql":
            self._own = create_engine(
                bound.url,
                isolation_level="AUTOCOMMIT",
                pool_size=connections,
                max_overflow=connections,
                pool_pre_ping=False,
            )
            # Closed at shutdown (close), or when the app is dropped without one (a test's app).
            weakref.finalize(self, self._own.dispose)
        self._engine = self._own or bound
        self._session_factory = session_factory

    def admit(self, request: Request, context: WebContext, permission: Permission) -> Admitted:
        """Who asks, if anyone (else 401) and allowed `permission` (else 403); and the mark."""
        found = credential(request)
        if found is None:
            raise Unauthenticated(LOG_IN_FIRST)
        kind, secret = found
        now = context.clock.now()
        if kind == "token":
            row = self._read(_TOKEN_AND_MARK, secret) if secret.startswith(TOKEN_PREFIX) else None
            admission = admit_token(row, now)
            if admission.principal is None:
                raise Unauthenticated(TOKEN_REFUSED)
        else:
            row = self._read(_LOGIN_AND_MARK, secret)
            admission = admit_login(row, now)
            if admission.principal is None:
                raise Unauthenticated(LOG_IN_FIRST)
            check_csrf(request, context)
        assert row is not None and admission.principal is not None
        self._touch(admission)
        permit(admission.principal, permission)
        return Admitted(admission.principal, int(row.mark))

    @staticmethod
    def of(request: Request) -> QuickDoor:
        """The app's door (made by create_app)."""
        door: QuickDoor = request.app.state.quick_door
        return door

    def close(self) -> None:
        """Close the connections of its own, if any."""
        if self._own is not None:
            self._own.dispose()

    def _read(
        self, statement: Select[*tuple[Any, ...]], secret: str
    ) -> Row[*tuple[Any, ...]] | None:
        parameters = {"digest": secret_digest(secret)}
        for last in (False, True):
            try:
                with self._engine.connect() as connection:
                    return connection.execute(statement, parameters).first()
            except DBAPIError as exc:
                # A dead connection was dropped from the pool: one more try, on a fresh one.
                if exc.connection_invalidated and not last:
                    continue
                if isinstance(exc, OperationalError):
                    raise storage_error(exc) from exc
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _touch(self, admission: Admission) -> None:
        """Write the credential's last use, when due (once a minute): rare, so a unit of work of its own."""
        if admission.touch is not None:
            with unit_of_work(self._session_factory) as session:
                session.execute(admission.touch)
