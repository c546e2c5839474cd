"""Which plan wins when the server's plan file and an upload through the API disagree.

Seen: a restart replaced a plan uploaded through the API with the older plan file, silently.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from standby.clock import FakeClock
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.versions import PlanVersionInfo, current_plan, list_set_aside, list_versions, record_plan
from standby.plan.watch import PlanFileWatch
from standby.store.engine import unit_of_work

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
REFERENCE = reference_plan_text()
UPLOADED = REFERENCE.replace("seats: 140", "seats: 200")
EDITED = REFERENCE.replace("seats: 140", "seats: 150")


def write(path: Path, text: str, changed_at: datetime) -> None:
    """The file with this text, last changed at `changed_at`."""
    path.write_text(text, encoding="utf-8")
    stamp = changed_at.timestamp()
    os.utime(path, (stamp, stamp))


def upload(factory: sessionmaker[Session], text: str, at: datetime) -> PlanVersionInfo:
    """What POST /api/v1/plan does."""
    with unit_of_work(factory) as session:
        return record_plan(session, plan=load_plan_text(text), source=text, now=at, loaded_by="manager")


def in_force(factory: sessionmaker[Session]) -> tuple[int, int]:
    """The version in force and the seats it gives Leeds."""
    with unit_of_work(factory) as session:
        found = current_plan(session)
    assert found is not None
    return found[0].id, found[1].sites_by_id["leeds"].seats


def version_ids(factory: sessionmaker[Session]) -> list[int]:
    with unit_of_work(factory) as session:
        return [v.id for v in list_versions(session)]


def start(path: Path, factory: sessionmaker[Session], at: datetime) -> PlanFileWatch:
    """A server starting: a fresh watch and its first look, as `standby serve` does."""
    watch = PlanFileWatch(path, factory, FakeClock(at))
    watch.look()
    return watch


def test_a_restart_keeps_the_upload_made_after_the_file_changed(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    path = tmp_path / "plan.yaml"
    write(path, REFERENCE, T0)
    start(path, session_factory, T0 + timedelta(minutes=1))
    uploaded = upload(session_factory, UPLOADED, T0 + timedelta(minutes=10))
    restarted = start(path, session_factory, T0 + timedelta(minutes=20)).status
    assert in_force(session_factory) == (uploaded.id, 200)
    assert len(version_ids(session_factory)) == 2  # both kept, the file's text as version 1
    assert restarted.reading is not None and restarted.reading.outcome == "known"
    note = restarted.differs_from(uploaded)
    assert note is not None and f"differs from version {uploaded.id} in force" in note
    assert "by manager" in note and "its text is version" in note


def test_a_file_older_than_the_upload_is_set_aside_once(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    path = tmp_path / "plan.yaml"
    write(path, REFERENCE, T0)
    start(path, session_factory, T0 + timedelta(minutes=1))
    write(path, EDITED, T0 + timedelta(minutes=5))  # edited while the server was down...
    uploaded = upload(session_factory, UPLOADED, T0 + timedelta(minutes=10))  # ...then an upload elsewhere
    first = start(path, session_factory, T0 + timedelta(minutes=20)).status.reading
    assert first is not None and first.outcome == "set aside"
    assert in_force(session_factory) == (uploaded.id, 200)
    with unit_of_work(session_factory) as session:
        (kept,) = list_set_aside(session)
    assert (kept.id, kept.in_force_version, kept.changed_at) == (
        first.set_aside,
        uploaded.id,
        T0 + timedelta(minutes=5),
    )
    assert first.note is not None and f"set aside as #{kept.id}" in first.note
    again = start(path, session_factory, T0 + timedelta(minutes=30)).status.reading
    assert again is not None and again.outcome == "known"
    with unit_of_work(session_factory) as session:
        assert len(list_set_aside(session)) == 1
    assert len(version_ids(session_factory)) == 2


def test_a_file_changed_after_the_upload_is_put_in_force_at_start(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    path = tmp_path / "plan.yaml"
    write(path, REFERENCE, T0)
    start(path, session_factory, T0 + timedelta(minutes=1))
    upload(session_factory, UPLOADED, T0 + timedelta(minutes=10))
    write(path, EDITED, T0 + timedelta(minutes=15))
    reading = start(path, session_factory, T0 + timedelta(minutes=20)).status.reading
    assert reading is not None and reading.outcome == "loaded" and reading.note is None
    assert in_force(session_factory) == (reading.in_force.id, 150)


def test_an_edit_seen_while_running_wins_even_back_to_an_earlier_text(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    path = tmp_path / "plan.yaml"
    write(path, EDITED, T0)
    watch = start(path, session_factory, T0 + timedelta(minutes=1))
    uploaded = upload(session_factory, UPLOADED, T0 + timedelta(minutes=10))
    assert watch.look().differs_from(uploaded) is not None  # the file is not what is in force
    # Undone in the editor, the old modification time restored: still an edit made now.
    write(path, REFERENCE, T0)
    watch.look()
    write(path, EDITED, T0)
    status = watch.look()
    assert status.reading is not None and status.reading.outcome == "loaded"
    assert in_force(session_factory)[1] == 150
    assert len(version_ids(session_factory)) == 4


def test_without_an_upload_the_file_is_the_plan_even_back_to_an_earlier_text(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    path = tmp_path / "plan.yaml"
    write(path, REFERENCE, T0)
    start(path, session_factory, T0 + timedelta(minutes=1))
    write(path, EDITED, T0 + timedelta(minutes=2))
    start(path, session_factory, T0 + timedelta(minutes=3))
    # Reverted while the server was down, with an old modification time (rsync -t, tar).
    write(path, REFERENCE, T0 - timedelta(days=30))
    reading = start(path, session_factory, T0 + timedelta(minutes=10)).status.reading
    assert reading is not None and reading.outcome == "loaded"
    assert in_force(session_factory)[1] == 140
    assert len(version_ids(session_factory)) == 3
