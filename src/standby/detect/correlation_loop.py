"""The detection worker's correlation loop: when it correlates, and what runs after.

A part of `DetectWorker` (`detect.worker`), which holds the probes and runs the checks;
this holds when their results are correlated into outages (`detect.outages`):

- at once when a result written changed a health or answered an outage that waits for
  it, in a task of its own so that the results written next never wait for it; one at a
  time, and once more after when asked again meanwhile;
- at once when an alert came, changed or cleared (`alerts_every_s`);
- every `correlate_every_s`, when something this worker did not see changed (another
  worker's probes, maintenance, exercises, the plan), and in full every
  `full_correlation_every_s` anyway.

A pass first looks without the detection lock (most change nothing) and writes under it
only when something changes. After each pass the response (`after_correlation`) runs,
each step in a transaction of its own.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from standby.clock import Clock
from standby.detect.check_rota import CheckRota
from standby.detect.correlation import Correlator
from standby.detect.outage_look import look
from standby.detect.outages import CorrelationResult, correlate
from standby.exercise.records import exercises_marker
from standby.plan.schema import Plan
from standby.store.tables import AlertRow, ComponentStateRow

log = logging.getLogger("standby.worker")

MaintenanceLookup = Callable[[Session, Plan, datetime], frozenset[str]]
AfterCorrelation = Callable[[Session, Plan, int, datetime, str], object]
"""Work to do after each correlation, in a transaction of its own (the response)."""


def no_maintenance(_session: Session, _plan: Plan, _now: datetime) -> frozenset[str]:
    """A maintenance lookup that finds none."""
    return frozenset()


# Alerts are never deleted: a new one raises the largest id, a change its update time.
# Both are read from indexes, unlike a count, which scans the table on PostgreSQL.
ALERTS_MARKER = select(func.max(AlertRow.id), func.max(AlertRow.updated_at))


class CorrelationPace(Protocol):
    """How often a full correlation runs anyway (the worker's options)."""

    @property
    def full_correlation_every_s(self) -> float:
        """Seconds between full passes."""
        ...


class CorrelationStats(Protocol):
    """What the loop counts in the worker's statistics."""

    correlations: int
    locked_correlations: int
    last_correlation: CorrelationResult | None
    opened: list[int]


class CorrelationLoop:
    """The correlation half of `DetectWorker`, which provides the state declared here."""

    id: str
    clock: Clock
    options: CorrelationPace
    maintenance: MaintenanceLookup
    after_correlation: AfterCorrelation | tuple[AfterCorrelation, ...] | None
    rota: CheckRota
    stats: CorrelationStats
    _plan: tuple[int, Plan, Correlator] | None
    _urgent: asyncio.Event
    _marker: object
    _last_full: float
    _alerts_seen: tuple[Any, ...] | None
    _tasks: set[asyncio.Task[None]]
    _correlating: asyncio.Task[None] | None
    _correlate_again: bool
    _in_thread: Callable[[Callable[[Session], Any]], Awaitable[tuple[bool, Any]]]

    def _ask_correlation(self) -> None:
        """Correlate what was just written, in a task of its own: the results written next
        never wait for a correlation. One at a time; asked again meanwhile, once more after."""
        if self._correlating is not None and not self._correlating.done():
            self._correlate_again = True
            return
        self._correlating = asyncio.create_task(self._correlate_while_asked())
        self._tasks.add(self._correlating)
        self._correlating.add_done_callback(self._tasks.discard)

    async def _correlate_while_asked(self) -> None:
        while True:
            self._correlate_again = False
            try:
                await self._correlate()
            except Exception:
                log.exception("worker %s: correlating failed", self.id)
            if not self._correlate_again:
                return

    async def _watch_alerts(self) -> None:
        """Correlate at once when an alert came, changed or cleared: its outage must not wait
        for the periodic pass (the correlation then has the probes it waits for checked)."""

        def read(session: Session) -> tuple[Any, ...]:
            return tuple(session.execute(ALERTS_MARKER).one())

        ok, marker = await self._in_thread(read)
        if not ok or marker == self._alerts_seen:
            return
        if self._alerts_seen is not None:
            self._urgent.set()
        self._alerts_seen = marker

    async def _look_around(self) -> None:
        """The periodic pass: correlate when something this worker did not see changed."""
        if self._correlating is not None and not self._correlating.done():
            return  # one asked by the results runs now, and reads what this pass would
        await self._correlate(only_if_changed=True)

    async def _correlate(self, *, only_if_changed: bool = False) -> None:
        if self._plan is None:
            return
        version, plan, correlator = self._plan
        now = self.clock.now()
        loop_now = asyncio.get_running_loop().time()
        # A full pass anyway now and then: another worker's probes change states too.
        due_anyway = loop_now - self._last_full >= self.options.full_correlation_every_s

        def work(session: Session) -> CorrelationResult | tuple[frozenset[str], Any] | None:
            covered = self.maintenance(session, plan, now)
            alerts = session.execute(ALERTS_MARKER).one()
            # Another worker's correlation changed a state (a dependent went down): this
            # one may hold the probes the new outage waits for.
            states = session.scalar(select(func.max(ComponentStateRow.updated_at)))
            marker = (version, covered, tuple(alerts), states, exercises_marker(session))
            if only_if_changed and not due_anyway and marker == self._marker:
                return None
            # Reads only, no lock: most passes change nothing, and a pass that held the write
            # lock for the seconds a loaded machine gives it made every writer wait.
            result = look(session, correlator=correlator, maintenance=covered, now=now)
            if result is None:
                return covered, marker  # something changes: again under the lock
            self._marker = marker
            return result

        def write(covered: frozenset[str], marker: Any, session: Session) -> CorrelationResult:
            self.stats.locked_correlations += 1
            result = correlate(
                session,
                correlator=correlator,
                maintenance=covered,
                now=self.clock.now(),  # what it opens is detected now, not when the look began
                holder=self.id,
                plan_version_id=version,
            )
            self._marker = marker
            return result

        ok, result = await self._in_thread(work)
        if ok and isinstance(result, tuple):
            ok, result = await self._in_thread(functools.partial(write, *result))
        if ok and result is not None:
            self._last_full = loop_now
            self.stats.correlations += 1
            self.stats.last_correlation = result
            self.stats.opened.extend(result.opened)
            for outage_id in result.opened:
                log.warning("outage %s opened", outage_id)
            if result.waiting_on:
                self.rota.wake(result.waiting_on, asyncio.get_running_loop().time())
        if ok and self.after_correlation is not None:
            steps = (
                self.after_correlation
                if isinstance(self.after_correlation, tuple)
                else (self.after_correlation,)
            )
            # Committed correlation first: the response reads the outages it wrote. It runs
            # on every pass, changed or not: escalation and reminders run on time. Each step
            # commits on its own, so a long one does not hold the response lock. Each reads
            # the time as it starts: what it records happens then, not when the pass began
            # (an incident resolved meanwhile is older than its all-clear).
            for step in steps:
                done, _ = await self._in_thread(
                    functools.partial(_after, step, plan, version, self.clock, self.id)
                )
                if not done:
                    break


def _after(
    step: AfterCorrelation, plan: Plan, version: int, clock: Clock, holder: str, session: Session
) -> object:
    return step(session, plan, version, clock.now(), holder)
