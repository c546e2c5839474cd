"""The compensation page over HTTP, on SQLite and PostgreSQL: the rules applied from the page, offers
filtered and paged with their totals, accepted, declined and paid by a manager; refusals on the
page; an agent reads but may not act; forged POSTs refused."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from _web import T0, Web, client, log_in, web
from test_api_compensation import STARTED, ivr_down
from test_incident_room import SAME_ORIGIN, forms

from standby.access.roles import Role
from standby.store.engine import unit_of_work
from standby.store.tables.customers import CallbackEventRow, CallbackRow, CompensationOfferRow

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest



def billing_down(web: Web, customers: int, *, ended: bool = True, first: int = 1) -> int:
    """Billing down four hours, each customer's callback missed, as the outage passes record it.

    The plan's rules give each two offers: £10 (billing stopped over two hours) and £20 (missed).
    """
    with unit_of_work(web.factory) as session:
        outage = ivr_down(session, ended=ended)
        due = STARTED + timedelta(minutes=30)
        for n in range(first, first + customers):
            phone = f"+4477009{n:05d}"
            callback = CallbackRow(
                customer=f"Customer {n:02d}", phone=phone, customer_key=phone, queue="billing",
                vulnerable=n == 1, requested_due_at=due, due_at=due + timedelta(hours=5), state="rescheduled",
                outage_id=outage.id, missed=True, moves=1, rescheduled_at=T0, source="api", created_by="test",
                created_at=STARTED, updated_at=T0,
            )  # fmt: skip
            session.add(callback)
            session.flush()
            for kind in ("flagged", "rescheduled"):
                session.add(
                    CallbackEventRow(
                        callback_id=callback.id, at=T0, kind=kind, actor="standby", text=kind,
                        data={"outage_id": outage.id, "due_at": due.isoformat()}, outage_id=outage.id,
                    )
                )  # fmt: skip
        return outage.id


def offer_ids(html: str) -> list[int]:
    """The offers listed, in order."""
    return [int(i) for i in re.findall(r'<li class="wl-item[^"]*" id="offer-(\d+)"', html)]


def offer_state(web: Web, offer_id: int) -> str:
    with unit_of_work(web.factory) as session:
        row = session.get(CompensationOfferRow, offer_id)
        assert row is not None
        return row.state


async def test_a_manager_applies_the_rules_and_answers_offers(web: Web, client: httpx.AsyncClient) -> None:
    outage = billing_down(web, 26)
    going_on = billing_down(web, 1, ended=False, first=90)
    await log_in(client, Role.MANAGER)
    empty = (await client.get("/compensation")).text
    assert "No offers yet." in empty and forms(empty) == ["/compensation/apply"]
    back = f"/compensation?outage={outage}"
    applied = await client.post(
        "/compensation/apply", data={"outage": str(outage), "back": back}, headers=SAME_ORIGIN
    )
    assert applied.status_code == 303, applied.text[-2000:]
    assert applied.headers["location"] == f"{back}&done=applied&made=52"
    html = (await client.get(applied.headers["location"])).text
    assert "The rules were applied: 52 new offers." in html
    ids = offer_ids(html)
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)  # newest first
    assert 'id="total-GBP-total">£780.00 <span class="muted">(52)</span>' in html
    assert 'id="total-GBP-offered">£780.00 <span class="muted">(52)</span>' in html
    assert "callback due 06:00 missed" in html and "Billing and payments" in html
    following = re.search(r'href="([^"]+)" id="wl-next"', html)
    assert following is not None
    rest = (await client.get(following.group(1).replace("&amp;", "&"))).text
    assert len(offer_ids(rest)) == 2 and 'id="wl-next"' not in rest and 'id="wl-first"' in rest
    again = await client.post(
        "/compensation/apply", data={"outage": str(outage), "back": back}, headers=SAME_ORIGIN
    )
    assert "The rules were applied: 0 new offers." in (await client.get(again.headers["location"])).text

    newest, second = ids[0], ids[1]
    assert forms(html).count(f"/compensation/{newest}/accept") == 1

    async def answer(offer_id: int, what: str) -> httpx.Response:
        return await client.post(f"/compensation/{offer_id}/{what}", data={"back": back}, headers=SAME_ORIGIN)

    accepted = await answer(newest, "accept")
    assert accepted.status_code == 303
    html = (await client.get(accepted.headers["location"])).text
    assert "Recorded: the customer accepted." in html and offer_state(web, newest) == "accepted"
    # Accepted: it can only be paid now, so only Pay is offered.
    actions = [f for f in forms(html) if f.startswith(f"/compensation/{newest}/")]
    assert actions == [f"/compensation/{newest}/pay"]
    assert "accepted" in html and "by user:manager" in html
    refused = await answer(newest, "decline")
    assert refused.status_code == 409 and 'id="wl-error"' in refused.text
    assert f"Offer {newest} is accepted: it can now only be paid, not declined" in refused.text
    assert offer_ids(refused.text)[:2] == [newest, second]  # the page it came from
    await answer(newest, "pay")
    await answer(second, "decline")
    assert (offer_state(web, newest), offer_state(web, second)) == ("paid", "declined")
    paid = (await client.get(f"/compensation?outage={outage}&state=paid")).text
    assert offer_ids(paid) == [newest]
    assert 'id="total-GBP-paid">' in paid and 'id="total-GBP-declined">' in paid

    cases = [
        ("/compensation/apply", {"outage": str(going_on)}, 409, "has not ended"),
        ("/compensation/apply", {"outage": "999999"}, 404, "No outage 999999"),
        ("/compensation/apply", {"outage": "abc"}, 400, "Outage: &#39;abc&#39; is not a number"),
        ("/compensation/apply", {"outage": ""}, 400, "Outage: give the number of the ended outage"),
        (f"/compensation/{second}/pay", {}, 409, f"Offer {second} is declined already"),
        (f"/compensation/{second}/refund", {}, 400, "&#39;refund&#39; is not an answer"),
        ("/compensation/999999/accept", {}, 404, "No compensation offer 999999"),
    ]
    for path, data, status, reason in cases:
        response = await client.post(path, data={**data, "back": "/compensation"}, headers=SAME_ORIGIN)
        assert response.status_code == status, (path, data, response.text[-1500:])
        assert 'id="wl-error"' in response.text, (path, response.text[-3000:])
        assert reason in response.text, (path, reason, response.text[-3000:])


async def test_bad_filters_an_agent_reads_only_and_forged_posts(web: Web, client: httpx.AsyncClient) -> None:
    outage = billing_down(web, 1)
    await log_in(client, Role.ADMIN)
    await client.post("/compensation/apply", data={"outage": str(outage)}, headers=SAME_ORIGIN)
    for query, status, reason in (
        ("state=lost", 400, "State: &#39;lost&#39; is not one of offered, accepted, declined, paid"),
        ("outage=abc", 400, "Outage: &#39;abc&#39; is not a number"),
        ("before=-3", 400, "Before: &#39;-3&#39; is not a number"),
        ("outage=999999", 404, "No outage 999999"),
    ):
        answer = await client.get(f"/compensation?{query}")
        assert answer.status_code == status and reason in answer.text, (query, answer.text[-2000:])
        assert 'id="wl-none"' in answer.text
    offer = offer_ids((await client.get("/compensation?state=offered")).text)[0]
    async with web.client() as agent:
        await log_in(agent, Role.AGENT)
        page = await agent.get("/compensation")
        assert page.status_code == 200 and "Customer 01" in page.text and "Vulnerable" in page.text
        assert forms(page.text) == []  # reads; may not act
        for path, data in ((f"/compensation/{offer}/accept", {}), ("/compensation/apply", {"outage": "1"})):
            refused = await agent.post(path, data=data, headers=SAME_ORIGIN)
            assert refused.status_code == 403 and "does not allow this" in refused.text, path
    forged = await client.post(f"/compensation/{offer}/pay", headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403 and "cross-site" in forged.text
    assert offer_state(web, offer) == "offered"
