"""The store: engines on SQLite and PostgreSQL, migrations, UTC times, the unit of work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from standby.errors import ConfigError, StorageError
from standby.store.engine import (
    make_engine,
    mask_password,
    normalise_database_url,
    unit_of_work,
)
from standby.store.migrations import alembic_config, current_revision, head_revision, upgrade
from standby.store.tables import Base, ComponentStateRow, LoginSessionRow

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_a_new_database_has_no_revision_until_upgraded(bare_engine: Engine) -> None:
    assert current_revision(bare_engine) is None
    upgrade(bare_engine)
    assert current_revision(bare_engine) == head_revision()
    upgrade(bare_engine)  # again: nothing to do
    assert current_revision(bare_engine) == head_revision()
    tables = set(inspect(bare_engine).get_table_names())
    assert {"plan_versions", "users", "api_tokens", "login_sessions", "component_states"} <= tables


def test_the_migrated_schema_matches_the_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_migrations_go_down_and_up_again(engine: Engine) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert "users" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_times_come_back_aware_and_in_utc(session_factory: sessionmaker[Session]) -> None:
    paris = timezone(timedelta(hours=2))
    local = datetime(2026, 6, 1, 11, 0, tzinfo=paris)
    with unit_of_work(session_factory) as session:
        session.add(ComponentStateRow(component_id="acd", state="up", since=local, updated_at=T0))
    with unit_of_work(session_factory) as session:
        row = session.get_one(ComponentStateRow, "acd")
        assert row.since == local
        assert row.since.tzinfo is UTC
        assert row.since.hour == 9
        # Comparisons in SQL see the same instant, whatever the offset it was given in.
        found = session.scalars(
            select(ComponentStateRow.component_id).where(
                ComponentStateRow.since > datetime(2026, 6, 1, 8, 59, tzinfo=UTC)
            )
        ).all()
        assert found == ["acd"]


def test_naive_times_are_refused(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(StatementError, match="no time zone"), unit_of_work(session_factory) as s:
        s.add(ComponentStateRow(component_id="acd", state="up", since=datetime(2026, 1, 1), updated_at=T0))
        s.flush()


def test_the_unit_of_work_commits_or_rolls_back(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(RuntimeError), unit_of_work(session_factory) as session:
        session.add(ComponentStateRow(component_id="crm", state="down", since=T0, updated_at=T0))
        session.flush()
        raise RuntimeError("boom")
    with unit_of_work(session_factory) as session:
        assert session.get(ComponentStateRow, "crm") is None
        session.add(ComponentStateRow(component_id="crm", state="down", since=T0, updated_at=T0))
    with unit_of_work(session_factory) as session:
        assert session.get_one(ComponentStateRow, "crm").state == "down"


def test_constraints_hold(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError), unit_of_work(session_factory) as session:
        session.add(ComponentStateRow(component_id="x", state="sideways", since=T0, updated_at=T0))
    # Foreign keys are on in SQLite too.
    with pytest.raises(IntegrityError), unit_of_work(session_factory) as session:
        session.add(
            LoginSessionRow(user_id=999, token_hash="0" * 64, created_at=T0, expires_at=T0, last_seen_at=T0)
        )


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_larger_cache(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'folder' / 'standby.db'}")
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("PRAGMA journal_mode")) == "wal"
            assert connection.scalar(text("PRAGMA foreign_keys")) == 1
            assert connection.scalar(text("PRAGMA busy_timeout")) == 10_000
            # The bulk passes' pages stay in memory (negative: KiB; 2 = MEMORY).
            assert connection.scalar(text("PRAGMA cache_size")) == -32 * 1024
            assert connection.scalar(text("PRAGMA temp_store")) == 2
        assert (tmp_path / "new" / "folder" / "standby.db").exists()
    finally:
        engine.dispose()


def test_urls_get_the_drivers_standby_uses() -> None:
    assert normalise_database_url("postgresql://u:pw@db/standby") == ("postgresql+psycopg://u:pw@db/standby")
    assert normalise_database_url("postgres://db/standby").startswith("postgresql+psycopg://")
    assert normalise_database_url("sqlite:///x.db") == "sqlite+pysqlite:///x.db"
    engine = make_engine("postgresql://u@127.0.0.1/standby")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db/standby", "unsupported database"),
        ("postgresql+psycopg2://db/standby", "unsupported database"),
        ("postgresql://db", "names no database"),
        ("not a url", "not a database URL"),
    ],
)
def test_unusable_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_engine(url)


def test_passwords_are_masked() -> None:
    masked = mask_password("postgresql+psycopg://standby:hunter22@db:5432/standby")
    assert "hunter22" not in masked
    assert masked == "postgresql+psycopg://standby:***@db:5432/standby"


def test_an_unreachable_database_is_a_storage_error() -> None:
    engine = make_engine("postgresql://postgres:s3cretpw@127.0.0.1:1/standby?connect_timeout=2")
    try:
        with pytest.raises(StorageError, match="cannot migrate") as caught:
            upgrade(engine)
        assert "s3cretpw" not in str(caught.value)
    finally:
        engine.dispose()
