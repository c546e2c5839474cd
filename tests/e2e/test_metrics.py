"""GET /metrics on SQLite and PostgreSQL, read by Prometheus's own text parser.

What happened (a request, an outage, a parked message, a refused alert, leases taken)
shows in the matching samples; the doors hold (401, 403); STANDBY_METRICS_ADDRESS serves
the same page on 127.0.0.1 without a login; `standby worker` serves its checks there.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from _web import T0, Served, Web, client, log_in, make_web, web
from _workers import Listeners, start_worker, wait_for
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker
from test_api_outages import fail_components
from test_api_receivers import ALERTMANAGER, FIRING_GROUP, receiver_token
from test_web import free_port

from standby.access.roles import Role
from standby.clock import SystemClock
from standby.config import Settings
from standby.detect.leases import claim_probes, see_worker
from standby.errors import ConfigError
from standby.notify.outbox import enqueue
from standby.observe.address import MetricsAddress
from standby.observe.instruments import StandbyMetrics
from standby.plan.loading import load_plan_text
from standby.plan.versions import record_plan
from standby.store.engine import make_engine, make_session_factory, unit_of_work

pytestmark = pytest.mark.anyio
__all__ = ["client", "receiver_token", "web"]  # fixtures, imported for pytest

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of the page, by name and labels, as Prometheus's own parser reads it."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value; KeyError (and so a failed test) when there is no such sample."""
    return samples[(name, frozenset(labels.items()))]


async def scrape(web: Web, client: httpx.AsyncClient, role: Role = Role.VIEWER) -> Samples:
    """The page as a token of `role` gets it."""
    response = await client.get("/metrics", headers=web.bearer(role))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


async def test_requests_count_by_route_template_never_by_raw_path(web: Web, client: httpx.AsyncClient):
    missing = await client.get("/api/v1/incidents/987654", headers=web.bearer(Role.VIEWER))
    assert missing.status_code == 404
    await client.get("/no/such/page/987654")
    await client.get("/static/room.js")
    samples = await scrape(web, client)
    route = "/api/v1/incidents/{incident_id}"
    assert value(samples, "standby_http_requests_total", method="GET", route=route, status="404") == 1
    assert value(samples, "standby_http_request_duration_seconds_count", route=route) == 1
    assert value(samples, "standby_http_requests_total", method="GET", route="unmatched", status="404") == 1
    static = {"method": "GET", "route": "/static/{path}", "status": "200"}
    assert value(samples, "standby_http_requests_total", **static) == 1
    assert not any("987654" in str(labels) for _, labels in samples), "a raw path became a label"
    # The scrape itself is counted once it has answered: the next one sees it.
    again = await scrape(web, client)
    assert value(again, "standby_http_requests_total", method="GET", route="/metrics", status="200") == 1
    assert value(again, "standby_database_up") == 1


async def test_outages_incidents_outbox_alerts_and_leases_show_as_they_are(
    web: Web, client: httpx.AsyncClient, receiver_token: str
):
    before = await scrape(web, client)
    assert value(before, "standby_outages_open", classification="total") == 0
    assert value(before, "standby_outbox_messages", state="parked", channel="sms") == 0
    assert value(before, "standby_outbox_oldest_waiting_seconds") == 0
    assert value(before, "standby_alerts_refused_total", source="alertmanager") == 0

    fail_components(web, "sbc", up=("trunk-a", "trunk-b"))
    declared = await client.post(
        "/api/v1/incidents", json={"title": "Phones dead at Leeds"}, headers=web.bearer(Role.MANAGER)
    )
    assert declared.status_code == 201, declared.text
    with unit_of_work(web.factory) as session:
        enqueue(
            session,
            key="parked-1",
            channel="sms",
            recipient="+447700900123",
            body="Callback moved",
            purpose="test",
            now=T0,
            parked_reason="the gateway refused the number",
        )
        # Due 90 s before the scrape, and no sender has taken it.
        enqueue(
            session,
            key="waiting-1",
            channel="email",
            recipient="ops@example.org",
            subject="Outage",
            body="The SBC is down",
            purpose="test",
            now=T0 - timedelta(seconds=90),
        )
        see_worker(session, worker_id="worker-a", now=T0, started_at=T0)
        claimed = claim_probes(session, worker_id="worker-a", now=T0, lease=timedelta(seconds=6), known={})
    document = json.loads(FIRING_GROUP)
    typo = {**document["alerts"][1], "labels": {"alertname": "ACDDown", "component": "acd-typo"}}
    document["alerts"] = [typo, document["alerts"][0]]
    posted = await client.post(
        ALERTMANAGER, json=document, headers={"Authorization": f"Bearer {receiver_token}"}
    )
    assert posted.status_code == 202, posted.text

    after = await scrape(web, client)
    assert value(after, "standby_outages_open", classification="total") == 1
    assert value(after, "standby_incidents_open", state="detected") >= 1
    assert value(after, "standby_outbox_messages", state="parked", channel="sms") == 1
    assert value(after, "standby_outbox_messages", state="pending", channel="email") >= 1
    assert value(after, "standby_outbox_oldest_waiting_seconds") == 90
    assert value(after, "standby_alerts_received_total", source="alertmanager") == 1
    assert value(after, "standby_alerts_refused_total", source="alertmanager") == 1
    assert len(claimed.new) > 0
    assert value(after, "standby_leases_held", worker="worker-a") == len(claimed.new)
    assert sum(v for (name, _), v in after.items() if name == "standby_probes") >= len(claimed.new)
    # Leases that ran out are not held, whatever the row still says.
    web.clock.advance(timedelta(seconds=7))
    later = await scrape(web, client)
    assert ("standby_leases_held", frozenset({("worker", "worker-a")})) not in later
    assert value(later, "standby_outbox_oldest_waiting_seconds") == 97


async def test_the_page_needs_a_login_or_token_of_a_role_that_may_read_it(
    web: Web, client: httpx.AsyncClient
):
    anonymous = await client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    agent = await client.get("/metrics", headers=web.bearer(Role.AGENT))
    assert agent.status_code == 403
    assert "read_metrics" in agent.json()["detail"]
    for role in (Role.ADMIN, Role.MANAGER, Role.RESPONDER, Role.VIEWER):
        assert (await client.get("/metrics", headers=web.bearer(role))).status_code == 200
    await log_in(client, Role.MANAGER)
    by_cookie = await client.get("/metrics")
    assert by_cookie.status_code == 200
    assert "standby_database_up 1.0" in by_cookie.text
    assert "/metrics" not in (await client.get("/openapi.json")).json()["paths"]


def test_the_metrics_address_serves_the_page_without_a_login(
    session_factory: sessionmaker[Session], tmp_path: Path
):
    port = free_port()
    web = make_web(session_factory, tmp_path, metrics_address=("127.0.0.1", port))
    with Served(web.app) as served:
        httpx.get(f"{served.base}/api/v1/components", headers=web.bearer(Role.VIEWER))
        page = httpx.get(f"http://127.0.0.1:{port}/metrics")
        assert page.status_code == 200
        samples = parse(page.text)
        assert value(samples, "standby_database_up") == 1
        labels = {"method": "GET", "route": "/api/v1/components", "status": "200"}
        assert value(samples, "standby_http_requests_total", **labels) == 1
        # The web app's own /metrics still wants a login.
        assert httpx.get(f"{served.base}/metrics").status_code == 401
    # Stopped with the app.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics")


def worker_plan(port: int) -> str:
    return f"""
organisation: {{name: Watched centre, interruption_max_minutes: 5}}
components:
  - id: acd
    name: ACD
    probe: {{type: tcp, target: "127.0.0.1:{port}", interval_s: 0.2, timeout_s: 1}}
sites: [{{id: main, name: Main, seats: 5, depends_on: [acd]}}]
queues:
  - {{id: general, name: General, depends_on: [acd], aht_s: 300,
     service_level: {{answer_within_s: 20, target: 0.8}}}}
teams:
  - {{id: t, site: main, queues: [general], agents: 5, shift: {{start: "00:00", end: "24:00"}}}}
"""


def test_a_worker_alone_serves_its_checks_by_protocol_on_the_metrics_address(
    db_url: str, session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    listeners = Listeners(1)
    port = free_port()
    text = worker_plan(listeners.ports[0])
    with unit_of_work(session_factory) as session:
        record_plan(session, plan=load_plan_text(text), source=text, now=datetime.now(UTC), loaded_by="test")
    monkeypatch.setenv("STANDBY_METRICS_ADDRESS", f"127.0.0.1:{port}")
    worker = start_worker(db_url, tmp_path, "watched")
    try:

        def checks(result: str) -> float:
            try:
                samples = parse(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text)
            except httpx.TransportError:
                return 0.0
            key = ("standby_checks_total", frozenset({("protocol", "tcp"), ("result", result)}))
            return samples.get(key, 0.0)

        wait_for(lambda: checks("ok") >= 3, 30, "three good TCP checks counted")
        listeners.close(0)
        wait_for(lambda: checks("failed") >= 1, 30, "a failed TCP check counted")
        samples = parse(httpx.get(f"http://127.0.0.1:{port}/metrics").text)
        assert value(samples, "standby_check_duration_seconds_count", protocol="tcp") >= 4
        assert value(samples, "standby_probe_lag_seconds_count") >= 4
        # Its own checks only: the database's figures come from the web servers.
        assert not any(name == "standby_database_up" for name, _ in samples)
    finally:
        worker.terminate()
        worker.wait(15)
        listeners.shutdown()
        log = (tmp_path / "watched.log").read_text(encoding="utf-8", errors="replace")
        assert "Traceback" not in log, log


def test_a_scrape_while_the_database_is_away_still_answers_and_says_so(tmp_path: Path):
    # A database file in a folder that does not exist: every query fails.
    engine = make_engine(f"sqlite+pysqlite:///{tmp_path / 'gone' / 'standby.db'}")
    try:
        metrics = StandbyMetrics(session_factory=make_session_factory(engine), clock=SystemClock())
        metrics.checked(protocol="tcp", ok=True, duration_s=0.002, lag_s=0.0)
        samples = parse(generate_latest(metrics.registry).decode())
    finally:
        engine.dispose()
    assert value(samples, "standby_database_up") == 0
    assert value(samples, "standby_checks_total", protocol="tcp", result="ok") == 1
    assert not any(name.startswith("standby_outbox") for name, _ in samples)


def test_the_metrics_address_is_read_as_host_and_port_and_a_bad_or_taken_one_is_named():
    def address(raw: str) -> tuple[str, int] | None:
        return Settings.from_env({"STANDBY_METRICS_ADDRESS": raw}).metrics_address

    assert address("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert address("[::1]:9464") == ("::1", 9464)
    assert address(" ") is None
    for bad in ("9464", ":9464", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:port"):
        with pytest.raises(ConfigError, match="STANDBY_METRICS_ADDRESS"):
            address(bad)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"STANDBY_METRICS_ADDRESS: cannot listen on 127.0.0.1:{port}"):
            MetricsAddress(StandbyMetrics().registry, "127.0.0.1", port).start()
