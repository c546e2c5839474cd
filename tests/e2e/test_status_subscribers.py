"""Subscribing to the status page, on SQLite and PostgreSQL: from sign-up to one-click unsubscribe
through a real SMTP server (aiosmtpd) with RFC 8058's headers; confirmation links forged or replayed
refused; each notice to each confirmed subscriber exactly once across repeated and interrupted
fan-outs, nothing to the unconfirmed; the rate limits; identical answers whoever is subscribed; a
webhook subscriber's POSTs signed with its own secret, on a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from _receivers import HttpReceiver, SmtpReceiver
from _status import ivr_back, ivr_down, ivr_exercise, refresh
from _subscribers import PUBLIC, SECRET_KEY, links, send_all, sign_up, subscriber_web
from _web import Web
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from standby.access.roles import Role
from standby.config import Settings
from standby.notify.channels.webhook import verify
from standby.status.board import StatusBoard
from standby.status.fanout_service import tell_subscribers
from standby.store.engine import unit_of_work
from standby.store.tables import MessageRow, StatusAnnouncementRow, StatusSubscriberRow

pytestmark = pytest.mark.anyio

ANN = "ann@customers.example"


def mails_to(smtp: SmtpReceiver, address: str) -> list[str]:
    return [str(m.message["Subject"]) for m in smtp.mails if address in m.rcpt_tos]


def body_of(smtp: SmtpReceiver, address: str, n: int) -> str:
    mail = [m for m in smtp.mails if address in m.rcpt_tos][n].message
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def post(web: Web, path: str, **kwargs: object) -> tuple[int, str]:
    async with web.client() as client:
        response = await client.post(path, **kwargs)  # type: ignore[arg-type]
    return response.status_code, response.text


async def test_from_sign_up_to_one_click_unsubscribe_over_real_smtp(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = subscriber_web(session_factory, tmp_path)
    async with SmtpReceiver() as smtp:
        settings = Settings(
            database_url="sqlite://", data_dir=tmp_path, smtp_url=smtp.url(),
            smtp_from="Northwind status <status@northwind.example>", secret_key=SECRET_KEY,
        )
        asked = await sign_up(web, email=" Ann@Customers.example ", services=["billing"])
        assert asked.status_code == 202 and "a link to confirm is on its way" in asked.text
        await send_all(web, settings)
        assert mails_to(smtp, ANN) == ["Confirm: Northwind Energy Customer Care status updates"]
        (confirm_link,) = links(body_of(smtp, ANN, 0))

        # Nothing but the confirmation before the link is followed, even through an outage.
        incident_id = ivr_down(web, tmp_path)
        refresh(web)
        await send_all(web, settings)
        assert mails_to(smtp, ANN) == ["Confirm: Northwind Energy Customer Care status updates"]

        path = confirm_link.removeprefix(PUBLIC)
        async with web.client() as client:
            page = await client.get(path)
        assert page.status_code == 200 and 'method="post"' in page.text  # a GET changes nothing
        with unit_of_work(web.factory) as session:
            assert session.scalars(select(StatusSubscriberRow.state)).one() == "pending"
        assert (await post(web, path))[0] == 200
        status, text = await post(web, path)  # replayed
        assert status == 410 and "already used" in text
        forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
        status, text = await post(web, forged)
        assert status == 400 and "not valid" in text

        # The next public update reaches her, once, with RFC 8058's headers.
        async with web.client() as client:
            update = await client.post(
                f"/api/v1/incidents/{incident_id}/status-updates",
                json={"status": "identified", "text": "We found the fault in our phone menu."},
                headers=web.bearer(Role.MANAGER),
            )
        assert update.status_code in (200, 201), update.text
        refresh(web)
        await send_all(web, settings)
        subjects = mails_to(smtp, ANN)
        assert subjects[1:] == [
            "[Northwind Energy Customer Care status] Service disruption: Billing and payments,"
            " Moving home (sales): Identified"
        ]
        mail = [m for m in smtp.mails if ANN in m.rcpt_tos][1].message
        leave = str(mail["List-Unsubscribe"])
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert leave.startswith(f"<{PUBLIC}/status/unsubscribe/") and leave.endswith(">")
        assert leave[1:-1] in body_of(smtp, ANN, 1)

        # The mail provider's one-click POST, then nothing more.
        status, _ = await post(
            web, leave[1:-1].removeprefix(PUBLIC), content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 200
        ivr_back(web, tmp_path, incident_id)
        refresh(web)
        await send_all(web, settings)
        assert len(mails_to(smtp, ANN)) == 2
        with unit_of_work(web.factory) as session:
            assert session.scalars(select(StatusSubscriberRow.state)).one() == "unsubscribed"


def confirmed(web: Web, address: str) -> None:
    """Mark a sign-up confirmed as following its link does (the link itself is tested above)."""
    with unit_of_work(web.factory) as session:
        row = session.scalars(select(StatusSubscriberRow).where(StatusSubscriberRow.address == address)).one()
        row.state, row.services, row.confirm_nonce = "confirmed", row.requested_services, None
        row.confirmed_at = web.clock.now()


def status_messages(web: Web) -> list[tuple[str, str]]:
    with unit_of_work(web.factory) as session:
        rows = session.execute(
            select(MessageRow.recipient, MessageRow.idempotency_key).where(MessageRow.purpose == "status")
        ).all()
    return sorted((r.recipient, r.idempotency_key.rsplit(":", 1)[1]) for r in rows)


async def test_each_notice_reaches_each_confirmed_subscriber_exactly_once(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = subscriber_web(session_factory, tmp_path)
    for form in ({"email": "a@x.example"}, {"phone": "+447700900111"}, {"email": "c@x.example"}):
        assert (await sign_up(web, **form)).status_code == 202
    for form in ({"email": "gas@x.example", "services": "emergency"},):
        assert (await sign_up(web, **form)).status_code == 202
    confirmed(web, "a@x.example")
    confirmed(web, "+447700900111")
    confirmed(web, "gas@x.example")  # only the gas line, which the IVR outage does not touch
    ivr_down(web, tmp_path)

    # A fan-out that dies before its commit leaves neither messages nor its claim.
    # The snapshot as the board builds it, from a board that tells no one (the app's would).
    quiet = StatusBoard(web.factory, web.clock, lambda _snapshot: {"/status": (b"", "text/html")})
    assert quiet.refresh() is True
    snapshot = quiet.snapshot
    assert snapshot is not None
    with pytest.raises(RuntimeError), unit_of_work(web.factory) as session:
        told = tell_subscribers(session, snapshot, base_url=PUBLIC, now=web.clock.now())
        assert told == 4  # the incident's update and the planned maintenance, to each of two
        raise RuntimeError("the server died here")
    assert status_messages(web) == []

    # First run, then a second on the same snapshot, then one whose claim was lost: still once each.
    with unit_of_work(web.factory) as session:
        first = tell_subscribers(session, snapshot, base_url=PUBLIC, now=web.clock.now())
    with unit_of_work(web.factory) as session:
        again = tell_subscribers(session, snapshot, base_url=PUBLIC, now=web.clock.now())
        session.query(StatusAnnouncementRow).delete()
    with unit_of_work(web.factory) as session:
        tell_subscribers(session, snapshot, base_url=PUBLIC, now=web.clock.now())
    assert web.app.state.status_board.refresh(force=True) is True  # and the app's own board
    assert (first, again) == (4, 0)
    told = status_messages(web)
    assert len(told) == len(set(told)) == 4
    assert sorted({r for r, _ in told}) == ["+447700900111", "a@x.example"]
    assert {k.split("-")[0] for _, k in told} == {"update", "maintenance"}
    with unit_of_work(web.factory) as session:
        to_pending = session.scalar(
            select(func.count()).where(MessageRow.recipient == "c@x.example", MessageRow.purpose == "status")
        )
        confirmations = session.scalar(select(func.count()).where(MessageRow.purpose == "status-confirm"))
    assert to_pending == 0 and confirmations == 4


async def test_an_exercise_is_never_told_to_subscribers(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = subscriber_web(session_factory, tmp_path)
    assert (await sign_up(web, email="a@x.example")).status_code == 202
    confirmed(web, "a@x.example")
    _, incident_id = ivr_exercise(web, tmp_path)
    assert web.app.state.status_board.refresh(force=True) is True  # the board fans out as it renders
    with unit_of_work(web.factory) as session:
        snapshot = web.app.state.status_board.snapshot
        assert snapshot is not None
        tell_subscribers(session, snapshot, base_url=PUBLIC, now=web.clock.now())
    told = status_messages(web)
    assert [k for _, k in told if k.startswith("update")] == []  # no notice of the exercise
    with unit_of_work(web.factory) as session:
        about = session.scalar(
            select(func.count()).where(MessageRow.purpose == "status", MessageRow.incident_id == incident_id)
        )
    assert about == 0


async def test_the_same_answer_whoever_is_subscribed_and_the_rate_limits(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = subscriber_web(session_factory, tmp_path)
    new = await sign_up(web, "192.0.2.7", email="new@x.example")
    assert (await sign_up(web, "192.0.2.8", email="known@x.example")).status_code == 202
    confirmed(web, "known@x.example")
    known = await sign_up(web, "192.0.2.7", email="known@x.example")
    again = await sign_up(web, "192.0.2.7", email="new@x.example")
    assert new.status_code == known.status_code == again.status_code == 202
    assert new.text == known.text == again.text
    with unit_of_work(web.factory) as session:
        assert session.scalars(
            select(StatusSubscriberRow.state).where(StatusSubscriberRow.address == "known@x.example")
        ).one() == "confirmed"  # a sign-up changes nothing in force before its link is followed

    # Per address: three an hour, from anywhere.
    assert (await sign_up(web, "192.0.2.9", email="new@x.example")).status_code == 202
    limited = await sign_up(web, "192.0.2.10", email="new@x.example")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3600"
    # Per client: ten an hour, whatever the addresses.
    answers = [(await sign_up(web, "198.51.100.1", email=f"p{n}@x.example")).status_code for n in range(11)]
    assert answers == [202] * 10 + [429]

    # Bad input says what; another site's form is refused; neither sends anything.
    bad = await sign_up(web, "203.0.113.5", email="not-an-address")
    assert bad.status_code == 400 and "not an email address" in bad.text
    both = await sign_up(web, "203.0.113.5", email="a@x.example", phone="+447700900111")
    assert both.status_code == 400 and "give one of" in both.text
    async with web.client() as client:
        cross = await client.post(
            "/status/subscribe", data={"email": "x@x.example"}, headers={"Sec-Fetch-Site": "cross-site"}
        )
    assert cross.status_code == 403
    with unit_of_work(web.factory) as session:
        addresses = set(session.scalars(select(StatusSubscriberRow.address)))
    assert "x@x.example" not in addresses and "not-an-address" not in addresses


async def test_a_webhook_subscriber_gets_posts_signed_with_its_own_secret(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    web = subscriber_web(session_factory, tmp_path)
    secret = "hook-secret-0123456789"
    async with HttpReceiver() as receiver:
        settings = Settings(database_url="sqlite://", data_dir=tmp_path, secret_key=SECRET_KEY)
        hook = f"{receiver.url}/status-hook"
        assert (await sign_up(web, webhook_url=hook, secret=secret)).status_code == 202
        await send_all(web, settings)
        (confirmation,) = receiver.requests

        def signed(request: object) -> bool:
            headers, body = request.headers, request.body  # type: ignore[attr-defined]
            return verify(
                secret.encode(), headers["x-standby-timestamp"], body, headers["x-standby-signature"],
                now=time.time(),
            )

        assert signed(confirmation) and confirmation.path == "/status-hook"
        assert secret not in confirmation.body.decode()
        data = confirmation.json()["data"]
        assert data["type"] == "subscription.confirm"
        assert (await post(web, data["confirm_url"].removeprefix(PUBLIC)))[0] == 200

        ivr_down(web, tmp_path)
        refresh(web)
        await send_all(web, settings)
        assert len(receiver.requests) == 3  # the confirmation, the planned maintenance, the incident
        assert all(signed(r) for r in receiver.requests)
        kinds = {r.json()["data"]["type"]: r for r in receiver.requests}
        assert set(kinds) == {"subscription.confirm", "maintenance.scheduled", "incident.update"}
        notice = kinds["incident.update"]
        body = notice.json()
        assert body["event"] == "status" and body["data"]["type"] == "incident.update"
        assert body["data"]["status"] == "investigating" and body["data"]["url"].startswith(
            f"{PUBLIC}/status/incidents/"
        )
        assert body["data"]["unsubscribe_url"].startswith(f"{PUBLIC}/status/unsubscribe/")
        assert not verify(b"another-secret-entirely", notice.headers["x-standby-timestamp"], notice.body,
                          notice.headers["x-standby-signature"], now=time.time())
