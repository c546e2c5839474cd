"""Answers built once per change: the latest renderings, found by what they were built from.

The overview and /api/v1/components cost milliseconds to build (the topology, the map's
layout, the audit, validation and serialisation, the template) but change only when
what they show does. Each request reads the change mark (standby.store.change_mark,
moved by the database in the same transaction as every such change) with its login
check, and uses it as the key: a request after any change finds no entry and builds
afresh, so what is shown is never older than the database. No time-to-live is involved.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar

import anyio
import anyio.to_thread
from fastapi import Request
from fastapi.responses import Response

T = TypeVar("T")
P = ParamSpec("P")

KEEP = 32
"""Renderings kept: a few per role and per recent change; the oldest goes first."""
LANE_WIDTH = 2
"""Hot reads running at once in worker threads (see ReadLane)."""


class Rendered(Generic[T]):
    """The latest renderings, each under the key of the facts it was built from."""

    def __init__(self, keep: int = KEEP) -> None:
        """Keep at most `keep` renderings."""
        self._keep = keep
        self._entries: OrderedDict[Hashable, T] = OrderedDict()
        self._underway: dict[Hashable, asyncio.Future[T]] = {}  # builds on their way (event loop only)
        self._lock = threading.Lock()  # requests run in a thread pool

    def peek(self, key: Hashable) -> T | None:
        """The rendering under `key`, or None when there is none (nothing is built)."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        """The rendering under `key`, built by `build` when there is none."""
        found = self.peek(key)
        if found is not None:
            return found
        # Built outside the lock: two requests may both build after a change; both are right.
        made = build()
        with self._lock:
            self._entries[key] = made
            self._entries.move_to_end(key)
            while len(self._entries) > self._keep:
                self._entries.popitem(last=False)
        return made

    def clear(self) -> None:
        """Forget every rendering."""
        with self._lock:
            self._entries.clear()

    async def served(self, key: Hashable, build: Callable[[], T], lane: ReadLane) -> T:
        """The rendering under `key` at once, on the event loop; else built in `lane`'s threads.

        Requests that miss the same key together wait for one build (the overview's key moves
        every second: sixteen connections would otherwise build the same page sixteen times).
        """
        found = self.peek(key)
        if found is not None:
            return found
        underway = self._underway.get(key)
        if underway is not None:
            await asyncio.wait({underway})  # its outcome, not its cancellation, is ours to read
            if not underway.cancelled():
                return underway.result()
            return await lane.run(self.get, key, build)  # it failed: try for ourselves
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._underway[key] = future
        try:
            made = await lane.run(self.get, key, build)
        except BaseException:
            future.cancel()
            raise
        finally:
            del self._underway[key]
        future.set_result(made)
        return made


class Same:
    """A part of a key that matches only the very same object: for values that cannot be hashed.

    The key holds the object, so its id is not reused while the key is kept.
    """

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        """Wrap `value`."""
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Same) and other.value is self.value


class ReadLane:
    """A narrow lane of worker threads for building the hot routes' answers (reads and rendering).

    Measured with wrk (benchmarks/web_wrk.py): sixteen connections on /api/v1/components,
    each request in a thread of its own, kept sixteen threads fighting over the GIL, and
    one request in a hundred waited 150 ms or more. Let through two at a time, the others
    wait their turn on the event loop, first come first served, and the same machine
    answers more requests, with a p99 of a few tens of milliseconds. The lane is its own:
    slow work elsewhere (a plan upload, a simulation) does not queue in it.
    """

    def __init__(self, width: int = LANE_WIDTH) -> None:
        """At most `width` reads at once."""
        self._width = width
        self._limiter: anyio.CapacityLimiter | None = None  # made on the event loop, at first use

    async def run(self, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`read(*args)` in a worker thread, once the lane has room."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._width)
        return await anyio.to_thread.run_sync(lambda: read(*args, **kwargs), limiter=self._limiter)


@dataclass(frozen=True)
class Body:
    """A response body as served, with its entity tag."""

    content: bytes
    etag: str

    @classmethod
    def of(cls, content: bytes) -> Body:
        """The body and a strong ETag made from its bytes."""
        return cls(content, '"' + hashlib.sha256(content).hexdigest()[:32] + '"')


NOT_MODIFIED: dict[str, Any] = {"description": "Not modified: the caller's copy (If-None-Match) is current."}
"""The 304 answer, as an operation declares it in the OpenAPI document."""


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (the weak comparison GET revalidation uses)."""
    wanted = {tag.strip() for tag in if_none_match.split(",")}
    return "*" in wanted or etag in wanted or f"W/{etag}" in wanted


def answer(request: Request, body: Body, media_type: str) -> Response:
    """The body with its ETag, or 304 when the caller's copy is current."""
    headers = {"ETag": body.etag, "Cache-Control": "private, no-cache"}
    tags = request.headers.get("if-none-match")
    if tags is not None and etag_matches(tags, body.etag):
        return Response(status_code=304, headers=headers)
    return Response(body.content, media_type=media_type, headers=headers)
