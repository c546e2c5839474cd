"""Two `standby worker` processes on one PostgreSQL against real TCP listeners on 127.0.0.1.

They share the probes without checking one twice, open one outage for one root failure
under thirty dependents, and when one is killed the other takes its probes over.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import yaml
from _workers import Listeners, start_worker, wait_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from standby.detect.history import list_outages
from standby.plan.loading import load_plan_text
from standby.plan.versions import record_plan
from standby.store.engine import unit_of_work
from standby.store.tables import CheckResultRow, OutageRow, ProbeRow

APPS = 30
LEASE_S = 2.0


def plan_text(ports: list[int]) -> str:
    components = [
        {
            "id": "core",
            "name": "Core platform",
            "probe": {"type": "tcp", "target": f"127.0.0.1:{ports[0]}", "interval_s": 0.3, "timeout_s": 1},
        }
    ]
    for i in range(APPS):
        components.append(
            {
                "id": f"app-{i}",
                "name": f"Application {i}",
                "depends_on": ["core"],
                "probe": {
                    "type": "tcp",
                    "target": f"127.0.0.1:{ports[i + 1]}",
                    "interval_s": 0.3,
                    "timeout_s": 1,
                },
            }
        )
    plan = {
        "organisation": {"name": "Two-worker centre", "interruption_max_minutes": 5},
        "components": components,
        "sites": [{"id": "main", "name": "Main", "seats": 10, "depends_on": ["app-0"]}],
        "queues": [
            {
                "id": "general",
                "name": "General",
                "depends_on": ["app-1"],
                "aht_s": 300,
                "service_level": {"answer_within_s": 20, "target": 0.8},
            }
        ],
        "teams": [
            {
                "id": "t",
                "site": "main",
                "queues": ["general"],
                "agents": 5,
                "shift": {"start": "00:00", "end": "24:00"},
            }
        ],
    }
    return yaml.safe_dump(plan, sort_keys=False)


@pytest.fixture
def listeners() -> Iterator[Listeners]:
    found = Listeners(APPS + 1)
    try:
        yield found
    finally:
        found.shutdown()


def owners(factory: sessionmaker[Session]) -> dict[str | None, int]:
    with unit_of_work(factory) as session:
        rows = session.execute(select(ProbeRow.owner, func.count()).group_by(ProbeRow.owner)).all()
    return {owner: count for owner, count in rows}


def open_outages(factory: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    with unit_of_work(factory) as session:
        return list_outages(session, open_only=True)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_workers_share_probes_open_one_outage_and_take_over(db_url, session_factory, listeners, tmp_path):
    text = plan_text(listeners.ports)
    with unit_of_work(session_factory) as session:
        record_plan(session, plan=load_plan_text(text), source=text, now=datetime.now(UTC), loaded_by="test")
    first = start_worker(db_url, tmp_path, "first", lease_s=LEASE_S)
    second = start_worker(db_url, tmp_path, "second", lease_s=LEASE_S)
    try:
        # Both hold a share, and every probe is held.
        shares = wait_for(
            lambda: (o := owners(session_factory)) and None not in o and len(o) == 2 and o,
            30,
            "the probes split between two workers",
        )
        assert sorted(shares.values()) in ([15, 16], [16, 15])
        wait_for(lambda: not open_outages(session_factory) and _all_up(session_factory), 20, "all up")

        # The root and everything above it die together: one outage, one cause.
        for i in range(APPS + 1):
            listeners.close(i)
        (outage,) = wait_for(lambda: open_outages(session_factory), 20, "an outage")
        time.sleep(1.5)  # both workers correlate several times meanwhile
        (still,) = open_outages(session_factory)
        assert still.id == outage.id
        assert still.causes == ("core",)
        assert len(still.components) == APPS + 1
        assert still.classification == "total"
        with unit_of_work(session_factory) as session:
            assert session.scalar(select(func.count()).select_from(OutageRow)) == 1

        for i in range(APPS + 1):
            listeners.open(i)
        wait_for(lambda: not open_outages(session_factory), 20, "the outage to end")

        # Killed without a chance to give anything back: its leases must run out.
        killed_at = time.monotonic()
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        wait_for(
            lambda: list(owners(session_factory)) == [_worker_of(second, session_factory)],
            30,
            "the second worker to hold every probe",
        )
        takeover_s = time.monotonic() - killed_at
        assert takeover_s < 30
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in (first, second):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
    assert second.returncode == 0, (tmp_path / "second.log").read_text()
    # No probe was checked by two workers at once. A probe may change hands a few times
    # (a share given back, a lease taken over), but each handover leaves a gap: the old
    # holder stops before the new one may start. Two workers checking it together would
    # interleave their checks every interval instead.
    with unit_of_work(session_factory) as session:
        rows = session.execute(
            select(CheckResultRow.component_id, CheckResultRow.worker, CheckResultRow.checked_at).order_by(
                CheckResultRow.component_id, CheckResultRow.checked_at
            )
        ).all()
    checks: dict[str, list[tuple[datetime, str]]] = {}
    for component_id, worker, checked_at in rows:
        checks.setdefault(component_id, []).append((checked_at, worker))
    for component_id, runs in checks.items():
        handovers = [(a, b) for a, b in itertools.pairwise(runs) if a[1] != b[1]]
        assert len(handovers) <= 6, f"{component_id} changed hands {len(handovers)} times"
        for (before, _), (after, _) in handovers:
            gap = (after - before).total_seconds()
            assert gap >= 0.2, f"{component_id} was checked by two workers {gap:.3f} s apart"


def _all_up(factory: sessionmaker[Session]) -> bool:
    with unit_of_work(factory) as session:
        healths = session.scalars(select(ProbeRow.health)).all()
    return len(healths) == APPS + 1 and all(h == "up" for h in healths)


def _worker_of(process: subprocess.Popen[bytes], factory: sessionmaker[Session]) -> str | None:
    with unit_of_work(factory) as session:
        for owner in session.scalars(select(ProbeRow.owner).distinct()):
            if owner is not None and owner.split(":")[1] == str(process.pid):
                return owner
    return None
