"""The sender: claims due messages from the outbox, sends them, records what happened.

An edge, like the detection worker: asyncio for the sending, threads for the database.
Several senders (in `standby serve` and in each `standby worker`) share one outbox.

- It claims only what it can start at once: up to `concurrency` messages in flight, in
  batches of at most `batch`, each marked `sending` with a claim lease *before* anything
  goes out (`outbox_delivery.claim_due`). When nothing is due it looks again every
  `poll_s`, or at once when `nudge()` is called.
- Each message goes out on its channel under a hard deadline; whatever the receiver does
  (garbage, a hang, a reset, an exception in a channel) becomes an outcome, never a dead
  sender. A channel that is not configured parks its messages with the reason.
- Outcomes are written as soon as they come, many in one transaction when they come
  together, and `on_outcome` (the incident timeline) is called inside that transaction.
- When the database cannot be reached, sending in flight goes on and the outcomes wait
  in memory until it is back; claiming waits. A message whose outcome could not be
  written before its lease ran out may be sent again by another sender: with the same
  idempotency key.
- Stopping: no new claims; sending in flight is given `stop_grace_s`; outcomes are
  written; what was cut short is given back (due at once, same key).

Exactly once, honestly: a message is marked `sending` before it is sent and `sent` right
after, so it is sent twice only if a sender dies (or loses the database for longer than
the lease) between the receiver taking it and the outcome being written, a window of
milliseconds. The repeat then carries the same idempotency key (HTTP `Idempotency-Key`,
the email's Message-ID), and a receiver that honours the key delivers it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from standby.clock import Clock
from standby.errors import StandbyError
from standby.notify.channels.protocol import Channel, DeliveryFailure, PermanentFailure
from standby.notify.outbox import MessageRecord
from standby.notify.outbox_delivery import (
    DEFAULT_POLICY,
    OnOutcome,
    Outcome,
    Recorded,
    RetryPolicy,
    claim_due,
    record_outcomes,
    release,
)
from standby.store.engine import unit_of_work

log = logging.getLogger("standby.notify")


def new_worker_id() -> str:
    """A sender id that says where it runs: host, process and a random part (as workers' ids do)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Channels:
    """The channels that can send, and for each one that cannot, why (its messages park with that)."""

    available: dict[str, Channel] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def reason(self, name: str) -> str:
        """Why `name` cannot send."""
        return self.missing.get(name, f"{name} is not configured")

    async def aclose(self) -> None:
        """Close every channel's connections."""
        for channel in self.available.values():
            await channel.aclose()


@dataclass(frozen=True)
class SenderOptions:
    """How a sender paces itself; the defaults suit one centre."""

    concurrency: int = 64
    batch: int = 200
    lease_s: float = 60.0
    poll_s: float = 1.0
    # Beyond each channel's own timeouts: no message holds a slot longer than this.
    send_timeout_s: float = 45.0
    stop_grace_s: float = 10.0
    # Outcomes are written at most this often (one transaction for all that came meanwhile).
    # A sender killed in between sends those messages again, with their keys.
    flush_every_s: float = 0.02
    policy: RetryPolicy = DEFAULT_POLICY


@dataclass
class SenderStats:
    """What a sender did, for logs, tests and benchmarks."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    parked: int = 0
    flushes: int = 0
    database_errors: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)


class NotifySender:
    """One sender: claims, sends with bounded concurrency, records the outcomes."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        clock: Clock,
        channels: Channels,
        options: SenderOptions | None = None,
        on_outcome: OnOutcome | None = None,
        worker_id: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """Prepare a sender; nothing runs until `run`."""
        self.factory = session_factory
        self.clock = clock
        self.channels = channels
        self.options = options or SenderOptions()
        self.on_outcome = on_outcome
        self.id = worker_id or new_worker_id()
        self.rng = rng or random.Random()
        self.stats = SenderStats()
        self.database_ok = True
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._outcomes: list[Outcome] = []
        # Sent (or failed) but not yet recorded: their claim may run out before the outcome
        # is written, and this sender must not claim and send them again meanwhile.
        self._unwritten: set[int] = set()
        self._channel_of: dict[int, str] = {}
        self._nudge = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._written = asyncio.Event()
        # Free slots worth a claim: a quarter of a batch.
        self._enough = max(1, min(self.options.batch, self.options.concurrency) // 4)

    def nudge(self) -> None:
        """Look for due messages now rather than at the next poll (after an enqueue)."""
        self._nudge.set()

    # ---- the loop ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set; then finish or give back what is in flight."""
        flushing = asyncio.Event()
        flusher = asyncio.create_task(self._flush_loop(flushing))
        try:
            await self._claim_loop(stop)
        finally:
            await self._finish(flushing, flusher)

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        options = self.options
        while not stop.is_set():
            free = options.concurrency - len(self._inflight)
            # Claim in batches, not one message each time a slot frees: fewer transactions.
            if free <= 0 or (self._inflight and free < self._enough):
                self._slot_free.clear()
                await _wait_any(stop, self._slot_free, timeout=options.poll_s)
                continue
            wanted = min(free, options.batch)
            try:
                ok, claimed = await self._db(functools.partial(self._claim, limit=wanted))
            except Exception:
                log.exception("sender %s: claiming failed", self.id)
                ok, claimed = False, []
            if ok:
                for record in claimed:
                    self._start(record)
            if not ok or len(claimed) < wanted:
                self._nudge.clear()
                await _wait_any(stop, self._nudge, timeout=options.poll_s)

    def _claim(self, session: Session, limit: int) -> list[MessageRecord]:
        return claim_due(
            session,
            worker_id=self.id,
            now=self.clock.now(),
            limit=limit,
            lease=timedelta(seconds=self.options.lease_s),
            policy=self.options.policy,
            on_outcome=self.on_outcome,
        )

    def _start(self, record: MessageRecord) -> None:
        self.stats.claimed += 1
        if record.id in self._inflight or record.id in self._unwritten:
            return  # our own claim ran out while we were sending it, or before its outcome was written
        self._channel_of[record.id] = record.channel
        task = asyncio.create_task(self._send(record))
        self._inflight[record.id] = task
        task.add_done_callback(functools.partial(self._done, record.id))

    def _done(self, message_id: int, _task: asyncio.Task[None]) -> None:
        self._inflight.pop(message_id, None)
        if not self._inflight or self.options.concurrency - len(self._inflight) >= self._enough:
            self._slot_free.set()

    async def _send(self, record: MessageRecord) -> None:
        outcome = await self._attempt(record)
        self._unwritten.add(record.id)
        self._outcomes.append(outcome)
        self._written.set()

    async def _attempt(self, record: MessageRecord) -> Outcome:
        channel = self.channels.available.get(record.channel)
        if channel is None:
            return Outcome(record.id, sent=False, error=self.channels.reason(record.channel), permanent=True)
        try:
            async with asyncio.timeout(self.options.send_timeout_s):
                delivery = await channel.send(record.outgoing())
        except DeliveryFailure as failure:
            permanent = isinstance(failure, PermanentFailure)
            return Outcome(record.id, sent=False, error=failure.reason, permanent=permanent)
        except TimeoutError:
            return Outcome(
                record.id,
                sent=False,
                error=f"no answer within {self.options.send_timeout_s:g} s (the sender's limit)",
            )
        except Exception as exc:
            # A bug in a channel must not stop the sender: the message is tried again.
            log.exception(
                "sender %s: the %s channel failed on message %s", self.id, record.channel, record.id
            )
            return Outcome(
                record.id,
                sent=False,
                error=f"the {record.channel} channel failed: {type(exc).__name__}: {exc}",
            )
        log.debug("message %s (%s): %s", record.id, record.channel, delivery.detail)
        return Outcome(record.id, sent=True, provider_id=delivery.provider_id)

    # ---- writing outcomes ------------------------------------------------------------------

    async def _flush_loop(self, finishing: asyncio.Event) -> None:
        while True:
            if not self._outcomes:
                if finishing.is_set():
                    return
                self._written.clear()
                await _wait_any(finishing, self._written, timeout=self.options.poll_s)
                continue
            began = asyncio.get_running_loop().time()
            written = await self._flush()
            if not written:
                if finishing.is_set():
                    return  # the database is away at the stop: the leases will run out
                await asyncio.sleep(min(1.0, self.options.poll_s))
            elif not finishing.is_set():
                # Group commit: outcomes that come one by one (a slow channel) are written
                # together, at most every flush_every_s, instead of a transaction each.
                rest = self.options.flush_every_s - (asyncio.get_running_loop().time() - began)
                if rest > 0:
                    await _wait_any(finishing, timeout=rest)

    async def _flush(self) -> bool:
        batch, self._outcomes = self._outcomes, []
        try:
            ok, changed = await self._db(functools.partial(self._record, batch=batch))
        except Exception:
            log.exception("sender %s: recording outcomes failed", self.id)
            ok, changed = False, None
        if not ok:
            self._outcomes = batch + self._outcomes
            return False
        self.stats.flushes += 1
        for message_id in changed.sent_ids:
            self.stats.sent += 1
            channel = self._channel_of.get(message_id, "?")
            self.stats.by_channel[channel] = self.stats.by_channel.get(channel, 0) + 1
        for record in changed.failed:
            if record.state == "parked":
                self.stats.parked += 1
                log.warning("message %s parked: %s", record.id, record.last_error)
            else:
                self.stats.retrying += 1
        for outcome in batch:
            self._channel_of.pop(outcome.message_id, None)
            self._unwritten.discard(outcome.message_id)
        return True

    def _record(self, session: Session, batch: list[Outcome]) -> Recorded:
        return record_outcomes(
            session,
            worker_id=self.id,
            now=self.clock.now(),
            outcomes=batch,
            policy=self.options.policy,
            rng=self.rng,
            on_outcome=self.on_outcome,
        )

    async def _db(self, work: Callable[[Session], Any]) -> tuple[bool, Any]:
        """Database work in a thread: (True, result), or (False, None) when the database failed."""

        def unit() -> Any:
            with unit_of_work(self.factory) as session:
                return work(session)

        try:
            value = await asyncio.to_thread(unit)
        except (StandbyError, SQLAlchemyError, OSError) as exc:
            self.stats.database_errors += 1
            if self.database_ok:
                log.warning("sender %s: the database failed (%s); sending goes on", self.id, exc)
            self.database_ok = False
            return False, None
        if not self.database_ok:
            log.warning("sender %s: the database is back", self.id)
        self.database_ok = True
        return True, value

    # ---- stopping ----------------------------------------------------------------------------

    async def _finish(self, finishing: asyncio.Event, flusher: asyncio.Task[None]) -> None:
        tasks = list(self._inflight.values())
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=self.options.stop_grace_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        finishing.set()
        self._written.set()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        cut_short = [m for m in self._channel_of if all(o.message_id != m for o in self._outcomes)]
        if cut_short:
            now = self.clock.now()
            ok, count = await self._db(
                lambda s: release(s, worker_id=self.id, message_ids=cut_short, now=now)
            )
            if ok and count:
                log.info("sender %s: gave back %s messages cut short by the stop", self.id, count)


async def _wait_any(*events: asyncio.Event, timeout: float) -> None:
    """Wait until one of `events` is set, or `timeout` seconds."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
