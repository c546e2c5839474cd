"""/api/v1/compensation and /api/v1/outages/{id}/customers over HTTP, on SQLite and PostgreSQL:
who may see and do what, offers made once, moved on, totalled; the commander's figures."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from _web import T0, Web, client, web
from sqlalchemy.orm import Session

from standby.access.roles import Role
from standby.store.engine import unit_of_work
from standby.store.tables import OutageRow
from standby.store.tables.customers import CallbackEventRow, CallbackRow, InterruptedCallRow

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

URL = "/api/v1/compensation"
STARTED = T0 - timedelta(hours=5)  # 05:30 in London
ADA, BOB = "+447700900101", "+447700900102"


def ivr_down(session: Session, *, ended: bool) -> OutageRow:
    """The IVR down from STARTED, taking billing with it, ended an hour ago unless `ended` is False."""
    outage = OutageRow(
        started_at=STARTED, detected_at=STARTED, ended_at=T0 - timedelta(hours=1) if ended else None,
        classification="partial", peak_classification="partial", causes=["ivr"], components=["ivr"],
        sites=[], queues=["billing"], degraded_queues=[],
        history={"components": ["ivr"], "sites": [], "queues": ["billing"]},
        in_maintenance=False, summary="IVR down", updated_at=T0,
    )  # fmt: skip
    session.add(outage)
    session.flush()
    return outage


def seed_outage(web: Web, *, ended: bool = True) -> int:
    """Billing down four hours: Ada's callback missed (vulnerable), Bob cut off mid-call."""
    with unit_of_work(web.factory) as session:
        outage = ivr_down(session, ended=ended)
        due = STARTED + timedelta(minutes=30)
        callback = (
            CallbackRow(
                customer="Ada Lovelace", phone=ADA, customer_key=ADA, email="ada@example.com",
                queue="billing", vulnerable=True, requested_due_at=due, due_at=due + timedelta(hours=5),
                state="rescheduled",
                outage_id=outage.id, missed=True, moves=1, rescheduled_at=T0, source="api", created_by="test",
                created_at=STARTED, updated_at=T0,
            )
        )  # fmt: skip
        session.add(callback)
        session.flush()
        # Its history, as the passes write it: what the outage's offers are read from.
        for kind, data in (("flagged", {"due_at": due.isoformat()}), ("rescheduled", {})):
            session.add(
                CallbackEventRow(
                    callback_id=callback.id, at=T0, kind=kind, actor="standby", text=kind,
                    data={"outage_id": outage.id, **data}, outage_id=outage.id,
                )
            )  # fmt: skip
        session.add(
            InterruptedCallRow(
                call_id="c-1", customer="Bob Dylan", phone=BOB, customer_key=BOB, queue="billing",
                started_at=STARTED - timedelta(minutes=3), cut_at=STARTED, outage_id=outage.id,
                state="worked", source="api", created_by="test", created_at=STARTED, updated_at=T0,
            )
        )  # fmt: skip
        return outage.id


async def test_offers_are_made_on_request_moved_on_and_totalled(web: Web, client: httpx.AsyncClient) -> None:
    outage = seed_outage(web)
    manager = web.bearer(Role.MANAGER)
    applied = await client.post(f"{URL}/apply", params={"outage_id": outage}, headers=manager)
    assert applied.status_code == 200, applied.text
    assert applied.json() == {"outage_id": outage, "created": 3}
    again = await client.post(f"{URL}/apply", params={"outage_id": outage}, headers=manager)
    assert again.json() == {"outage_id": outage, "created": 0}
    listed = (await client.get(URL, params={"outage_id": outage}, headers=manager)).json()
    assert listed["next_before"] is None
    assert sorted((o["customer_key"], o["rule"], o["amount_minor"]) for o in listed["offers"]) == [
        (ADA, "rule-1", 1000),
        (ADA, "rule-2", 2000),
        (BOB, "rule-1", 1000),
    ]
    missed = next(o for o in listed["offers"] if o["rule"] == "rule-2")
    assert missed["reason"] == "callback due 06:00 missed" and missed["currency"] == "GBP"
    assert missed["customer"] == "Ada Lovelace" and missed["vulnerable"] and missed["state"] == "offered"

    ada = (await client.get(URL, params={"phone": "+44 7700 900101"}, headers=manager)).json()["offers"]
    assert {o["customer_key"] for o in ada} == {ADA} and len(ada) == 2
    national = (await client.get(URL, params={"phone": "07700 900101"}, headers=manager)).json()["offers"]
    assert national == ada  # read in the plan's country, GB
    accepted = await client.post(f"{URL}/{missed['id']}/accept", headers=manager)
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
    assert accepted.json()["updated_by"] == "token:manager-token"
    declined = await client.post(f"{URL}/{missed['id']}/decline", headers=manager)
    assert declined.status_code == 409
    assert (
        declined.json()["detail"]
        == f"offer {missed['id']} is accepted: it can now only be paid, not declined"
    )
    paid = await client.post(f"{URL}/{missed['id']}/pay", headers=web.bearer(Role.ADMIN))
    assert paid.json()["state"] == "paid"
    assert (await client.get(f"{URL}/{missed['id']}", headers=manager)).json()["state"] == "paid"

    totals = await client.get(f"{URL}/totals", params={"outage_id": outage}, headers=web.bearer(Role.VIEWER))
    assert totals.status_code == 200
    assert totals.json() == {
        "outage_id": outage,
        "totals": [
            {
                "currency": "GBP",
                "total": {"count": 3, "amount_minor": 4000},
                "offered": {"count": 2, "amount_minor": 2000},
                "accepted": {"count": 0, "amount_minor": 0},
                "declined": {"count": 0, "amount_minor": 0},
                "paid": {"count": 1, "amount_minor": 2000},
            }
        ],
    }
    paged = (await client.get(URL, params={"limit": 2}, headers=manager)).json()
    rest = (await client.get(URL, params={"before": paged["next_before"]}, headers=manager)).json()
    assert len(paged["offers"]) == 2 and len(rest["offers"]) == 1 and rest["next_before"] is None


async def test_who_may_see_and_do_what(web: Web, client: httpx.AsyncClient) -> None:
    outage = seed_outage(web)
    await client.post(f"{URL}/apply", params={"outage_id": outage}, headers=web.bearer(Role.MANAGER))
    offer_id = (await client.get(URL, headers=web.bearer(Role.MANAGER))).json()["offers"][0]["id"]
    agent, viewer, responder = (web.bearer(r) for r in (Role.AGENT, Role.VIEWER, Role.RESPONDER))
    # Agents and responders read the offers (they talk to the customers), but pay nothing.
    for reader in (agent, responder):
        assert (await client.get(URL, headers=reader)).status_code == 200
        assert (await client.get(f"{URL}/{offer_id}", headers=reader)).status_code == 200
        for action in ("accept", "decline", "pay"):
            refused = await client.post(f"{URL}/{offer_id}/{action}", headers=reader)
            assert refused.status_code == 403 and "manage_compensation" in refused.json()["detail"]
        assert (await client.post(f"{URL}/apply?outage_id={outage}", headers=reader)).status_code == 403
    # Viewers see the totals and the figures, never a customer.
    assert (await client.get(URL, headers=viewer)).status_code == 403
    assert (await client.get(f"{URL}/{offer_id}", headers=viewer)).status_code == 403
    assert (await client.get(f"{URL}/totals", headers=viewer)).status_code == 200
    assert (await client.get(f"/api/v1/outages/{outage}/customers", headers=viewer)).status_code == 200
    assert (await client.get(f"{URL}/totals")).status_code == 401


async def test_unknown_and_bad_requests(web: Web, client: httpx.AsyncClient) -> None:
    open_outage = seed_outage(web, ended=False)
    manager = web.bearer(Role.MANAGER)
    assert (await client.get(f"{URL}/999", headers=manager)).status_code == 404
    assert (await client.post(f"{URL}/999/pay", headers=manager)).status_code == 404
    assert (await client.get(f"{URL}/totals?outage_id=999", headers=manager)).status_code == 404
    assert (await client.get("/api/v1/outages/999/customers", headers=manager)).status_code == 404
    unknown = await client.post(f"{URL}/apply?outage_id=999", headers=manager)
    assert unknown.status_code == 404 and unknown.json()["detail"] == "no outage 999"
    still_open = await client.post(f"{URL}/apply?outage_id={open_outage}", headers=manager)
    assert still_open.status_code == 409 and "has not ended" in still_open.json()["detail"]
    bad_phone = await client.get(URL, params={"phone": "12"}, headers=manager)
    assert bad_phone.status_code == 400 and "phone" in bad_phone.json()["detail"]
    bad_state = await client.get(URL, params={"state": "lost"}, headers=manager)
    assert bad_state.status_code == 422
    assert (await client.post(f"{URL}/apply", headers=manager)).status_code == 422


async def test_the_commander_sees_counts_only(web: Web, client: httpx.AsyncClient) -> None:
    outage = seed_outage(web)
    await client.post(f"{URL}/apply", params={"outage_id": outage}, headers=web.bearer(Role.MANAGER))
    response = await client.get(f"/api/v1/outages/{outage}/customers", headers=web.bearer(Role.VIEWER))
    assert response.status_code == 200
    body = response.json()
    assert body["headline"] == (
        "2 customers affected (1 vulnerable); 1 callback, 1 missed, 1 rescheduled;"
        " 1 call cut off, 1 followed up; £40.00 offered"
    )
    assert body["customers"] == {"affected": 2, "vulnerable": 1}
    assert body["callbacks"]["flagged"] == 1 and body["calls"] == {"cut_off": 1, "followed_up": 1, "open": 0}
    assert body["compensation"][0]["total"] == {"count": 3, "amount_minor": 4000}
    assert "Ada" not in response.text and ADA not in response.text
