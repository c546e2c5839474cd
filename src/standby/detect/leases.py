"""The probes on record, who checks which (leases), and what their checks found.

Several workers share the probes through the `probes` and `workers` tables alone: a
worker claims free rows with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite has one
writer anyway) and says it is alive every claim (`workers.seen_at`). A probe is free
when nobody holds it, when its holder was not seen for a lease, or when its own lease
ran out; so a dead worker's probes are taken over one lease after it was last seen,
while the probes' own leases, longer, are renewed only now and then (one row written
per claim, not one per probe). Each worker takes about its fair share (the probes
divided by the workers seen lately) and gives back what it holds beyond.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from standby.detect.health import ProbeHealth
from standby.plan.schema import Plan
from standby.store.tables import CheckResultRow, DetectLockRow, MetricSampleRow, ProbeRow, WorkerRow


def new_worker_id() -> str:
    """A worker id that says where it runs: host, process and a random part."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def probe_settings(plan: Plan) -> dict[str, dict[str, Any]]:
    """Every component's probe settings as JSON, by component id."""
    return {
        c.id: c.probe.model_dump(mode="json", by_alias=True) for c in plan.components if c.probe is not None
    }


def _sha(settings: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def sync_probes(session: Session, *, plan: Plan, now: datetime) -> int:
    """Make the probes on record match the plan; returns how many rows changed.

    A probe whose settings changed starts again from `unknown`: its old run of results
    was about another target. Probes gone from the plan are disabled, not deleted, so
    their history stays readable.
    """
    _lock(session, "sync", now)
    wanted = probe_settings(plan)
    rows = {r.component_id: r for r in session.scalars(select(ProbeRow))}
    changed = 0
    for component_id, settings in wanted.items():
        sha = _sha(settings)
        row = rows.get(component_id)
        if row is None:
            session.add(
                ProbeRow(
                    component_id=component_id,
                    kind=settings["type"],
                    settings=settings,
                    settings_sha=sha,
                    enabled=True,
                    health="unknown",
                    failures=0,
                    successes=0,
                    watched_since=now,
                )
            )
            changed += 1
        elif row.settings_sha != sha or not row.enabled:
            row.kind, row.settings, row.settings_sha, row.enabled = settings["type"], settings, sha, True
            row.health, row.health_since, row.failures, row.successes = "unknown", None, 0, 0
            row.warning, row.run_started_at, row.watched_since = None, None, now
            changed += 1
        elif row.watched_since is None:
            row.watched_since = now  # on record from before watching times were kept
            changed += 1
    for component_id, row in rows.items():
        if component_id not in wanted and row.enabled:
            row.enabled, row.owner, row.lease_expires_at = False, None, None
            changed += 1
    return changed


PROBE_LEASES = 4
"""A probe's own lease, in worker leases (see `claim_probes`)."""

DETECTION_LOCK = 1
RESPONSE_LOCK = 2


def lock_detection(session: Session, holder: str, now: datetime, *, row: int = DETECTION_LOCK) -> None:
    """Take one of the serialising locks for the rest of the transaction.

    The first statement is a write: it takes the row lock (PostgreSQL) or the write
    lock (SQLite) at once, so two workers cannot interleave their reads and writes.
    Row 1 serialises outage decisions, row 2 the response (incidents, paging, messages).
    """
    session.execute(update(DetectLockRow).where(DetectLockRow.id == row).values(holder=holder, at=now))


_lock = lock_detection


@dataclass(frozen=True)
class Lease:
    """A probe this worker holds: its settings and the health it had on record."""

    component_id: str
    settings: dict[str, Any]
    settings_sha: str
    health: ProbeHealth
    last_checked_at: datetime | None = None
    """When it was last checked, by whichever worker: a probe taken over is checked when due."""
    watched_since: datetime | None = None
    """When watching its settings began (a heartbeat's grace period runs from here)."""


def see_worker(session: Session, *, worker_id: str, now: datetime, started_at: datetime) -> None:
    """Record that this worker is alive (the fair share counts the workers seen lately)."""
    row = session.get(WorkerRow, worker_id)
    if row is None:
        host, _, rest = worker_id.partition(":")
        pid = int(rest.partition(":")[0]) if rest.partition(":")[0].isdigit() else 0
        session.add(WorkerRow(id=worker_id, host=host, pid=pid, started_at=started_at, seen_at=now))
    else:
        row.seen_at = now


@dataclass(frozen=True)
class Claim:
    """What a worker holds after a claim: every probe with its settings' digest, details of the new."""

    held: dict[str, str]
    """Every probe the worker holds now: component id to settings digest."""
    new: list[Lease]
    """The probes it did not know, or whose settings changed, with their settings and health."""
    released: list[str]
    """Probes given back, beyond its fair share."""


def _chunks(ids: Sequence[str], size: int = 900) -> Iterator[Sequence[str]]:
    # SQLite limits the parameters of one statement; PostgreSQL is happier with short IN lists.
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def claim_probes(
    session: Session,
    *,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    known: Mapping[str, str] | None = None,
    release_grace: timedelta = timedelta(seconds=2),
) -> Claim:
    """Renew this worker's leases and claim its share of free ones.

    `known` is what the worker already holds (id to settings digest): only the others
    are read whole, so renewing 5,000 leases costs a few statements, not 5,000 objects.
    A lease another worker took meanwhile is not renewed: it is not in `held`, and the
    worker drops it.
    """
    known = known or {}
    # A probe's own lease outlives its holder's liveness by far: it only frees the probes of
    # a holder whose row is gone. Renewed when half of it is left.
    until = now + lease * PROBE_LEASES
    renew_before = now + lease * (PROBE_LEASES / 2)
    live_since = now - lease
    live = select(WorkerRow.id).where(WorkerRow.seen_at >= live_since)
    alive = select(func.count()).select_from(WorkerRow).where(WorkerRow.seen_at >= live_since)
    workers = session.scalar(alive)
    total = session.scalar(select(func.count()).select_from(ProbeRow).where(ProbeRow.enabled)) or 0
    share = math.ceil(total / max(workers or 1, 1))
    mine = session.execute(
        select(ProbeRow.component_id, ProbeRow.settings_sha)
        .where(ProbeRow.owner == worker_id, ProbeRow.enabled)
        .order_by(ProbeRow.component_id)
        # Waits for a batch of this worker's results that is being written (a short wait:
        # both lock in component order). Skipping those rows dropped their probes.
        .with_for_update()
    ).all()
    released: list[str] = []
    if len(mine) > share + 1:
        # Give back the surplus so that a worker that just started gets its share. Free,
        # but not at once: a check this worker started a moment ago may still be running,
        # and a probe must never be checked by two workers at the same time.
        released = [component_id for component_id, _ in mine[share:]]
        for ids in _chunks(released):
            session.execute(
                update(ProbeRow)
                .where(ProbeRow.component_id.in_(ids))
                .values(owner=None, lease_expires_at=now + release_grace)
            )
        mine = mine[:share]
    held = {component_id: sha for component_id, sha in mine}
    # One statement by owner rather than the ids in lists: the same rows (the surplus was given
    # back above), and a claim every 1.5 s no longer binds 5,000 ids (two thirds of its CPU).
    session.execute(
        update(ProbeRow)
        .where(
            ProbeRow.owner == worker_id,
            ProbeRow.enabled,
            or_(ProbeRow.lease_expires_at.is_(None), ProbeRow.lease_expires_at < renew_before),
        )
        .values(lease_expires_at=until)
    )
    wanted = share - len(held)
    if wanted > 0:
        free = session.execute(
            select(ProbeRow.component_id, ProbeRow.settings_sha)
            .where(
                ProbeRow.enabled,
                or_(
                    ProbeRow.lease_expires_at.is_(None),
                    ProbeRow.lease_expires_at < now,
                    # Its holder is dead: not seen for a lease.
                    and_(ProbeRow.owner.is_not(None), ProbeRow.owner.not_in(live)),
                ),
            )
            .order_by(ProbeRow.lease_expires_at.is_not(None), ProbeRow.component_id)
            .limit(wanted)
            .with_for_update(skip_locked=True)
        ).all()
        taken = [component_id for component_id, _ in free]
        for ids in _chunks(taken):
            session.execute(
                update(ProbeRow)
                .where(ProbeRow.component_id.in_(ids))
                .values(owner=worker_id, lease_expires_at=until)
            )
        held.update({component_id: sha for component_id, sha in free})
    unknown = [component_id for component_id, sha in held.items() if known.get(component_id) != sha]
    new: list[Lease] = []
    for ids in _chunks(unknown):
        for row in session.execute(
            select(
                ProbeRow.component_id,
                ProbeRow.settings,
                ProbeRow.settings_sha,
                ProbeRow.health,
                ProbeRow.failures,
                ProbeRow.successes,
                ProbeRow.health_since,
                ProbeRow.run_started_at,
                ProbeRow.last_checked_at,
                ProbeRow.watched_since,
            ).where(ProbeRow.component_id.in_(ids))
        ):
            health = ProbeHealth(
                row.health, row.failures, row.successes, row.health_since, row.run_started_at
            )
            new.append(
                Lease(
                    row.component_id,
                    dict(row.settings),
                    row.settings_sha,
                    health,
                    last_checked_at=row.last_checked_at,
                    watched_since=row.watched_since,
                )
            )
    return Claim(held=held, new=new, released=released)


def release_probes(session: Session, *, worker_id: str) -> None:
    """Give back every lease of this worker (a clean shutdown), so others take over at once."""
    session.execute(
        update(ProbeRow).where(ProbeRow.owner == worker_id).values(owner=None, lease_expires_at=None)
    )
    session.execute(delete(WorkerRow).where(WorkerRow.id == worker_id))


@dataclass(frozen=True)
class CheckRecord:
    """One check's result and the probe health after it, as the worker saw it."""

    component_id: str
    settings_sha: str
    checked_at: datetime
    ok: bool
    detail: str
    rtt_ms: float | None
    warning: str | None
    health: ProbeHealth
    changed: bool = False
    """Whether this result changed the probe's state."""


_HEALTH_COLUMNS = (
    "health",
    "health_since",
    "run_started_at",
    "failures",
    "successes",
    "last_checked_at",
    "last_ok",
    "last_detail",
    "last_rtt_ms",
    "warning",
)


def record_checks(session: Session, *, worker_id: str, records: Sequence[CheckRecord]) -> int:
    """Store check results and the probes' health after them; returns health changes stored.

    Results are history and always kept. The health is written only where this worker
    still holds the lease and the settings are the ones it checked: a worker that was
    cut off from the database must not overwrite what its successor found since.
    """
    if not records:
        return 0
    session.execute(
        insert(CheckResultRow),
        [
            {
                "component_id": r.component_id,
                "checked_at": r.checked_at,
                "ok": r.ok,
                "detail": r.detail[:2000],
                "rtt_ms": r.rtt_ms,
                "worker": worker_id,
            }
            for r in records
        ],
    )
    latest: dict[str, CheckRecord] = {}
    for r in records:
        if r.component_id not in latest or latest[r.component_id].checked_at <= r.checked_at:
            latest[r.component_id] = r
    # One executemany, its conditions in the WHERE clause: reading the rows first would
    # cost a query and thousands of objects per batch.
    table = cast(Table, ProbeRow.__table__)
    statement = (
        update(table)
        .where(
            table.c.component_id == bindparam("b_id"),
            table.c.settings_sha == bindparam("b_sha"),
            or_(table.c.owner == bindparam("b_owner"), table.c.owner.is_(None)),
        )
        .values({name: bindparam(f"b_{name}") for name in _HEALTH_COLUMNS})
    )
    session.execute(
        statement,
        [
            {
                "b_id": component_id,
                "b_sha": r.settings_sha,
                "b_owner": worker_id,
                "b_health": r.health.state,
                "b_health_since": r.health.since,
                "b_run_started_at": r.health.run_since,
                "b_failures": r.health.failures,
                "b_successes": r.health.successes,
                "b_last_checked_at": r.checked_at,
                "b_last_ok": r.ok,
                "b_last_detail": r.detail[:2000],
                "b_last_rtt_ms": r.rtt_ms,
                "b_warning": r.warning,
            }
            # In component order, as a claim locks them: the two never deadlock.
            for component_id, r in sorted(latest.items())
        ],
    )
    # Records made without saying so count as a change when their check began the state.
    changes = sum(1 for r in records if r.changed or r.health.since == r.checked_at)
    return changes


def prune(session: Session, *, before: datetime) -> int:
    """Delete check results and metric values older than `before`; returns how many went."""
    gone = 0
    for statement in (
        delete(CheckResultRow).where(CheckResultRow.checked_at < before),
        delete(MetricSampleRow).where(MetricSampleRow.received_at < before),
    ):
        gone += int(getattr(session.execute(statement), "rowcount", 0) or 0)
    return gone
