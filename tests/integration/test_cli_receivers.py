"""`standby receiver create/list/revoke`, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from standby.cli import app
from standby.config import SETTINGS
from standby.detect.receiver_tokens import receiver_for_token
from standby.store.engine import make_engine, make_session_factory, unit_of_work

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for doc in SETTINGS:
        monkeypatch.delenv(doc.env, raising=False)
    monkeypatch.setenv("STANDBY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STANDBY_DATABASE_URL", db_url)
    return db_url


def test_create_prints_the_token_once_and_it_opens_the_receivers(database: str) -> None:
    created = runner.invoke(app, ["receiver", "create", "alertmanager"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("sbr_") and "\n" not in token
    assert "Copy it now" in created.stderr and "http_config.authorization.credentials" in created.stderr
    engine = make_engine(database)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            assert receiver_for_token(session, token, datetime.now(UTC)) == "alertmanager"
    finally:
        engine.dispose()

    listed = runner.invoke(app, ["receiver", "list"])
    assert listed.exit_code == 0
    assert "alertmanager" in listed.stdout and token[:12] in listed.stdout and token not in listed.stdout
    assert "active" in listed.stdout
    as_json = json.loads(runner.invoke(app, ["receiver", "list", "--json"]).stdout)
    assert [(t["name"], t["prefix"], t["revoked_at"]) for t in as_json] == [
        ("alertmanager", token[:12], None)
    ]

    revoked = runner.invoke(app, ["receiver", "revoke", "alertmanager"])
    assert revoked.exit_code == 0
    assert "Revoked receiver token 'alertmanager'" in revoked.stdout
    assert "revoked" in runner.invoke(app, ["receiver", "list"]).stdout
    assert json.loads(runner.invoke(app, ["receiver", "list", "--json"]).stdout)[0]["revoked_at"] is not None


def test_bad_names_duplicates_and_unknown_tokens_exit_2(database: str) -> None:
    empty = runner.invoke(app, ["receiver", "list"])
    assert empty.exit_code == 0 and "No receiver tokens" in empty.stdout
    assert runner.invoke(app, ["receiver", "create", "grafana"]).exit_code == 0
    duplicate = runner.invoke(app, ["receiver", "create", "grafana"])
    assert duplicate.exit_code == 2 and "already exists" in duplicate.stderr
    bad = runner.invoke(app, ["receiver", "create", "has space"])
    assert bad.exit_code == 2 and "not a receiver name" in bad.stderr
    unknown = runner.invoke(app, ["receiver", "revoke", "nope"])
    assert unknown.exit_code == 2 and "no receiver token named 'nope'" in unknown.stderr
