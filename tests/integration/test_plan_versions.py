"""Plan versions: one row per change of the text in force, and which was in force when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from standby.clock import FakeClock
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.versions import (
    current_plan,
    list_versions,
    plan_of_version,
    record_plan,
    source_of_version,
    source_sha256,
    version_in_force,
)
from standby.store.engine import unit_of_work

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def reference() -> str:
    return reference_plan_text()


def _record(
    factory: sessionmaker[Session], source: str, now: datetime, by: str | None = None
) -> tuple[int, bool]:
    with unit_of_work(factory) as session:
        info = record_plan(session, plan=load_plan_text(source), source=source, now=now, loaded_by=by)
        return info.id, info.created


def test_no_plan_loaded_yet(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        assert current_plan(session) is None
        assert list_versions(session) == []
        assert version_in_force(session, T0) is None


def test_the_same_text_twice_is_one_version(session_factory: sessionmaker[Session], reference: str) -> None:
    first = _record(session_factory, reference, T0, by="admin")
    again = _record(session_factory, reference, T0 + timedelta(hours=1))
    assert first[1] is True
    assert again == (first[0], False)
    with unit_of_work(session_factory) as session:
        versions = list_versions(session)
        assert [v.id for v in versions] == [first[0]]
        info = versions[0]
        assert info.sha256 == source_sha256(reference)
        assert info.loaded_at == T0
        assert info.loaded_by == "admin"
        assert info.organisation == "Northwind Energy Customer Care"
        assert info.counts["components"] > 0


def test_the_current_plan_is_rebuilt_from_the_stored_document(
    session_factory: sessionmaker[Session], reference: str
) -> None:
    version_id, _ = _record(session_factory, reference, T0)
    with unit_of_work(session_factory) as session:
        found = current_plan(session)
        assert found is not None
        info, plan = found
        assert info.id == version_id
        assert plan == load_plan_text(reference)
        assert source_of_version(session, version_id) == reference
        assert plan_of_version(session, version_id) == found
        assert plan_of_version(session, version_id + 1) is None


def test_changed_text_and_a_switch_back_are_new_versions(
    session_factory: sessionmaker[Session], reference: str
) -> None:
    clock = FakeClock(T0)
    changed = reference + "\n# reviewed again, no change to the plan itself\n"
    renamed = reference.replace("Northwind Energy Customer Care", "Northwind Care", 1)
    first, _ = _record(session_factory, reference, clock.now())
    second, created = _record(session_factory, changed, clock.advance(timedelta(days=1)))
    assert created and second != first
    third, _ = _record(session_factory, renamed, clock.advance(timedelta(days=1)))
    back, created = _record(session_factory, reference, clock.advance(timedelta(days=1)))
    assert created and back not in (first, second, third)
    with unit_of_work(session_factory) as session:
        assert [v.id for v in list_versions(session)] == [back, third, second, first]
        found = current_plan(session)
        assert found is not None
        assert found[0].id == back
        assert found[1].organisation.name == "Northwind Energy Customer Care"
        assert found[0].sha256 == source_sha256(reference)


def test_the_version_in_force_at_a_time(session_factory: sessionmaker[Session], reference: str) -> None:
    renamed = reference.replace("Northwind Energy Customer Care", "Northwind Care", 1)
    first, _ = _record(session_factory, reference, T0)
    second, _ = _record(session_factory, renamed, T0 + timedelta(days=7))
    with unit_of_work(session_factory) as session:
        assert version_in_force(session, T0 - timedelta(seconds=1)) is None
        at_load = version_in_force(session, T0)
        assert at_load is not None and at_load.id == first
        midweek = version_in_force(session, T0 + timedelta(days=3))
        assert midweek is not None and midweek.id == first
        later = version_in_force(session, T0 + timedelta(days=30))
        assert later is not None and later.id == second
        assert later.organisation == "Northwind Care"
