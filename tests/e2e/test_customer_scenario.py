"""The customers of one outage, end to end on SQLite and PostgreSQL, through the API and the
response pass: callbacks and calls come in, the IVR dies, callbacks are flagged as their
time comes, an agent logs an outcome, the IVR comes back, callbacks are rescheduled
(vulnerable first) and each customer told once, compensation is offered by the plan's
rules, and the commander sees it all on the API and the incident's timeline.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from _web import T0, Web, client, web
from sqlalchemy import select

from standby.access.roles import Role
from standby.config import Settings
from standby.customers.compensation_service import apply_rules
from standby.detect.correlation import Correlator
from standby.detect.health import ProbeHealth
from standby.detect.leases import CheckRecord, record_checks, sync_probes
from standby.detect.outages import correlate
from standby.plan.versions import current_plan
from standby.respond.responder import ResponseSettings, respond_once
from standby.store.engine import unit_of_work
from standby.store.tables import MessageRow, ProbeRow

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

SETTINGS = ResponseSettings(
    secret="s" * 40,
    base_url="https://standby.example.org",
    config=Settings(database_url="sqlite://", public_url="https://standby.example.org"),
)
DOWN_AT = T0 + timedelta(minutes=10)  # 09:40 UTC, 10:40 in London
UPSTREAM = ("trunk-a", "trunk-b", "sbc", "acd")
UP_AT = DOWN_AT + timedelta(minutes=150)  # 12:10 UTC: over the plan's 120-minute rule
CALLBACKS = (
    "customer,phone,email,due_at,queue,vulnerable,notes,external_id\n"
    "Ann Archer,+447700900201,,2026-06-15T11:00:00+01:00,billing,no,disputed bill,crm-1\n"
    "Ben Brook,07700 900202,,2026-06-15T10:30:00Z,billing,yes,carer; speak slowly,crm-2\n"
    "Cat Cole,+447700900203,,2026-06-15T11:00:00Z,moving,,,crm-3\n"
    "Dan Dale,+447700900204,,2026-06-15T10:15:00Z,emergency,,,crm-4\n"
    "Eve East,+447700900205,,2026-06-15T14:00:00Z,billing,,after the outage,crm-5\n"
)
CALLS = (
    "call_id,customer,phone,queue,agent,started_at,vulnerable\n"
    "k-1,Fay Ford,+447700900206,billing,agent-3,2026-06-15T09:35:00Z,yes\n"
    "k-2,Gus Gray,+447700900207,billing,agent-4,2026-06-15T09:38:30Z,no\n"
    "k-3,Hal Hunt,+447700900208,emergency,agent-5,2026-06-15T09:36:00Z,no\n"
)


def ivr(web: Web, at: datetime, *, up: bool) -> None:
    """The IVR's probe reports, and Detect correlates, as the worker would."""
    with unit_of_work(web.factory) as session:
        plan = current_plan(session)
        assert plan is not None
        sync_probes(session, plan=plan[1], now=at)
        shas = dict(list(session.execute(select(ProbeRow.component_id, ProbeRow.settings_sha))))
        healthy = ProbeHealth("up", 0, 2, at)
        # What the IVR depends on is seen up, so the IVR itself is the cause.
        records = [CheckRecord(c, shas[c], at, True, "ok", 1.0, None, healthy) for c in UPSTREAM]
        health = healthy if up else ProbeHealth("down", 3, 0, at)
        records.append(CheckRecord("ivr", shas["ivr"], at, up, "ok" if up else "silent", None, None, health))
        record_checks(session, worker_id="w", records=records)
    with unit_of_work(web.factory) as session:
        correlate(session, correlator=Correlator.from_plan(plan[1]), maintenance=(), now=at, holder="w")


def respond(web: Web, at: datetime) -> Any:
    """One response pass, then compensation in its own transaction, as the worker runs them."""
    web.clock.set(at)
    with unit_of_work(web.factory) as session:
        found = current_plan(session)
        assert found is not None
        summary = respond_once(session, plan=found[1], now=at, settings=SETTINGS, holder="w")
    with unit_of_work(web.factory) as session:
        apply_rules(session, plan=found[1], now=at)
    return summary


async def callbacks(client: httpx.AsyncClient, web: Web) -> dict[str, dict[str, Any]]:
    response = await client.get("/api/v1/callbacks", headers=web.bearer(Role.MANAGER))
    assert response.status_code == 200, response.text
    return {c["external_id"]: c for c in response.json()["callbacks"]}


def customer_texts(web: Web) -> list[MessageRow]:
    with unit_of_work(web.factory) as session:
        rows = session.scalars(select(MessageRow).where(MessageRow.idempotency_key.like("callback:%")))
        return list(rows)


async def test_an_outages_customers_are_found_rescheduled_told_once_and_compensated(
    web: Web, client: httpx.AsyncClient
) -> None:
    manager = web.bearer(Role.MANAGER)
    booked = await client.post(
        "/api/v1/callbacks", content=CALLBACKS, headers={**manager, "Content-Type": "text/csv"}
    )
    assert booked.status_code == 200 and booked.json()["imported"] == 5, booked.text

    # The IVR dies: billing and moving stop answering; emergency goes on. The platform
    # reports the calls it dropped before Standby has confirmed the outage.
    web.clock.set(DOWN_AT + timedelta(seconds=20))
    cut = await client.post("/api/v1/calls", content=CALLS, headers={**manager, "Content-Type": "text/csv"})
    assert cut.status_code == 200 and cut.json()["imported"] == 3, cut.text
    ivr(web, DOWN_AT, up=False)
    first = respond(web, DOWN_AT + timedelta(seconds=30))
    assert len(first.opened) == 1
    outage = (await client.get("/api/v1/outages", headers=manager)).json()["outages"][0]
    assert set(outage["queues"]) == {"billing", "moving"}
    # Flagged at once: the billing callback due 10:00 UTC, within the next half hour.
    ledger = await callbacks(client, web)
    assert [k for k, c in ledger.items() if c["state"] == "flagged"] == ["crm-1"]
    assert ledger["crm-4"]["state"] == "scheduled"  # emergency still answers
    # The calls cut off on billing are linked to the outage, each with how long it had run.
    worklist = (await client.get("/api/v1/calls", headers=web.bearer(Role.AGENT))).json()["calls"]
    linked = {c["call_id"]: c for c in worklist}
    assert linked["k-1"]["outage_id"] == outage["id"] and linked["k-1"]["seconds_into_call"] == 5 * 60
    assert linked["k-3"]["outage_id"] is None  # emergency was never stopped

    # An agent logs what a customer wanted while the CRM cannot take it.
    web.clock.set(DOWN_AT + timedelta(minutes=30))
    logged = await client.post(
        "/api/v1/outcomes",
        json={
            "client_id": "page-entry-0001",
            "customer": "Gus Gray",
            "phone": "+447700900207",
            "queue": "billing",
            "reason": "bill too high",
            "outcome": "explained the tariff",
            "follow_up": True,
        },
        headers=web.bearer(Role.AGENT),
    )
    assert logged.status_code == 200, logged.text
    worked = await client.post(
        f"/api/v1/calls/{linked['k-2']['id']}/work",
        json={"outcome": "called_back"},
        headers=web.bearer(Role.AGENT),
    )
    assert worked.status_code == 200

    # Later passes flag the other callbacks as their times come.
    respond(web, DOWN_AT + timedelta(minutes=60))
    ledger = await callbacks(client, web)
    assert {k for k, c in ledger.items() if c["state"] == "flagged"} == {"crm-1", "crm-2", "crm-3"}
    assert ledger["crm-5"]["state"] == "scheduled"
    assert customer_texts(web) == []  # nobody is told anything until there is a real new time

    # The IVR is back after 150 minutes.
    ivr(web, UP_AT, up=True)
    respond(web, UP_AT + timedelta(seconds=5))
    respond(web, UP_AT + timedelta(seconds=10))  # a second pass changes nothing
    ledger = await callbacks(client, web)
    moved = {k: ledger[k] for k in ("crm-1", "crm-2", "crm-3")}
    for key, callback in moved.items():
        assert callback["state"] == "rescheduled" and callback["missed"] is True, key
        assert datetime.fromisoformat(callback["due_at"]) >= UP_AT, key
        assert callback["outage_id"] == outage["id"]
    billing_vulnerable, billing_other = moved["crm-2"], moved["crm-1"]
    assert billing_vulnerable["due_at"] <= billing_other["due_at"]
    assert ledger["crm-4"]["state"] == "scheduled" and ledger["crm-5"]["state"] == "scheduled"
    texts = customer_texts(web)
    assert sorted(t.recipient for t in texts) == ["+447700900201", "+447700900202", "+447700900203"]

    # Compensation: the missed callbacks (20 each) and every billing or moving customer of
    # an outage over 120 minutes (10 each): three callbacks and two calls.
    totals = await client.get(
        f"/api/v1/compensation/totals?outage_id={outage['id']}", headers=web.bearer(Role.VIEWER)
    )
    assert totals.status_code == 200, totals.text
    offers = (await client.get(f"/api/v1/compensation?outage_id={outage['id']}", headers=manager)).json()
    assert len(offers["offers"]) == 8
    assert sum(o["amount_minor"] for o in offers["offers"]) == 3 * 2000 + 5 * 1000

    # What the commander sees, on the API (counts only) and on the incident's timeline.
    seen = await client.get(f"/api/v1/outages/{outage['id']}/customers", headers=web.bearer(Role.VIEWER))
    assert seen.status_code == 200, seen.text
    figures = seen.json()
    assert figures["customers"] == {"affected": 5, "vulnerable": 2}
    assert figures["callbacks"]["missed"] == 3 and figures["callbacks"]["rescheduled"] == 3
    assert figures["calls"]["cut_off"] == 2 and figures["calls"]["followed_up"] == 1
    assert figures["outcomes"]["logged"] == 1
    incident = (await client.get("/api/v1/incidents", headers=manager)).json()["incidents"][0]
    timeline = (await client.get(f"/api/v1/incidents/{incident['id']}", headers=manager)).json()["timeline"]
    lines = [e["text"] for e in timeline if e["kind"] == "customers"]
    assert lines and "5 customers affected (2 vulnerable)" in lines[-1]
