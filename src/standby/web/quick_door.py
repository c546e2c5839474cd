"""The door of the hot routes: who is asking and the change mark, in one statement.

The overview and GET /api/v1/components serve what they built for a change mark
(standby.store.change_mark) until it moves. Each request still checks its credential in
the database, as every door does (nothing about who may do what is kept between
requests), and reads the mark in the same statement: one round trip, no transaction
(a single statement is consistent on its own), and no trip to a worker thread.

- PostgreSQL: the statement goes out on the event loop, through psycopg's asynchronous
  connections, a few of the door's own in autocommit, without a liveness ping before
  each read (a round trip per request): a connection found dead (a restarted server, a
  failover) is closed and the read tried once more on a fresh one. While the database
  is away the event loop is never blocked: the status page goes on answering.
- SQLite: the statement runs on the event loop itself, through the app's engine (a read
  of a local file under WAL waits for no writer, and an in-memory database exists only
  on that engine): a hop to a worker thread costs more than the read.

What is rare, the write of a credential's last use (once a minute), goes to a thread.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import psycopg
from fastapi import Request
from psycopg.conninfo import make_conninfo
from psycopg.rows import namedtuple_row
from sqlalchemy import Engine, Executable, Select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Permission
from standby.access.service import (
    LOGIN_BY_DIGEST,
    TOKEN_BY_DIGEST,
    TOKEN_PREFIX,
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

DOOR_CONNECTIONS = 6
"""PostgreSQL connections of the door's own, per server: reads in flight at once. Each waits
mostly for the database server to be scheduled, not for this process: two were a ceiling of
some 1,300 requests a second on a loaded machine (docs/benchmarks.md)."""

_TOKEN_AND_MARK = TOKEN_BY_DIGEST.add_columns(CHANGE_MARK.label("mark"))
_LOGIN_AND_MARK = LOGIN_BY_DIGEST.add_columns(CHANGE_MARK.label("mark"))


@dataclass(frozen=True)
class Admitted:
    """A request let in: who asks, and the change mark read with the credential."""

    principal: Principal
    mark: int


class QuickDoor:
    """Checks the credential and reads the change mark in one statement (see the module)."""

    def __init__(self, session_factory: sessionmaker[Session], connections: int = DOOR_CONNECTIONS) -> None:
        """Read through `session_factory`'s engine, or on PostgreSQL `connections` of its own."""
        bound = session_factory.kw["bind"]
        assert isinstance(bound, Engine)
        self._engine = bound
        self._session_factory = session_factory
        self._postgres: _PostgresReads | None = None
        if bound.dialect.name == "postgresql":
            self._postgres = _PostgresReads(bound, connections)

    @staticmethod
    def of(request: Request) -> QuickDoor:
        """The app's door (made by create_app)."""
        door: QuickDoor = request.app.state.quick_door
        return door

    async def admit(self, request: Request, context: WebContext, permission: Permission) -> Admitted:
        """Who asks, if anyone (else 401) and allowed `permission` (else 403); and the mark."""
        found = credential(request)
        if found is None:
            raise Unauthenticated(LOG_IN_FIRST)
        kind, secret = found
        now = context.clock.now()
        if kind == "token":
            row = await self._read(_TOKEN_AND_MARK, secret) if secret.startswith(TOKEN_PREFIX) else None
            admission = admit_token(row, now)
            if admission.principal is None:
                raise Unauthenticated(TOKEN_REFUSED)
        else:
            row = await self._read(_LOGIN_AND_MARK, secret)
            admission = admit_login(row, now)
            if admission.principal is None:
                raise Unauthenticated(LOG_IN_FIRST)
            check_csrf(request, context)
        assert row is not None and admission.principal is not None
        if admission.touch is not None:
            await anyio.to_thread.run_sync(self._touch, admission.touch)
        permit(admission.principal, permission)
        return Admitted(admission.principal, int(row.mark))

    async def close(self) -> None:
        """Close the door's own connections, if any."""
        if self._postgres is not None:
            await self._postgres.close()

    async def _read(self, statement: Select[*tuple[Any, ...]], secret: str) -> Any:
        digest = secret_digest(secret)
        if self._postgres is not None:
            return await self._postgres.first(statement, digest)
        try:
            with self._engine.connect() as connection:
                return connection.execute(statement, {"digest": digest}).first()
        except OperationalError as exc:
            raise storage_error(exc) from exc

    def _touch(self, touch: Executable) -> None:
        """Write the credential's last use (due once a minute): in a unit of work of its own."""
        with unit_of_work(self._session_factory) as session:
            session.execute(touch)


class _PostgresReads:
    """A few asynchronous psycopg connections in autocommit, and statements compiled once."""

    def __init__(self, engine: Engine, width: int) -> None:
        self.conninfo = _conninfo(engine)
        self._width = width
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._slots: asyncio.Semaphore | None = None  # made on the event loop, at first use
        self._loop: asyncio.AbstractEventLoop | None = None
        self._compiled: dict[int, str] = {}
        # An app dropped without its shutdown (a test's) still closes what it opened.
        weakref.finalize(self, _finish, self._idle)

    async def first(self, statement: Select[*tuple[Any, ...]], digest: str) -> Any:
        """The statement's first row (attributes by column name), or None."""
        sql = self._sql(statement)
        loop = asyncio.get_running_loop()
        if self._slots is None or loop is not self._loop:
            # Connections belong to the loop that opened them (one per app, but a test may
            # serve the same app from another loop): a new loop starts afresh.
            _finish(self._idle)
            self._idle.clear()
            self._slots, self._loop = asyncio.Semaphore(self._width), loop
        async with self._slots:
            for last in (False, True):
                connection = self._idle.pop() if self._idle else None
                try:
                    if connection is None:
                        connection = await psycopg.AsyncConnection.connect(
                            self.conninfo, autocommit=True, row_factory=namedtuple_row
                        )
                    cursor = await connection.execute(sql, {"digest": digest})
                    row = await cursor.fetchone()
                except psycopg.OperationalError as exc:
                    # A dead connection (a restart, a failover): dropped, and one more try.
                    if connection is not None:
                        await connection.close()
                    if last:
                        raise storage_error(exc) from exc
                    continue
                self._idle.append(connection)
                return row
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        """Close the idle connections."""
        while self._idle:
            await self._idle.pop().close()

    def _sql(self, statement: Select[*tuple[Any, ...]]) -> str:
        found = self._compiled.get(id(statement))
        if found is None:
            found = str(statement.compile(dialect=postgresql.psycopg.dialect()))  # type: ignore[no-untyped-call]
            self._compiled[id(statement)] = found
        return found


def _conninfo(engine: Engine) -> str:
    """libpq's connection string for the engine's database, with the parameters as the engine decodes them.

    Not the URL rendered back to text: libpq does not read `+` in a URL as a space, and an
    `options` of `-c search_path=x` would reach the server as `-c+search_path=x`.
    """
    _, params = engine.dialect.create_connect_args(engine.url)
    params.pop("context", None)  # SQLAlchemy's own type adapters, for its connections only
    return make_conninfo(**params)


def _finish(connections: list[psycopg.AsyncConnection[Any]]) -> None:
    """Close connections without an event loop: libpq's own close, which does not wait."""
    for connection in connections:
        connection.pgconn.finish()
