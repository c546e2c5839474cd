"""Outages, component check history and the change stream over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from _web import T0, Web, client, log_in, web
from sqlalchemy import update

from standby.access.roles import Role
from standby.detect.correlation import Correlator
from standby.detect.health import ProbeHealth
from standby.detect.leases import CheckRecord, record_checks, sync_probes
from standby.detect.outages import correlate
from standby.plan.versions import current_plan
from standby.store.engine import unit_of_work
from standby.store.tables import ProbeRow

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]


def fail_components(web: Web, *ids: str, minutes: float = 0, up: tuple[str, ...] = ()) -> None:
    """Record probes down (and up), then correlate, as the worker does."""
    now = T0 + timedelta(minutes=minutes)
    with unit_of_work(web.factory) as session:
        _, plan = current_plan(session)  # type: ignore[misc]
        sync_probes(session, plan=plan, now=now)
        rows = {r.component_id: r for r in session.query(ProbeRow)}
        records = []
        for component_id, state, ok in [(c, "down", False) for c in ids] + [(c, "up", True) for c in up]:
            records.append(
                CheckRecord(
                    component_id,
                    rows[component_id].settings_sha,
                    now,
                    ok,
                    "connection refused" if not ok else "connected in 1 ms",
                    1.0 if ok else None,
                    None,
                    ProbeHealth(state, 0 if ok else 3, 2 if ok else 0, now),
                )  # type: ignore[arg-type]
            )
        session.execute(update(ProbeRow).values(owner="test"))
        record_checks(session, worker_id="test", records=records)
    with unit_of_work(web.factory) as session:
        correlate(session, correlator=Correlator.from_plan(plan), maintenance=(), now=now, holder="test")


async def test_outages_list_and_detail(web: Web, client):
    fail_components(web, "sbc", up=("trunk-a", "trunk-b"))
    response = await client.get("/api/v1/outages", headers=web.bearer(Role.AGENT))
    assert response.status_code == 200, response.text
    (outage,) = response.json()["outages"]
    assert outage["open"] is True
    assert outage["causes"] == ["sbc"]
    assert outage["classification"] == "total"
    assert outage["queues"] == ["emergency", "billing", "moving"]
    assert outage["summary"].startswith("Total: Session border controller down")
    detail = await client.get(f"/api/v1/outages/{outage['id']}", headers=web.bearer(Role.VIEWER))
    assert detail.status_code == 200
    assert [c["data"]["event"] for c in detail.json()["changes"]] == ["opened"]
    # Recovery twelve minutes later: longer than interruption_max_minutes, so not an interruption.
    fail_components(web, minutes=12, up=("sbc",))
    ended = (await client.get(f"/api/v1/outages/{outage['id']}", headers=web.bearer(Role.VIEWER))).json()
    assert ended["open"] is False
    assert ended["classification"] == "total"
    assert ended["duration_s"] == pytest.approx(12 * 60)
    assert [c["data"]["event"] for c in ended["changes"]] == ["opened", "ended"]
    assert (await client.get("/api/v1/outages?open=true", headers=web.bearer(Role.VIEWER))).json() == {
        "outages": []
    }


async def test_component_detail_has_probe_health_and_history(web: Web, client):
    fail_components(web, "crm")
    detail = (await client.get("/api/v1/components/crm", headers=web.bearer(Role.VIEWER))).json()
    assert detail["state"] == "down"
    assert detail["detail"] == "connection refused"
    assert detail["probe_health"]["health"] == "down"
    assert detail["probe_health"]["kind"] == "http"
    history = (await client.get("/api/v1/components/crm/checks", headers=web.bearer(Role.AGENT))).json()
    assert [c["ok"] for c in history["checks"]] == [False]
    assert history["changes"][0]["data"]["to"] == "down"
    missing = await client.get("/api/v1/components/nope/checks", headers=web.bearer(Role.AGENT))
    assert missing.status_code == 404
    assert "no component 'nope'" in missing.json()["detail"]


async def test_outage_doors(web: Web, client):
    assert (await client.get("/api/v1/outages")).status_code == 401
    assert (await client.get("/api/v1/outages/1")).status_code == 401
    assert (await client.get("/api/v1/stream")).status_code == 401
    missing = await client.get("/api/v1/outages/999", headers=web.bearer(Role.VIEWER))
    assert missing.status_code == 404 and "no outage 999" in missing.json()["detail"]
    bad = await client.get("/api/v1/outages?limit=0", headers=web.bearer(Role.VIEWER))
    assert bad.status_code == 422


async def test_the_stream_sends_changes_in_order_and_resumes(web: Web, client):
    fail_components(web, "vpn", up=("identity",))
    response = await client.get("/api/v1/stream?after=0&limit=3", headers=web.bearer(Role.AGENT))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [block for block in response.text.split("\n\n") if block.startswith("id:")]
    parsed = [dict(line.split(": ", 1) for line in block.splitlines()) for block in events]
    assert [p["event"] for p in parsed] == ["component", "component", "outage"]
    assert json.loads(parsed[0]["data"])["ref"] == "identity"
    assert json.loads(parsed[1]["data"])["data"] == {
        "from": "unknown",
        "to": "down",
        "detail": "connection refused",
    }
    last = parsed[-1]["id"]
    fail_components(web, minutes=1, up=("vpn",))
    resumed = await client.get(
        "/api/v1/stream?limit=2", headers={**web.bearer(Role.AGENT), "Last-Event-ID": last}
    )
    kinds = [line for line in resumed.text.splitlines() if line.startswith("event:")]
    assert kinds == ["event: component", "event: outage"]


async def test_the_overview_lists_open_outages_first_and_follows_the_stream(web: Web, client):
    fail_components(web, "trunk-a")
    fail_components(web, "crm", minutes=1, up=("trunk-a",))
    await log_in(client, Role.VIEWER)
    page = (await client.get("/")).text
    ongoing = page.index("Partial: Customer records (CRM) down")
    ended = page.index("Degraded: SIP trunk, Carrier A down")
    assert ongoing < ended
    assert "ongoing" in page
    # The page follows the change stream through its script (a file: the CSP forbids inline).
    assert '<script src="/static/overview.js" defer></script>' in page
    script = (await client.get("/static/overview.js")).text
    assert 'new EventSource("/api/v1/stream")' in script


async def test_an_outage_waits_for_a_verdict_on_what_its_cause_depends_on(web: Web, client):
    # The SBC fails while neither trunk has been checked since: it might be them. The
    # outage waits, for at most one trunk interval and timeout (10 + 2 + 1 s).
    fail_components(web, "sbc")
    assert (await client.get("/api/v1/outages", headers=web.bearer(Role.VIEWER))).json()["outages"] == []
    fail_components(web, minutes=0.25)  # 15 s on: waited long enough, opened as it stands
    (outage,) = (await client.get("/api/v1/outages", headers=web.bearer(Role.VIEWER))).json()["outages"]
    assert outage["causes"] == ["sbc"]
