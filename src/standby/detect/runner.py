"""Running the detection worker for real: the network checker, maintenance, settings.

`standby serve` runs `run_worker` beside the web app; `standby worker` runs it alone.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from standby.clock import Clock
from standby.config import Settings
from standby.detect.correlation_loop import AfterCorrelation
from standby.detect.observer import CheckObserver
from standby.detect.probes.checker import ProbeChecker
from standby.detect.worker import DetectWorker, WorkerOptions
from standby.errors import ConfigError
from standby.notify.runner import run_sender
from standby.notify.sender import SenderOptions
from standby.plan.schema import Plan
from standby.plan.topology import Topology
from standby.respond.deliveries import record_delivery


def maintenance_now(session: Session, plan: Plan, now: datetime) -> frozenset[str]:
    """Components covered by a maintenance window (the plan's or the API's) at `now`."""
    from standby.detect.maintenance import covered_components
    from standby.detect.maintenance_service import windows_in_force

    windows = windows_in_force(session, plan=plan)
    return covered_components(windows, now, [c.id for c in plan.components])


def responder_for(settings: Settings) -> tuple[AfterCorrelation, ...]:
    """The response run after each correlation: incidents, paging, messages; then compensation,
    in a transaction of its own (a large outage's first pass takes seconds, and its offers
    are idempotent without the response lock)."""
    from standby.customers.compensation_service import apply_rules
    from standby.exercise.reviews_service import remind_reviews
    from standby.respond.responder import ResponseSettings, respond_once

    if not settings.secret_key:
        raise ConfigError("the worker needs STANDBY_SECRET_KEY to sign acknowledgement links")
    response = ResponseSettings(secret=settings.secret_key, base_url=settings.base_url, config=settings)
    topologies: dict[int, Topology] = {}

    def respond(session: Session, plan: Plan, version: int, now: datetime, holder: str) -> object:
        if version not in topologies:
            topologies.clear()
            topologies[version] = Topology.from_plan(plan)
        return respond_once(
            session,
            plan=plan,
            now=now,
            settings=response,
            holder=holder,
            plan_version_id=version,
            topology=topologies[version],
        )

    def compensate(session: Session, plan: Plan, version: int, now: datetime, holder: str) -> object:
        return apply_rules(session, plan=plan, now=now)

    def remind(session: Session, plan: Plan, version: int, now: datetime, holder: str) -> object:
        # Reviews falling due: idempotent by key, so every pass of every worker may ask.
        today = now.astimezone(ZoneInfo(plan.organisation.timezone)).date()
        return remind_reviews(session, plan=plan, today=today, now=now)

    return respond, compensate, remind


def worker_options(settings: Settings) -> WorkerOptions:
    """Worker pacing from the settings."""
    return WorkerOptions(
        concurrency=settings.worker_concurrency,
        retention=timedelta(hours=settings.check_retention_hours),
        lease_s=settings.worker_lease_s,
        claim_every_s=settings.worker_lease_s / 4,
    )


async def run_worker(
    stop: asyncio.Event,
    *,
    settings: Settings,
    session_factory: sessionmaker[Session],
    clock: Clock,
    options: WorkerOptions | None = None,
    sender_options: SenderOptions | None = None,
    observer: CheckObserver | None = None,
) -> DetectWorker:
    """Run a worker with the network checker, and the outbox's sender beside it, until `stop`.

    Returns the worker (for its stats). `observer` is told of every check (the metrics).
    """
    checker = ProbeChecker()
    worker = DetectWorker(
        session_factory=session_factory,
        clock=clock,
        checker=checker,
        options=options or worker_options(settings),
        maintenance=maintenance_now,
        after_correlation=responder_for(settings),
        observer=observer,
    )
    sending = asyncio.create_task(
        run_sender(
            stop,
            settings=settings,
            session_factory=session_factory,
            clock=clock,
            on_outcome=record_delivery,
            options=sender_options,
        )
    )
    try:
        await worker.run(stop)
    finally:
        await checker.aclose()
        await asyncio.gather(sending, return_exceptions=True)
    return worker
