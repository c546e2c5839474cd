"""The change mark moves with every change the hot pages show, in the writer's own transaction,
and with nothing else (SQLite and PostgreSQL)."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from types import ModuleType

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from standby.notify.outbox import enqueue
from standby.notify.outbox_delivery import claim_due, mark_failed, mark_sent
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.versions import record_plan
from standby.store import migrations
from standby.store.change_mark import read_change_mark
from standby.store.engine import unit_of_work
from standby.store.tables import ComponentStateRow

T0 = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)


def migration() -> ModuleType:
    """Migration 0020, where the covered tables are named."""
    path = migrations.SCRIPT_LOCATION / "versions" / "0020_change_marks.py"
    spec = importlib.util.spec_from_file_location("change_marks_migration", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mark(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as session:
        return read_change_mark(session)


def test_every_covered_table_has_its_triggers(engine: Engine) -> None:
    """A later migration that rebuilds a table (SQLite's batch mode does) must not lose them."""
    covered = {*migration().TABLES, "messages"}
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            rows = connection.execute(
                text(
                    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                    " WHERE t.tgname LIKE 'mark_%' AND c.relnamespace = to_regnamespace(current_schema())"
                )
            )
        else:
            rows = connection.execute(text("SELECT tbl_name FROM sqlite_master WHERE type = 'trigger'"))
        found = {row[0] for row in rows}
    assert covered <= found


def test_a_state_change_moves_the_mark_when_it_commits(session_factory: sessionmaker[Session]) -> None:
    before = mark(session_factory)
    with unit_of_work(session_factory) as session:
        session.add(ComponentStateRow(component_id="acd", state="up", since=T0, updated_at=T0))
    first = mark(session_factory)
    assert first > before
    with pytest.raises(RuntimeError), unit_of_work(session_factory) as session:
        session.get_one(ComponentStateRow, "acd").state = "down"
        session.flush()
        raise RuntimeError("rolled back")
    assert mark(session_factory) == first  # nothing committed, nothing moved
    with unit_of_work(session_factory) as session:
        session.get_one(ComponentStateRow, "acd").state = "down"
    assert mark(session_factory) > first


def test_a_new_plan_version_moves_the_mark(session_factory: sessionmaker[Session]) -> None:
    before = mark(session_factory)
    source = reference_plan_text()
    with unit_of_work(session_factory) as session:
        record_plan(session, plan=load_plan_text(source), source=source, now=T0, loaded_by="test")
    assert mark(session_factory) > before


def test_only_the_messages_a_page_shows_move_the_mark(session_factory: sessionmaker[Session]) -> None:
    def put(key: str, *, incident_id: int | None = None) -> int:
        with unit_of_work(session_factory) as session:
            return enqueue(
                session,
                key=key,
                channel="sms",
                recipient="+447700900123",
                body="hello",
                purpose="status",
                incident_id=incident_id,
                now=T0,
            ).id

    before = mark(session_factory)
    quiet = put("plain")
    with unit_of_work(session_factory) as session:
        (claimed,) = claim_due(session, worker_id="w", now=T0, limit=1, lease=timedelta(minutes=1))
        mark_sent(session, message_id=quiet, worker_id="w", now=T0, provider_id="p")
    assert claimed.id == quiet
    assert mark(session_factory) == before  # a notice sent and done: no page shows it

    loud = put("failing")
    with unit_of_work(session_factory) as session:
        claim_due(session, worker_id="w", now=T0, limit=1, lease=timedelta(minutes=1))
        mark_failed(session, message_id=loud, worker_id="w", now=T0, error="refused", permanent=False)
    failed = mark(session_factory)
    assert failed > before  # the overview counts failing messages

    put("of-an-incident", incident_id=7)  # its incident's deadlines read it
    assert mark(session_factory) > failed
