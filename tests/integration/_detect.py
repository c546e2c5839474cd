"""Shared pieces of the detection tests: a fast plan, a scripted checker, a worker runner."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from standby.clock import SystemClock
from standby.detect.probes.result import CheckResult, NetworkProbe
from standby.detect.worker import DetectWorker, WorkerOptions
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.schema import Plan
from standby.plan.versions import record_plan
from standby.store.engine import unit_of_work

FAST = WorkerOptions(
    concurrency=32,
    lease_s=1.0,
    claim_every_s=0.2,
    correlate_every_s=0.2,
    flush_every_s=0.05,
    retry_s=0.05,
    pushed_every_s=0.1,
    full_correlation_every_s=0.5,
)


def fast_plan_text(interval_s: float = 0.1) -> str:
    """The reference plan with every probe checked every `interval_s` seconds."""
    text = re.sub(r"interval_s: \d+", f"interval_s: {interval_s}", reference_plan_text())
    return re.sub(r"timeout_s: \d+", "timeout_s: 0.5", text)


def store_plan(factory: sessionmaker[Session], text: str) -> Plan:
    """Record `text` as the plan in force."""
    plan = load_plan_text(text)
    with unit_of_work(factory) as session:
        record_plan(session, plan=plan, source=text, now=SystemClock().now(), loaded_by="test")
    return plan


class ScriptedChecker:
    """Answers each target as the test says: healthy unless listed in `failing`."""

    def __init__(self) -> None:
        self.failing: set[str] = set()
        self.calls: dict[str, int] = {}

    async def check(self, probe: NetworkProbe, *, now: datetime) -> CheckResult:
        target = str(probe.target)
        self.calls[target] = self.calls.get(target, 0) + 1
        await asyncio.sleep(0)
        if target in self.failing:
            return CheckResult(False, "connection refused", None)
        return CheckResult(True, "ok", 1.0)


@asynccontextmanager
async def running(worker: DetectWorker) -> AsyncIterator[asyncio.Event]:
    """Run the worker in the background; stop it cleanly at the end."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def eventually(condition: Callable[[], object], *, within: float = 10.0, step: float = 0.05) -> object:
    """Poll `condition` until it is truthy; fail after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = condition()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"not true within {within} s: {condition}")
        await asyncio.sleep(step)
