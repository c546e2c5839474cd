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
for the lock waits up to the interpreter's switch interval (5 ms) each time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress


class WriteBehind:
    """Statements handed over to run, in the order given, in one other thread."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool
        self._pending: list[Future[None]] = []

    def run(self, write: Callable[[], None]) -> None:
        """Run `write` after those handed over before it; the caller goes on at once."""
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
def write_behind() -> Iterator[WriteBehind]:
    """A second thread for the block's writes; leaving waits for them all."""
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
