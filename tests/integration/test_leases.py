"""Probe leases on SQLite and PostgreSQL: a dead worker's probes are free one lease after it
was last seen, a live worker's never, and renewing does not rewrite every probe each time."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from _detect import fast_plan_text
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from standby.detect.leases import claim_probes, see_worker, sync_probes
from standby.plan.loading import load_plan_text
from standby.store.engine import unit_of_work
from standby.store.tables import ProbeRow

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=6)


def claim(factory: sessionmaker[Session], worker: str, at: datetime) -> set[str]:
    with unit_of_work(factory) as session:
        see_worker(session, worker_id=worker, now=at, started_at=T0)
        return set(claim_probes(session, worker_id=worker, now=at, lease=LEASE).held)


def expiries(factory: sessionmaker[Session]) -> dict[str, datetime | None]:
    with unit_of_work(factory) as session:
        return {c: at for c, at in session.execute(select(ProbeRow.component_id, ProbeRow.lease_expires_at))}


def test_a_dead_workers_probes_are_free_one_lease_after_it_was_last_seen(session_factory):
    with unit_of_work(session_factory) as session:
        sync_probes(session, plan=load_plan_text(fast_plan_text()), now=T0)
    first = claim(session_factory, "a:1:x", T0)
    assert len(first) == 9
    # A second worker, while the first lives: it gets nothing of the first's (until shares
    # are given back, which the first does at its own next claim).
    assert claim(session_factory, "b:2:y", T0 + timedelta(seconds=1)) == set()
    renewed = expiries(session_factory)
    # The first claims again 2.5 s later: it gives back what it holds beyond its share, and
    # the leases of the probes it keeps, far from running out, are not rewritten.
    later = claim(session_factory, "a:1:x", T0 + timedelta(seconds=2.5))
    assert later and later < first
    now = expiries(session_factory)
    assert {c: now[c] for c in later} == {c: renewed[c] for c in later}
    # The first is killed right after: not seen for a lease (6 s), its probes are free, long
    # before their own leases run out.
    assert claim(session_factory, "b:2:y", T0 + timedelta(seconds=8)) == set(renewed) - later
    taken = claim(session_factory, "b:2:y", T0 + timedelta(seconds=8.6))
    assert taken == set(renewed)
    assert all(at is not None and at > T0 + timedelta(seconds=9) for at in expiries(session_factory).values())


def test_a_probe_whose_results_are_being_written_is_still_held(session_factory):
    """A claim while a batch of this worker's results is being written keeps every probe.

    The batch locks the rows it updates (PostgreSQL); the claim used to skip locked rows
    among its own, so the worker dropped, until its next claim, every probe whose result
    was being written.
    """
    with unit_of_work(session_factory) as session:
        sync_probes(session, plan=load_plan_text(fast_plan_text()), now=T0)
    held = claim(session_factory, "a:1:x", T0)
    writing = sorted(held)[:3]
    with unit_of_work(session_factory) as batch:
        # As `record_checks` does: the rows stay locked until the batch commits.
        batch.execute(update(ProbeRow).where(ProbeRow.component_id.in_(writing)).values(last_checked_at=T0))
        with ThreadPoolExecutor(1) as lane:
            later = lane.submit(claim, session_factory, "a:1:x", T0 + timedelta(seconds=1.5))
            time.sleep(0.5)  # the claim runs meanwhile (and waits for the rows, or for SQLite's lock)
            batch.commit()
            assert later.result(timeout=20) == held
