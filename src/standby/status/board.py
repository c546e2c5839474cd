"""The rendered public documents, kept in memory: requests read them, never the database.

A background task (`StatusBoard.run`) asks the database for its change mark every
couple of seconds; when it moved, or a minute passed (today's uptime and planned work
move with the clock), it reads the facts once, builds the snapshot and renders every
document. A document whose bytes did not change keeps its ETag and Last-Modified.
While the database is unreachable the last rendering keeps being served as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import anyio.to_thread
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from standby.clock import Clock
from standby.errors import StandbyError
from standby.status.snapshot import Snapshot, build_snapshot
from standby.status.snapshot_service import ChangeMark, TopologyOf, change_mark, read_facts
from standby.store.engine import unit_of_work

log = logging.getLogger("standby.status")

EVERY_S = 2.0
"""How often the change mark is read."""
AT_LEAST_EVERY = timedelta(minutes=1)
"""Rendered again after this long even with no change: the clock moves the uptime and maintenance."""

Renderer = Callable[[Snapshot], Mapping[str, tuple[bytes, str]]]
"""A snapshot to its documents: path to (body, media type)."""
Teller = Callable[[Session, Snapshot, datetime], object]
"""Work done in its own transaction after each rendering (telling subscribers of new notices)."""


@dataclass(frozen=True)
class Document:
    """One rendered public document, as served."""

    body: bytes
    media_type: str
    etag: str
    last_modified: datetime


class StatusBoard:
    """The latest rendering of every public document, refreshed once per change."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Clock,
        render: Renderer,
        *,
        write_to: Path | None = None,
        tell: Teller | None = None,
    ) -> None:
        """Render with `render`; with `write_to`, also write each changed document to that folder.

        `tell` runs after each rendering in a transaction of its own; when it fails it is
        run again at the next refresh, rendering or not.
        """
        self._factory = session_factory
        self._clock = clock
        self._render = render
        self._write_to = write_to
        self._topology = TopologyOf()
        self._tell = tell
        self._untold: Snapshot | None = None
        self._snapshot: Snapshot | None = None
        self._documents: dict[str, Document] = {}
        self._mark: ChangeMark | None = None
        self._rendered_at: datetime | None = None
        self._lock = threading.Lock()  # one refresh at a time: the loop and a first request

    def get(self, path: str) -> Document | None:
        """The document at `path`, or None when nothing was rendered yet (or there is no such)."""
        return self._documents.get(path)

    @property
    def snapshot(self) -> Snapshot | None:
        """The snapshot last rendered, if any."""
        return self._snapshot

    @property
    def ready(self) -> bool:
        """Whether anything was rendered yet."""
        return bool(self._documents)

    def refresh(self, *, force: bool = False, tell: bool = True) -> bool:
        """Render again if anything changed (or a minute passed); whether it rendered.

        Database errors are logged and leave the last rendering in place. With `tell`
        false (a request waiting for the first rendering: a GET must change nothing) the
        teller is left to the next refresh.
        """
        with self._lock:
            now = self._clock.now()
            try:
                with unit_of_work(self._factory) as session:
                    mark = change_mark(session)
                    stale = self._rendered_at is None or now - self._rendered_at >= AT_LEAST_EVERY
                    unchanged = not force and not stale and mark == self._mark
                    facts = (
                        None
                        if unchanged
                        else read_facts(session, now=now, topology_of=self._topology, mark=mark)
                    )
                if unchanged:
                    if self._untold is not None:
                        self._told(self._untold, now)
                    return False
            except (SQLAlchemyError, StandbyError) as exc:
                log.warning("status page: kept the last rendering; the database is unreachable: %s", exc)
                return False
            if facts is None:
                return False  # no plan yet: nothing to publish
            snapshot = build_snapshot(facts, now=now)
            documents = self._render(snapshot)
            self._publish(documents, now)
            self._mark, self._rendered_at, self._snapshot = mark, now, snapshot
            if tell:
                self._told(snapshot, now)
            elif self._tell is not None:
                self._untold = snapshot
            return True

    def _told(self, snapshot: Snapshot, now: datetime) -> None:
        """Run the teller on `snapshot`; remember it for the next refresh when that fails."""
        if self._tell is None:
            return
        self._untold = snapshot
        try:
            with unit_of_work(self._factory) as session:
                self._tell(session, snapshot, now)
        except (SQLAlchemyError, StandbyError) as exc:
            log.warning("status page: subscribers not told yet, trying again: %s", exc)
            return
        self._untold = None

    def _publish(self, documents: Mapping[str, tuple[bytes, str]], now: datetime) -> None:
        fresh: dict[str, Document] = {}
        for path, (body, media_type) in documents.items():
            old = self._documents.get(path)
            if old is not None and old.body == body:
                fresh[path] = old
                continue
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            fresh[path] = Document(body, media_type, etag, now.replace(microsecond=0))
            if self._write_to is not None:
                self._write(path, body)
        self._documents = fresh  # one assignment: a request sees the old set or the new

    def _write(self, path: str, body: bytes) -> None:
        """Write a document under the folder (for a web server or CDN to serve), atomically."""
        assert self._write_to is not None
        relative = path.lstrip("/") or "index"
        if relative == "status":
            relative = "status/index.html"
        target = self._write_to / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(target.name + ".tmp")
            temporary.write_bytes(body)
            temporary.replace(target)
        except OSError as exc:
            log.warning("status page: could not write %s: %s", target, exc)

    async def run(self, stop: asyncio.Event, every_s: float = EVERY_S) -> None:
        """Refresh every `every_s` seconds until `stop` is set."""
        while not stop.is_set():
            try:
                await anyio.to_thread.run_sync(self.refresh)
            except Exception:  # never let the page stop refreshing for good
                log.exception("status page: the refresh failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_s)
