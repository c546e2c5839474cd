"""/api/v1/notifications over HTTP, on SQLite and PostgreSQL: doors, listing, detail, retry, cancel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from _web import T0, Web, log_in, make_web
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.notify import outbox, outbox_delivery
from standby.store.engine import unit_of_work

pytestmark = pytest.mark.anyio

URL = "/api/v1/notifications"


@pytest.fixture
def web(session_factory: sessionmaker[Session], tmp_path: Path) -> Web:
    """The app without a plan: the outbox needs none."""
    return make_web(session_factory, tmp_path, with_plan=False)


@pytest.fixture
async def client(web: Web) -> AsyncIterator[httpx.AsyncClient]:
    async with web.client() as c:
        yield c


def seed(web: Web) -> dict[str, int]:
    """A sent SMS, a parked email, a pending webhook (a Slack URL: a secret), an other incident's SMS."""
    with unit_of_work(web.factory) as session:
        sms = outbox.enqueue(
            session,
            key="i1:page:ana:sms",
            channel="sms",
            recipient="+447700900123",
            recipient_name="Ana Ruiz",
            body="ACD down",
            purpose="page",
            incident_id=1,
            now=T0,
        )
        mail = outbox.enqueue(
            session,
            key="i1:page:ana:email",
            channel="email",
            recipient="ana@example.org",
            subject="ACD down",
            body="ACD down",
            purpose="page",
            incident_id=1,
            now=T0,
        )
        hook = outbox.enqueue(
            session,
            key="i1:update:slack",
            channel="webhook",
            recipient="https://hooks.slack.com/services/T000/B000/SECRETTOKEN",
            body="ACD down",
            payload={"style": "slack"},
            purpose="update",
            incident_id=1,
            now=T0 + timedelta(minutes=1),
        )
        other = outbox.enqueue(
            session,
            key="i2:page:bo:sms",
            channel="sms",
            recipient="+447700900124",
            body="CRM down",
            purpose="page",
            incident_id=2,
            now=T0,
        )
        outbox_delivery.claim_due(session, worker_id="w", now=T0, limit=2, lease=timedelta(seconds=60))
        outbox_delivery.mark_sent(session, message_id=sms.id, worker_id="w", now=T0, provider_id="SM1")
        outbox_delivery.mark_failed(
            session,
            message_id=mail.id,
            worker_id="w",
            now=T0,
            permanent=True,
            error="the mail server at smtp://mail:25 refused the recipient: 550 no such user",
        )
    return {"sms": sms.id, "mail": mail.id, "hook": hook.id, "other": other.id}


async def test_every_door_checks_who_is_asking(web: Web, client: httpx.AsyncClient) -> None:
    ids = seed(web)
    doors = [
        ("GET", URL),
        ("GET", f"{URL}/{ids['sms']}"),
        ("POST", f"{URL}/{ids['mail']}/retry"),
        ("POST", f"{URL}/{ids['hook']}/cancel"),
    ]
    for method, path in doors:
        assert (await client.request(method, path)).status_code == 401, (method, path)
        # Agents never read messages: they carry phone numbers and addresses.
        agent = await client.request(method, path, headers=web.bearer(Role.AGENT))
        assert agent.status_code == 403, (method, path)
        viewer = await client.request(method, path, headers=web.bearer(Role.VIEWER))
        if method == "GET":
            assert viewer.status_code == 200, (method, path, viewer.text)
        else:
            assert viewer.status_code == 403 and "manage_notifications" in viewer.json()["detail"]


async def test_list_filter_page_and_detail(web: Web, client: httpx.AsyncClient) -> None:
    ids = seed(web)
    headers = web.bearer(Role.VIEWER)
    listed = (await client.get(URL, headers=headers)).json()
    assert [n["id"] for n in listed["notifications"]] == sorted(ids.values(), reverse=True)
    assert listed["counts"] == {"pending": 2, "sending": 0, "sent": 1, "parked": 1, "cancelled": 0}
    one = (await client.get(f"{URL}?incident=1&limit=2", headers=headers)).json()
    assert [n["id"] for n in one["notifications"]] == [ids["hook"], ids["mail"]]
    assert one["counts"]["pending"] == 1
    rest = (await client.get(f"{URL}?incident=1&before={ids['mail']}", headers=headers)).json()
    assert [n["id"] for n in rest["notifications"]] == [ids["sms"]]
    parked = (await client.get(f"{URL}?state=parked", headers=headers)).json()["notifications"]
    assert [n["id"] for n in parked] == [ids["mail"]]
    assert parked[0]["last_error"].endswith("refused the recipient: 550 no such user")
    assert parked[0]["parked_at"] and parked[0]["next_attempt_at"] is None and parked[0]["attempts"] == 1
    sms = (await client.get(f"{URL}/{ids['sms']}", headers=headers)).json()
    assert sms["state"] == "sent" and sms["provider_id"] == "SM1" and sms["recipient"] == "+447700900123"
    assert sms["key"] == "i1:page:ana:sms" and sms["recipient_name"] == "Ana Ruiz" and sms["sent_at"]
    hook = (await client.get(f"{URL}/{ids['hook']}", headers=headers)).json()
    assert hook["recipient"] == "https://hooks.slack.com/…" and hook["style"] == "slack"
    assert "SECRETTOKEN" not in str(listed)
    assert hook["next_attempt_at"].startswith("2026-06-15T09:31")
    # Bad requests get a clear answer.
    missing = await client.get(f"{URL}/999", headers=headers)
    assert missing.status_code == 404 and missing.json() == {"detail": "no message with id 999"}
    bad_state = await client.get(f"{URL}?state=lost", headers=headers)
    assert bad_state.status_code == 422 and "state" in str(bad_state.json()["detail"])
    assert (await client.get(f"{URL}?limit=0", headers=headers)).status_code == 422
    assert (await client.post(f"{URL}/999/retry", headers=web.bearer(Role.MANAGER))).status_code == 404


async def test_retry_a_parked_message_and_cancel_a_waiting_one(web: Web, client: httpx.AsyncClient) -> None:
    ids = seed(web)
    headers = web.bearer(Role.RESPONDER)
    web.clock.advance(timedelta(minutes=5))
    retried = await client.post(f"{URL}/{ids['mail']}/retry", headers=headers)
    assert retried.status_code == 200, retried.text
    body = retried.json()
    assert body["state"] == "pending" and body["attempts"] == 0 and body["parked_at"] is None
    assert body["next_attempt_at"].startswith("2026-06-15T09:35") and body["key"] == "i1:page:ana:email"
    again = await client.post(f"{URL}/{ids['mail']}/retry", headers=headers)
    assert again.status_code == 409 and "is pending, not parked" in again.json()["detail"]
    cancelled = await client.post(f"{URL}/{ids['hook']}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    sent = await client.post(f"{URL}/{ids['sms']}/cancel", headers=headers)
    assert (
        sent.status_code == 409
        and sent.json()["detail"] == f"message {ids['sms']} cannot be cancelled: it was sent"
    )
    # A manager logged in with the cookie may do it too.
    cancelled_before = await client.post(f"{URL}/{ids['other']}/cancel", headers=web.bearer(Role.MANAGER))
    assert cancelled_before.status_code == 200
    await log_in(client, Role.MANAGER)
    by_cookie = await client.post(f"{URL}/{ids['other']}/retry")
    assert by_cookie.status_code == 409 and "is cancelled, not parked" in by_cookie.json()["detail"]
