"""A slow correlation must not stall the worker: its leases are renewed and its checks go on.

Under load a correlation of 5,000 components took 4 to 9 s of wall time; it used to hold
SQLite's write lock all along, so the worker's lease renewals waited behind it, its own
leases ran out and it stopped checking. Here a correlation is slowed on purpose (its
computing part sleeps, as a starved thread would) and the worker is watched meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from _detect import FAST, ScriptedChecker, eventually, fast_plan_text, running, store_plan
from sqlalchemy.orm import Session, sessionmaker

from standby.clock import SystemClock
from standby.detect import evidence
from standby.detect.history import list_outages
from standby.detect.worker import DetectWorker
from standby.exercise.records import Injection
from standby.store.engine import unit_of_work

pytestmark = pytest.mark.anyio

SLOW_S = 5.0
# Leases of 3 s (2.25 s kept by the worker), renewed every 0.5 s: room for a loaded machine,
# and still far shorter than a slowed correlation.
OPTIONS = replace(FAST, lease_s=3.0, claim_every_s=0.5)
SBC = "127.0.0.1:5061"


class SlowCorrelation:
    """Makes every correlation's computing part take SLOW_S more seconds while `on`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.on = False
        self.slowed: list[tuple[float, float]] = []
        original = evidence.injections

        def read_injections(session: Session, now: datetime) -> list[Injection]:
            # Read once by every correlation, between reading the probes and deciding.
            if self.on:
                began = time.monotonic()
                time.sleep(SLOW_S)  # a thread that gets no CPU: the GIL is free, the time passes
                self.slowed.append((began, time.monotonic()))
            return original(session, now)

        monkeypatch.setattr(evidence, "injections", read_injections)


def _claims_timed(worker: DetectWorker) -> list[float]:
    """Record when each of the worker's lease renewals returns."""
    done: list[float] = []
    claim = worker._claim

    def timed(session: Session, known: dict[str, str]) -> Any:
        result = claim(session, known)
        done.append(time.monotonic())
        return result

    worker._claim = timed  # type: ignore[method-assign]
    return done


def slow_worker(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> tuple[DetectWorker, ScriptedChecker, SlowCorrelation]:
    """A worker over the fast plan, its scripted checker, and the switch that slows its correlations."""
    store_plan(factory, fast_plan_text())
    checker = ScriptedChecker()
    slow = SlowCorrelation(monkeypatch)
    worker = DetectWorker(session_factory=factory, clock=SystemClock(), checker=checker, options=OPTIONS)
    return worker, checker, slow


def _longest_gap(times: list[float], start: float, end: float) -> float:
    inside = [start, *(t for t in times if start <= t <= end), end]
    return max(b - a for a, b in itertools.pairwise(inside))


async def test_leases_are_renewed_and_checks_go_on_during_a_slow_correlation(session_factory, monkeypatch):
    worker, _checker, slow = slow_worker(session_factory, monkeypatch)
    claims = _claims_timed(worker)
    checks: list[float] = []
    async with running(worker):
        await eventually(lambda: worker.stats.correlations >= 2 and worker.stats.checks > 20)
        slow.on = True
        start = time.monotonic()
        seen = worker.stats.checks
        locked = worker.stats.locked_correlations
        while time.monotonic() - start < 2 * SLOW_S:
            await asyncio.sleep(0.05)
            if worker.stats.checks > seen:
                seen = worker.stats.checks
                checks.append(time.monotonic())
        end = time.monotonic()
        slow.on = False
        # Nothing changed meanwhile: every pass ended with its look, none took the lock.
        assert worker.stats.locked_correlations == locked
        assert worker.stats.correlations > 0
    # At least one correlation was slowed through most of the window watched.
    assert slow.slowed and any(b - a >= SLOW_S for a, b in slow.slowed)
    # The leases were renewed all along, and the probes (every 0.1 s) checked all along:
    # never a gap as long as the lease the worker keeps.
    assert _longest_gap(claims, start, end) < OPTIONS.lease_s * 0.75
    assert _longest_gap(checks, start, end) < OPTIONS.lease_s * 0.75


async def test_an_outage_still_opens_while_correlations_are_slow(session_factory, monkeypatch):
    worker, checker, slow = slow_worker(session_factory, monkeypatch)
    async with running(worker):
        await eventually(lambda: worker.stats.correlations >= 2)
        slow.on = True
        checker.failing.add(SBC)

        def opened() -> list[Any]:
            with unit_of_work(session_factory) as session:
                return list_outages(session, open_only=True)

        (outage,) = await eventually(opened, within=40)
        assert outage.causes == ("sbc",)
        slow.on = False
