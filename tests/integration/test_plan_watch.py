"""The plan file, watched: a saved change is a new version; a broken file keeps the one in force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from standby.clock import FakeClock
from standby.plan.loading import reference_plan_text
from standby.plan.versions import current_plan, list_versions
from standby.plan.watch import PlanFileWatch
from standby.store.engine import unit_of_work

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def versions(factory: sessionmaker[Session]) -> list[int]:
    with unit_of_work(factory) as session:
        return [v.id for v in list_versions(session)]


def test_a_saved_change_becomes_a_new_version_once(tmp_path: Path, session_factory) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(reference_plan_text(), encoding="utf-8")
    clock = FakeClock(T0)
    watch = PlanFileWatch(path, session_factory, clock)
    first = watch.look()
    assert first.problems == () and first.version is not None and first.version.created
    assert watch.look() is first  # unchanged bytes: not even validated again
    clock.advance(timedelta(minutes=5))
    path.write_text(reference_plan_text().replace("seats: 140", "seats: 150"), encoding="utf-8")
    second = watch.look()
    assert second.version is not None and second.version.created
    assert versions(session_factory) == [second.version.id, first.version.id]
    with unit_of_work(session_factory) as session:
        found = current_plan(session)
    assert found is not None and found[1].sites_by_id["leeds"].seats == 150
    assert found[0].loaded_by == "plan file"


def test_a_broken_file_keeps_the_version_in_force_and_says_why(tmp_path: Path, session_factory) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(reference_plan_text(), encoding="utf-8")
    watch = PlanFileWatch(path, session_factory, FakeClock(T0))
    good = watch.look()
    path.write_text(reference_plan_text().replace("seats: 140", "seats: lots"), encoding="utf-8")
    broken = watch.look()
    assert broken.version is None
    assert len(broken.problems) == 1
    assert broken.rendered_problems[0].startswith(f"{path}:")
    assert "seats: expected a whole number" in broken.rendered_problems[0]
    assert versions(session_factory) == [good.version.id]  # type: ignore[union-attr]
    path.unlink()
    gone = watch.look()
    assert "cannot read the plan" in gone.problems[0].message
    assert versions(session_factory) == [good.version.id]  # type: ignore[union-attr]
