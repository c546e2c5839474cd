"""`standby db upgrade` and `standby token create/list/revoke`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from standby.cli import app
from standby.config import SETTINGS
from standby.store.engine import make_engine, make_session_factory, unit_of_work
from standby.store.migrations import current_revision, head_revision
from standby.store.tables import ApiTokenRow

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for doc in SETTINGS:
        monkeypatch.delenv(doc.env, raising=False)
    monkeypatch.setenv("STANDBY_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def database(data_dir: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("STANDBY_DATABASE_URL", db_url)
    return db_url


def test_db_upgrade_uses_sqlite_in_the_data_dir_by_default(data_dir: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"upgraded from an empty database to revision {head_revision()}" in result.output
    assert (data_dir / "standby.db").exists()
    again = runner.invoke(app, ["db", "upgrade"])
    assert again.exit_code == 0
    assert f"already at revision {head_revision()}" in again.output


def test_db_upgrade_migrates_the_configured_database(database: str) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"revision {head_revision()}" in result.output
    engine = make_engine(database)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_db_upgrade_masks_the_password(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "STANDBY_DATABASE_URL", "postgresql://standby:s3cretpw@127.0.0.1:1/standby?connect_timeout=2"
    )
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2
    assert "Connection refused" in result.output
    assert "s3cretpw" not in result.output


def test_a_bad_setting_is_exit_2_naming_the_variable(data_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("STANDBY_DATABASE_URL", "mysql://db/standby")
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2
    assert "STANDBY_DATABASE_URL" in result.output


def test_tokens_are_created_listed_and_revoked(database: str) -> None:
    created = runner.invoke(app, ["token", "create", "--role", "responder", "--name", "ci"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("sby_") and "\n" not in token
    assert "cannot be shown again" in created.stderr

    engine = make_engine(database)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            row = session.scalars(select(ApiTokenRow)).one()
            assert (row.name, row.role) == ("ci", "responder")
            assert row.token_hash != token and token.startswith(row.prefix)
    finally:
        engine.dispose()

    listed = runner.invoke(app, ["token", "list"])
    assert listed.exit_code == 0, listed.output
    assert "ci" in listed.output and "responder" in listed.output and "active" in listed.output
    assert token not in listed.output

    revoked = runner.invoke(app, ["token", "revoke", "ci"])
    assert revoked.exit_code == 0, revoked.output
    as_json = json.loads(runner.invoke(app, ["token", "list", "--json"]).stdout)
    assert [(t["name"], t["role"]) for t in as_json] == [("ci", "responder")]
    assert as_json[0]["revoked_at"] is not None
    assert token not in json.dumps(as_json)


def test_token_mistakes_are_exit_2(database: str) -> None:
    assert runner.invoke(app, ["token", "create", "--role", "viewer", "--name", "ci"]).exit_code == 0
    duplicate = runner.invoke(app, ["token", "create", "--role", "viewer", "--name", "ci"])
    assert duplicate.exit_code == 2
    assert "already exists" in duplicate.output
    bad_role = runner.invoke(app, ["token", "create", "--role", "boss", "--name", "x"])
    assert bad_role.exit_code == 2
    assert "use one of admin, manager, responder, agent, viewer" in bad_role.output
    unknown = runner.invoke(app, ["token", "revoke", "nope"])
    assert unknown.exit_code == 2
    assert "no token named 'nope'" in unknown.output


def test_no_tokens_yet(database: str) -> None:
    result = runner.invoke(app, ["token", "list"])
    assert result.exit_code == 0
    assert "No API tokens" in result.output
    assert json.loads(runner.invoke(app, ["token", "list", "--json"]).stdout) == []


def test_user_create_set_password_and_list(database: str, monkeypatch) -> None:
    """A lost admin password can be replaced from the command line; users are listed."""
    from standby.access.service import authenticate

    monkeypatch.setenv("STANDBY_NEW_PASSWORD", "first password")
    created = runner.invoke(app, ["user", "create", "Kim", "--role", "manager"])
    assert created.exit_code == 0, created.output
    monkeypatch.setenv("STANDBY_NEW_PASSWORD", "second password")
    changed = runner.invoke(app, ["user", "set-password", "kim"])
    assert changed.exit_code == 0, changed.output
    listed = runner.invoke(app, ["user", "list"])
    assert "kim" in listed.output and "manager" in listed.output
    unknown = runner.invoke(app, ["user", "set-password", "nobody"])
    assert unknown.exit_code == 2
    bad_role = runner.invoke(app, ["user", "create", "lee", "--role", "boss"])
    assert bad_role.exit_code == 2 and "unknown role" in bad_role.output
    engine = make_engine(database)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            assert authenticate(session, username="kim", password="second password") is not None
            assert authenticate(session, username="kim", password="first password") is None
    finally:
        engine.dispose()
