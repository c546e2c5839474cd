"""The detection worker: checks the probes it holds, writes what it finds, correlates.

An edge: asyncio for the checks, threads for the database. It runs inside `standby
serve` or alone as `standby worker`, and several of them share one PostgreSQL.

- Every `claim_every_s` it says it is alive, loads the plan in force when it changed,
  and renews and claims its share of probe leases (`detect.leases`). A probe taken
  over is checked when its interval since the last check on record has passed (at once
  if overdue), from the health on record: a handover changes nothing.
- A scheduler starts each held probe's check when due (`detect.check_rota`), at most
  `concurrency` at once. A failure (or a success after down) is confirmed sooner, every
  `retry_s` of the probe, so that an outage is known within about one interval, not three.
- Results go to a buffer that is written in batches; a health change is written at
  once and then correlated (`detect.outages`). Nothing is acted on before it is
  stored: correlation reads what the write committed.
- When it correlates (after a change, a new alert, now and then) and what runs after is
  `detect.correlation_loop`'s. A new outage that waits for the probes its causes depend
  on (`outages.opening`) has those this worker holds checked at once, and is correlated
  again with their results.
- When the database cannot be reached, checking goes on and the buffer keeps what
  was seen (the latest result and every health change per probe, if it grows too
  big), to be written when the database is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from standby.clock import Clock
from standby.detect.check_rota import CheckRota, HeldProbe
from standby.detect.correlation import Correlator
from standby.detect.correlation_loop import (
    AfterCorrelation,
    CorrelationLoop,
    MaintenanceLookup,
    no_maintenance,
)
from standby.detect.health import after_check, after_reading
from standby.detect.leases import (
    CheckRecord,
    Claim,
    claim_probes,
    new_worker_id,
    prune,
    record_checks,
    release_probes,
    see_worker,
    sync_probes,
)
from standby.detect.observer import CheckObserver
from standby.detect.outages import CorrelationResult
from standby.detect.probes.result import Checker, CheckResult
from standby.detect.pushed import pushed_result
from standby.errors import StorageError
from standby.plan.schema import Plan
from standby.plan.versions import plan_of_version
from standby.store.engine import unit_of_work
from standby.store.tables import PlanVersionRow

log = logging.getLogger("standby.worker")


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker paces itself; the defaults suit one centre."""

    concurrency: int = 256
    # A killed worker's probes are taken over within lease_s + claim_every_s (7.5 s).
    lease_s: float = 6.0
    claim_every_s: float = 1.5
    correlate_every_s: float = 2.0
    alerts_every_s: float = 0.5
    flush_every_s: float = 0.5
    retry_s: float | None = None
    retention: timedelta = timedelta(hours=72)
    prune_every_s: float = 600.0
    buffer_limit: int = 100_000
    pushed_every_s: float = 5.0
    full_correlation_every_s: float = 15.0


@dataclass
class _Stats:
    checks: int = 0
    flushes: int = 0
    correlations: int = 0
    locked_correlations: int = 0
    """Correlations that found something to write, and wrote it under the detection lock."""
    database_errors: int = 0
    last_correlation: CorrelationResult | None = None
    opened: list[int] = field(default_factory=list)


class DetectWorker(CorrelationLoop):
    """One worker: holds leases, runs checks, writes results, correlates."""

    options: WorkerOptions
    stats: _Stats

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        clock: Clock,
        checker: Checker,
        options: WorkerOptions | None = None,
        maintenance: MaintenanceLookup = no_maintenance,
        worker_id: str | None = None,
        after_correlation: AfterCorrelation | tuple[AfterCorrelation, ...] | None = None,
        observer: CheckObserver | None = None,
    ) -> None:
        """Prepare a worker; nothing runs until `run`."""
        self.factory = session_factory
        self.clock = clock
        self.checker = checker
        self.options = options or WorkerOptions()
        self.maintenance = maintenance
        self.after_correlation = after_correlation
        self.observer = observer
        self.id = worker_id or new_worker_id()
        self.started_at = clock.now()
        self.rota = CheckRota(
            claim_every_s=self.options.claim_every_s,
            pushed_every_s=self.options.pushed_every_s,
            retry_s=self.options.retry_s,
        )
        self.held: dict[str, HeldProbe] = self.rota.held
        self.buffer: list[CheckRecord] = []
        self.stats = _Stats()
        self.database_ok = True
        self._plan: tuple[int, Plan, Correlator] | None = None
        self._semaphore = asyncio.Semaphore(self.options.concurrency)
        self._urgent = asyncio.Event()
        self._marker: object = None
        self._last_full = float("-inf")
        self._alerts_seen: tuple[Any, ...] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._lease_lane = ThreadPoolExecutor(max_workers=1, thread_name_prefix="standby-leases")
        self._correlating: asyncio.Task[None] | None = None
        self._correlate_again = False

    # ---- the loop ------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set; then write what is buffered and give the leases back."""
        loops = [
            asyncio.create_task(self._every(self.options.claim_every_s, self._claim_cycle, stop)),
            asyncio.create_task(self._schedule(stop)),
            asyncio.create_task(self._flush_loop(stop)),
            asyncio.create_task(self._every(self.options.correlate_every_s, self._look_around, stop)),
            asyncio.create_task(self._every(self.options.alerts_every_s, self._watch_alerts, stop)),
            asyncio.create_task(self._every(self.options.prune_every_s, self._prune, stop, first=False)),
        ]
        try:
            await stop.wait()
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._flush()
            await self._in_thread(self._release, lane=self._lease_lane)
            self._lease_lane.shutdown(wait=False)

    async def _every(
        self, seconds: float, step: Callable[[], Any], stop: asyncio.Event, *, first: bool = True
    ) -> None:
        if not first:
            await asyncio.sleep(seconds)
        while not stop.is_set():
            try:
                await step()
            except Exception:
                # A bug in one step must not stop detection: say it loudly and go on.
                log.exception("worker %s: %s failed", self.id, getattr(step, "__name__", step))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), seconds)

    async def _in_thread(
        self, work: Callable[[Session], Any], *, lane: ThreadPoolExecutor | None = None
    ) -> tuple[bool, Any]:
        """Run database work in a thread: (True, result), or (False, None) if the database failed.

        `lane`: an executor of its own (the leases'), else the loop's shared one.
        """

        def unit() -> Any:
            with unit_of_work(self.factory) as session:
                return work(session)

        try:
            value = await asyncio.get_running_loop().run_in_executor(lane, unit)
        except (StorageError, SQLAlchemyError, OSError) as exc:
            self.stats.database_errors += 1
            if self.database_ok:
                log.warning("worker %s: the database failed (%s); checking goes on", self.id, exc)
            self.database_ok = False
            return False, None
        if not self.database_ok:
            log.warning("worker %s: the database is back", self.id)
        self.database_ok = True
        return True, value

    # ---- leases and the plan -------------------------------------------------------

    async def _claim_cycle(self) -> None:
        known = {cid: held.lease.settings_sha for cid, held in self.held.items()}
        # A lane of its own: the renewal never queues behind correlations, flushes or the
        # pushed probes' reads in the shared executor.
        ok, found = await self._in_thread(lambda session: self._claim(session, known), lane=self._lease_lane)
        if not ok:
            return  # keep checking what we hold
        claim, renewed_at = found
        now_loop = asyncio.get_running_loop().time()
        # The lease runs from when it was renewed in the database (`_claim`), however long
        # the claim waited for the write lock before. A quarter is kept back: for a loop that
        # runs late under load, and for clocks that drift between machines.
        lease_until = renewed_at + self.options.lease_s * 0.75
        self.rota.take(claim, lease_until=lease_until, now=self.clock.now(), now_loop=now_loop)
        if claim.new:
            # The next pass correlates: an outage may be waiting for one of these probes.
            self._marker = None

    def _claim(self, session: Session, known: dict[str, str]) -> tuple[Claim, float]:
        """Renew and claim leases; (the claim, the loop's time when the renewal took effect)."""
        see_worker(session, worker_id=self.id, now=self.clock.now(), started_at=self.started_at)
        # Written first: on SQLite this waits for the write lock, and the times read after it
        # are when the renewal really happens. Read before, they would be older by the wait:
        # the worker would be seen earlier than it was, and keep leases others think lapsed.
        session.flush()
        renewed_at = time.monotonic()  # the clock of asyncio's loop.time()
        now = self.clock.now()
        see_worker(session, worker_id=self.id, now=now, started_at=self.started_at)
        self._load_plan(session, now)
        claim = claim_probes(
            session, worker_id=self.id, now=now, lease=timedelta(seconds=self.options.lease_s), known=known
        )
        return claim, renewed_at

    def _load_plan(self, session: Session, now: datetime) -> None:
        latest = session.scalar(select(func.max(PlanVersionRow.id)))
        if latest is None or (self._plan is not None and self._plan[0] == latest):
            return
        found = plan_of_version(session, latest)
        if found is None:
            return
        plan = found[1]
        sync_probes(session, plan=plan, now=now)
        self._plan = (latest, plan, Correlator.from_plan(plan))

    def _release(self, session: Session) -> None:
        release_probes(session, worker_id=self.id)

    # ---- checks ---------------------------------------------------------------------

    async def _schedule(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            for held in self.rota.due(loop.time(), database_ok=self.database_ok):
                task = asyncio.create_task(self._check(held))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            await asyncio.sleep(self.rota.wait_s(loop.time()))

    async def _check(self, held: HeldProbe) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        at: datetime | None = None
        lapsed = False
        try:
            async with self._semaphore:
                if not self.rota.holds(held):
                    return
                if self.rota.lapsed(held, loop.time(), database_ok=self.database_ok):
                    lapsed = True  # the lease ran out while it waited its turn (see CheckRota.due)
                    return
                at = self.clock.now()
                held.last_at = at
                began = loop.time()
                evidence_at: datetime | None = None
                if held.pushed:
                    found = await self._pushed(held, at)
                    result, evidence_at = found if found is not None else (None, None)
                else:
                    result = await self.checker.check(held.probe, now=at)
            if result is not None:
                self._record(held, result, at, evidence_at)
                if self.observer is not None:
                    # Late: from when it was due to when its turn came (a busy loop, the limit).
                    self.observer.checked(
                        protocol=str(getattr(held.probe, "type", "unknown")),
                        ok=result.ok,
                        duration_s=loop.time() - began,
                        lag_s=max(0.0, began - held.due),
                    )
        finally:
            self.rota.checked(held, started=started, at=at, lapsed=lapsed, now_loop=loop.time())

    def _record(
        self, held: HeldProbe, result: CheckResult, at: datetime, evidence_at: datetime | None
    ) -> None:
        if held.pushed:
            health = after_reading(held.health, result.ok, at=at, evidence_at=evidence_at)
        else:
            health = after_check(
                held.health,
                result.ok,
                at=at,
                failures_to_down=held.probe.failures_to_down,
                successes_to_up=held.probe.successes_to_up,
            )
        changed = health.state != held.health.state
        held.health = health
        self.stats.checks += 1
        self.buffer.append(
            CheckRecord(
                component_id=held.lease.component_id,
                settings_sha=held.lease.settings_sha,
                checked_at=at,
                ok=result.ok,
                detail=result.detail,
                rtt_ms=result.rtt_ms,
                warning=result.warning,
                health=health,
                changed=changed,
            )
        )
        if self.rota.answered(held, at):
            # An outage waits for this result: write it and correlate at once.
            self._urgent.set()
        if changed:
            log.info("%s: probe %s (%s)", held.lease.component_id, health.state, result.detail)
            self._urgent.set()
        elif not result.ok and health.failures == 1 and health.state != "down":
            self._check_upstream_now(held.lease.component_id)
        if len(self.buffer) > self.options.buffer_limit:
            self.buffer = compact(self.buffer)

    def _check_upstream_now(self, component_id: str) -> None:
        """Check what a newly failing component depends on at once, if this worker holds it.

        The outage waits for their verdict (see `detect.outages`): the sooner they are
        checked, the sooner it opens with the right cause.
        """
        if self._plan is None:
            return
        self.rota.first_check_now(self._plan[2].upstream(component_id), asyncio.get_running_loop().time())

    async def _pushed(self, held: HeldProbe, at: datetime) -> tuple[CheckResult, datetime | None] | None:
        """A pushed probe's result and when what it shows began; None when it says nothing yet."""
        read = functools.partial(
            pushed_result,
            probe=held.probe,
            component_id=held.lease.component_id,
            # On record, so neither a takeover nor a restart starts the grace period again.
            watched_since=held.lease.watched_since or held.claimed_at,
            at=at,
        )
        ok, result = await self._in_thread(read)
        return result if ok else None

    # ---- writing (correlating is `CorrelationLoop`'s) ------------------------------------

    async def _flush_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._urgent.wait(), self.options.flush_every_s)
            urgent = self._urgent.is_set()
            self._urgent.clear()
            try:
                changes = await self._flush()
                if urgent or changes:
                    self._ask_correlation()
            except Exception:
                log.exception("worker %s: writing results failed", self.id)
                await asyncio.sleep(self.options.flush_every_s)

    async def _flush(self) -> int:
        if not self.buffer:
            return 0
        batch, self.buffer = self.buffer, []
        ok, changes = await self._in_thread(lambda s: _record_batch(s, self.id, batch))
        if not ok:
            self.buffer = batch + self.buffer  # keep order: health changes are replayed in turn
            return 0
        self.stats.flushes += 1
        return int(changes)

    async def _prune(self) -> None:
        before = self.clock.now() - self.options.retention
        await self._in_thread(lambda s: prune(s, before=before))


def _record_batch(session: Session, worker_id: str, batch: list[CheckRecord]) -> int:
    return record_checks(session, worker_id=worker_id, records=batch)


def compact(records: list[CheckRecord]) -> list[CheckRecord]:
    """Shrink a buffer that grew while the database was away.

    Keeps every health change and the latest result of each probe, in order: the
    history loses routine results, never a change of state.
    """
    last_state: dict[str, str] = {}
    latest_index: dict[str, int] = {}
    for i, record in enumerate(records):
        latest_index[record.component_id] = i
    kept: list[CheckRecord] = []
    for i, record in enumerate(records):
        previous = last_state.get(record.component_id)
        if previous != record.health.state or latest_index[record.component_id] == i:
            kept.append(record)
        last_state[record.component_id] = record.health.state
    return kept
