"""Long statements of a unit of work run in a second thread while the first goes on computing.

Both drivers let go of Python's lock while the database works on a statement (psycopg
while it waits for the server, sqlite3 while SQLite runs it), so a statement of a few
seconds sent from a second thread overlaps the Python work of the first: the callbacks'
recovery pass writes 100,000 rescheduled callbacks while it renders and checks their
customers' messages.

Still one transaction, and the connection is never used by two threads at once: the
caller hands its statements over in order and must not touch the session until it leaves
the block. Leaving waits for every statement handed over, then raises the caller's own
error if it had one, else the first statement's error. Worth it only for a few long
statements: an executemany takes Python's lock back for every row, and a thread waiting
for the lock waits up to the interpreter's switch interval (5 ms) each time. An in-memory
SQLite database's connection cannot leave its thread: its writes run at once instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from standby.store.engine import sqlite_path


class WriteBehind:
    """Statements handed over to run, in the order given, in one other thread (or at once, without one)."""

    def __init__(self, pool: ThreadPoolExecutor | None) -> None:
        self._pool = pool
        self._pending: list[Future[None]] = []

    def run(self, write: Callable[[], None]) -> None:
        """Run `write` after those handed over before it; with a thread, the caller goes on at once."""
        if self._pool is None:
            write()
            return
        self._pending.append(self._pool.submit(write))

    def wait(self) -> None:
        """Wait for every write handed over; raise the first one's error."""
        pending, self._pending = self._pending, []
        first: BaseException | None = None
        for future in pending:
            error = future.exception()
            if error is not None and first is None:
                first = error
        if first is not None:
            raise first


@contextmanager
def write_behind(session: Session | None = None) -> Iterator[WriteBehind]:
    """A second thread for the block's writes on `session`; leaving waits for them all.

    Without one for an in-memory SQLite database, whose connection belongs to the thread
    that made it: the writes then run at once, in the caller's thread.
    """
    if session is not None and not _shared_across_threads(session.get_bind()):
        yield WriteBehind(None)
        return
    # One worker: the writes share a connection and must keep their order.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="standby-write-behind") as pool:
        writes = WriteBehind(pool)
        try:
            yield writes
        except BaseException:
            # The caller's error is the one to raise, but only once nothing uses the
            # connection any more (the transaction is about to be rolled back on it).
            with suppress(Exception):
                writes.wait()
            raise
        writes.wait()


def _shared_across_threads(bind: Engine | Connection) -> bool:
    engine = bind.engine
    return engine.dialect.name != "sqlite" or sqlite_path(engine.url) is not None
