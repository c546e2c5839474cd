"""`standby forecaster` as a process of its own, on SQLite and PostgreSQL: it picks up an incident that
opens while it runs and keeps its first forecast within 10 seconds, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _workers import wait_for
from sqlalchemy.orm import Session, sessionmaker
from test_forecast_backtest import PLAN, dock_goes_dark

from standby.plan.loading import load_plan_text
from standby.plan.versions import record_plan
from standby.store.engine import unit_of_work
from standby.store.tables import ForecastRow


def test_the_forecaster_picks_up_a_new_incident_within_ten_seconds(
    db_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    text = PLAN.read_text(encoding="utf-8")
    with unit_of_work(session_factory) as session:
        record_plan(session, plan=load_plan_text(text), source=text, now=datetime.now(UTC), loaded_by="test")
    env = dict(
        os.environ, STANDBY_DATABASE_URL=db_url, STANDBY_DATA_DIR=str(tmp_path), STANDBY_FORECAST_CPU="1"
    )
    log = tmp_path / "forecaster.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "standby", "forecaster"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: "Forecaster on" in log.read_text(), 60, "the forecaster to start")
        now = datetime.now(UTC)
        incident = dock_goes_dark(session_factory, tmp_path, began=now - timedelta(minutes=2), now=now)
        opened = time.monotonic()

        def kept() -> ForecastRow | None:
            with unit_of_work(session_factory) as session:
                row = session.get(ForecastRow, incident)
                if row is not None:
                    session.expunge(row)
                return row if row is not None and row.as_of is not None else None

        row = wait_for(kept, 10, f"the first forecast of incident {incident}")
        assert time.monotonic() - opened <= 10
        assert row.data is not None and [o["id"] for o in row.data["options"]] == ["none", "dock-to-home"]
        assert row.recommended in ("none", "dock-to-home") and row.data["reason"].endswith(".")
        assert process.poll() is None  # still running, for the next change
    finally:
        process.terminate()
        try:
            code = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    assert code == 0, log.read_text()
