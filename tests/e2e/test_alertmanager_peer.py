"""A real Alertmanager (Debian's prometheus-alertmanager) notifying Standby through its webhook.

Alertmanager runs on 127.0.0.1 with its own storage in a temporary directory, no cluster
gossip, and a webhook receiver that reads a Standby receiver token from a credentials
file. Alerts are posted to Alertmanager's own API (/api/v2/alerts), fired and resolved;
Standby is served by uvicorn on a fixed port and restarted while an alert fires.

Without the binary these tests skip with a message, except where CI=true,
STANDBY_REQUIRE_POSTGRES=1 or STANDBY_REQUIRE_ALERTMANAGER=1, where its absence fails them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from _web import T0, Served, Web, make_web
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.clock import SystemClock
from standby.config import Settings
from standby.detect.receiver_tokens import create_receiver_token
from standby.store.engine import unit_of_work
from standby.store.tables import AlertRow, RefusedAlertRow
from standby.web.app import create_app

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
WAIT_S = 30.0
T = TypeVar("T")


def alertmanager_required() -> bool:
    """Whether a missing Alertmanager fails the run rather than skipping it."""
    return (
        os.environ.get("CI", "").lower() == "true"
        or os.environ.get("STANDBY_REQUIRE_POSTGRES") == "1"
        or os.environ.get("STANDBY_REQUIRE_ALERTMANAGER") == "1"
    )


def alertmanager_binary() -> str:
    """The Alertmanager executable; skips the test without it, or fails it where it is required."""
    found = ALERTMANAGER if os.access(ALERTMANAGER, os.X_OK) else shutil.which("alertmanager")
    if found is None:
        message = (
            "Alertmanager not installed (Debian package prometheus-alertmanager);"
            " the Alertmanager peer tests need it"
        )
        if alertmanager_required():
            pytest.fail(message)
        pytest.skip(message)
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def alertmanager(workdir: Path, *, webhook: str, token_file: Path) -> Iterator[str]:
    """Alertmanager on a free port of 127.0.0.1, notifying `webhook`; yields its address."""
    binary = alertmanager_binary()
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    config.write_text(
        f"""
route:
  receiver: standby
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: standby
    webhook_configs:
      - url: {webhook}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: {token_file}
""",
        encoding="utf-8",
    )
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    log = workdir / "alertmanager.log"
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=workdir)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(base, process), what=f"Alertmanager to start ({log.read_text()[-500:]})")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _ready(base: str, process: subprocess.Popen[bytes]) -> bool | None:
    assert process.poll() is None, "Alertmanager exited"
    try:
        return httpx.get(f"{base}/-/ready", timeout=2).status_code == 200 or None
    except httpx.TransportError:
        return None


def wait_for(check: Callable[[], T | None], *, what: str) -> T:
    """What `check` returns once it is not None (or False), polling for at most WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while True:
        found = check()
        if found is not None and found is not False:
            return found
        assert time.monotonic() < deadline, f"waited {WAIT_S:.0f} s for {what}"
        time.sleep(0.2)


def post_alerts(base: str, *alerts: dict[str, Any]) -> None:
    """Post alerts to Alertmanager's own API, as Prometheus does."""
    response = httpx.post(f"{base}/api/v2/alerts", json=list(alerts), timeout=5)
    assert response.status_code == 200, response.text


def firing(labels: dict[str, str], summary: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "labels": labels,
        "annotations": {"summary": summary},
        "startsAt": (now - timedelta(seconds=5)).isoformat(),
        "endsAt": (now + timedelta(hours=1)).isoformat(),
    }


def resolved(alert: dict[str, Any]) -> dict[str, Any]:
    return {**alert, "endsAt": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()}


def stored(factory: sessionmaker[Session], alertname: str, status: str) -> list[AlertRow] | None:
    with unit_of_work(factory) as session:
        rows = list(session.scalars(select(AlertRow).where(AlertRow.status == status).order_by(AlertRow.id)))
        session.expunge_all()
    found = [r for r in rows if r.payload.get("labels", {}).get("alertname") == alertname]
    return found or None


def refused(factory: sessionmaker[Session]) -> list[RefusedAlertRow] | None:
    with unit_of_work(factory) as session:
        rows = list(session.scalars(select(RefusedAlertRow).order_by(RefusedAlertRow.id)))
        session.expunge_all()
    return rows or None


@pytest.fixture
def standby(session_factory: sessionmaker[Session], tmp_path: Path) -> Iterator[tuple[Web, Served]]:
    """Standby with the reference plan, served on a fixed port of 127.0.0.1."""
    alertmanager_binary()  # skip (or fail) before building anything
    web = make_web(session_factory, tmp_path)
    with Served(web.app) as served:
        yield web, served


@pytest.fixture
def token_file(standby: tuple[Web, Served], tmp_path: Path) -> Path:
    """A receiver token in a file, as Alertmanager's credentials_file reads it."""
    with unit_of_work(standby[0].factory) as session:
        token = create_receiver_token(session, name="alertmanager", now=T0)[1]
    path = tmp_path / "standby-token"
    path.write_text(token + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def test_alerts_fire_and_resolve_and_a_bad_alert_costs_only_itself(
    standby: tuple[Web, Served], token_file: Path, tmp_path: Path
) -> None:
    web, served = standby
    webhook = f"{served.base}/api/v1/integrations/alertmanager"
    with alertmanager(tmp_path / "am", webhook=webhook, token_file=token_file) as am:
        acd = firing(
            {"alertname": "ACDDown", "job": "cloudcx-acd", "instance": "acd-1:9115", "severity": "critical"},
            "CloudCX ACD is not answering health checks",
        )
        post_alerts(am, acd)
        [row] = wait_for(lambda: stored(web.factory, "ACDDown", "firing"), what="ACDDown to be stored")
        assert (row.component_id, row.severity, row.receiver) == ("acd", "critical", "alertmanager")
        assert row.summary == "ACDDown: CloudCX ACD is not answering health checks"
        assert row.payload["receiver"] == "standby" and row.payload["groupKey"].endswith(
            '{alertname="ACDDown"}'
        )

        # One group, two alerts: a valid critical one and one whose component label names
        # no component. The valid one must be stored; the bad one kept with its reason.
        good = firing({"alertname": "QueueStuck", "component": "acd", "severity": "critical"}, "queue stuck")
        bad = firing({"alertname": "QueueStuck", "component": "acd-typo", "severity": "critical"}, "typo")
        post_alerts(am, good, bad)
        [taken] = wait_for(
            lambda: stored(web.factory, "QueueStuck", "firing"), what="QueueStuck to be stored"
        )
        assert (taken.component_id, taken.severity) == ("acd", "critical")
        assert taken.payload["labels"]["component"] == "acd"
        [kept] = wait_for(lambda: refused(web.factory), what="the bad alert to be kept")
        assert (kept.source, kept.receiver, kept.label) == ("alertmanager", "alertmanager", "component")
        assert kept.location.endswith(".labels.component")
        assert "its component label 'acd-typo' is not a component of the plan" in kept.reason
        assert kept.group_key is not None and 'alertname="QueueStuck"' in kept.group_key
        assert '"acd-typo"' in kept.raw and kept.dedup_key is not None and len(kept.dedup_key) == 16

        post_alerts(am, resolved(acd))
        [done] = wait_for(lambda: stored(web.factory, "ACDDown", "resolved"), what="ACDDown to resolve")
        assert done.id == row.id and done.resolved_at is not None
        assert done.payload["endsAt"] != "0001-01-01T00:00:00Z"

    listed = httpx.get(
        f"{served.base}/api/v1/refused-alerts", headers=web.bearer(Role.VIEWER), timeout=5
    ).json()["refused"]
    assert [r["id"] for r in listed] == [kept.id]


def test_an_alert_fired_while_standby_is_down_arrives_once_it_is_back(
    standby: tuple[Web, Served], token_file: Path, tmp_path: Path
) -> None:
    web, served = standby
    webhook = f"{served.base}/api/v1/integrations/alertmanager"
    with alertmanager(tmp_path / "am", webhook=webhook, token_file=token_file) as am:
        crm = firing({"alertname": "CRMDown", "job": "crm", "severity": "critical"}, "CRM down")
        post_alerts(am, crm)
        wait_for(lambda: stored(web.factory, "CRMDown", "firing"), what="CRMDown to be stored")

        served.stop()  # Standby goes away while CRMDown fires
        ivr = firing({"alertname": "IVRDown", "standby_component": "ivr", "severity": "critical"}, "IVR down")
        post_alerts(am, ivr, crm)
        time.sleep(3)  # Alertmanager tries, and fails, more than once (group_interval 1 s)
        assert stored(web.factory, "IVRDown", "firing") is None

        # A new Standby process on the same database and the same address.
        settings = Settings(database_url="sqlite://", data_dir=tmp_path)
        served.app = create_app(settings, clock=SystemClock(), session_factory=web.factory)
        served.start()
        [ivr_row] = wait_for(
            lambda: stored(web.factory, "IVRDown", "firing"), what="IVRDown after the restart"
        )
        assert ivr_row.component_id == "ivr"
        [crm_row] = stored(web.factory, "CRMDown", "firing") or []
        assert crm_row.component_id == "crm"
