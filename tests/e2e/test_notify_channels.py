"""The channels against real receivers on 127.0.0.1: aiosmtpd for email, HTTP servers for SMS and
webhooks, well-behaved and hostile; then the whole path, outbox to receiver, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from _receivers import HANG, Garbage, HttpReceiver, Reply, Request, SmtpReceiver, TcpServer

from standby.clock import SystemClock
from standby.notify import outbox, outbox_desk
from standby.notify.channels.email import EmailChannel, message_id
from standby.notify.channels.protocol import OutgoingMessage, PermanentFailure, TemporaryFailure
from standby.notify.channels.sms import SmsChannel
from standby.notify.channels.webhook import WebhookChannel, verify
from standby.notify.outbox_delivery import RetryPolicy
from standby.notify.sender import Channels, NotifySender, SenderOptions
from standby.store.engine import unit_of_work

pytestmark = pytest.mark.anyio

SECRET = b"a-webhook-secret-shared-with-receivers"
TIMEOUT_S = 0.5


def mail(key: str = "incident-9:page:ana:email", **changes) -> OutgoingMessage:
    values = {
        "id": 1,
        "key": key,
        "channel": "email",
        "recipient": "ana@example.org",
        "recipient_name": "Ana Ruiz",
        "subject": "Total outage: ACD down — act now",
        "body": "The ACD is down since 09:30.\n.A line that starts with a dot\nCafé ☕",
        "purpose": "page",
        "incident_id": 9,
    }
    values.update(changes)
    return OutgoingMessage(**values)


def text(key: str = "k1", to: str = "+447700900123", body: str = "ACD down: use site B") -> OutgoingMessage:
    return OutgoingMessage(id=2, key=key, channel="sms", recipient=to, body=body)


async def test_email_arrives_with_its_subject_body_headers_and_a_message_id_from_its_key():
    async with SmtpReceiver() as server:
        channel = EmailChannel(url=server.url(), sender="Standby <standby@example.org>", timeout_s=2)
        try:
            delivery = await channel.send(mail())
            more = [channel.send(mail(f"k-{i}", recipient=f"agent{i}@example.org")) for i in range(20)]
            await asyncio.gather(*more)
        finally:
            await channel.aclose()
    assert delivery.provider_id == "Q1"
    first = server.mails[0]
    assert first.mail_from == "standby@example.org" and first.rcpt_tos == ["ana@example.org"]
    message = first.message
    assert message["Subject"] == "Total outage: ACD down — act now"
    assert message["From"] == "Standby <standby@example.org>"
    assert message["To"] == "Ana Ruiz <ana@example.org>"
    assert message["Message-ID"] == message_id("incident-9:page:ana:email")
    assert message["X-Standby-Idempotency-Key"] == "incident-9:page:ana:email"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain" and message.get_content_charset() == "utf-8"
    body = message.get_content().replace("\r\n", "\n")
    assert body == "The ACD is down since 09:30.\n.A line that starts with a dot\nCafé ☕\n"
    assert len(server.mails) == 21 and len(server.ids) == 21
    # Connections are kept and reused: 21 emails over at most four of them.
    assert len(server._protocols) <= 4


async def test_email_logs_in_and_a_refused_login_says_so_without_the_password():
    async with SmtpReceiver(login=("standby", "s3cret pass")) as server:
        good = EmailChannel(
            url=server.url("standby", "s3cret%20pass"), sender="standby@example.org", timeout_s=2
        )
        bad = EmailChannel(
            url=server.url("standby", "wrong-password"), sender="standby@example.org", timeout_s=2
        )
        try:
            await good.send(mail())
            with pytest.raises(TemporaryFailure) as caught:
                await bad.send(mail())
        finally:
            await good.aclose()
            await bad.aclose()
    assert server.logins == ["standby", "standby"] and len(server.mails) == 1
    assert "refused the login (535" in caught.value.reason
    assert "check the user and password in STANDBY_SMTP_URL" in caught.value.reason
    assert "wrong-password" not in caught.value.reason


async def test_a_refused_recipient_is_permanent_and_a_deferred_one_temporary():
    async with SmtpReceiver() as server:
        server.refuse.add("gone@example.org")
        server.defer.add("busy@example.org")
        channel = EmailChannel(url=server.url(), sender="standby@example.org", timeout_s=2)
        try:
            with pytest.raises(PermanentFailure, match=r"refused the recipient: 550 5\.1\.1"):
                await channel.send(mail(recipient="gone@example.org"))
            with pytest.raises(TemporaryFailure, match="deferred the recipient: 450"):
                await channel.send(mail(recipient="busy@example.org"))
            await channel.send(mail())  # the same connection, reset, still works
        finally:
            await channel.aclose()
    assert [m.rcpt_tos for m in server.mails] == [["ana@example.org"]]


async def test_a_mail_server_that_hangs_talks_garbage_or_is_not_there():
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"\x00\xffHELLO I AM NOT SMTP\r\n")
        await writer.drain()
        await asyncio.sleep(30)

    async with TcpServer(silent) as hangs, TcpServer(garbage) as talks, TcpServer(silent) as gone:
        ports = [hangs.port, talks.port]
    closed_port = gone.port  # closed now: nothing listens there
    reasons = []
    async with TcpServer(silent) as hangs, TcpServer(garbage) as talks:
        ports = [hangs.port, talks.port]
        for port in [*ports, closed_port]:
            channel = EmailChannel(url=f"smtp://127.0.0.1:{port}", sender="s@example.org", timeout_s=0.3)
            started = time.monotonic()
            try:
                with pytest.raises(TemporaryFailure) as caught:
                    await channel.send(mail())
            finally:
                await channel.aclose()
            assert time.monotonic() - started < 3
            reasons.append(caught.value.reason)
    where = "the mail server at smtp://127.0.0.1"
    assert reasons[0] == f"{where}:{ports[0]} did not answer within 0.3 s"
    assert reasons[1].startswith(f"{where}:{ports[1]} did not greet as an SMTP server should")
    assert reasons[2].startswith(f"cannot connect to {where}:{closed_port}: ")


async def test_sms_twilio_form_with_basic_auth_and_the_idempotency_key():
    async def gateway(request: Request) -> Reply:
        assert request.method == "POST" and request.path == "/2010-04-01/Accounts/AC1/Messages.json"
        return Reply(201, b'{"sid": "SM0123", "status": "queued"}', {"Content-Type": "application/json"})

    async with HttpReceiver(gateway) as receiver:
        url = f"http://AC1:auth%2Ftoken@127.0.0.1:{receiver.port}/2010-04-01/Accounts/AC1/Messages.json"
        channel = SmsChannel(url=url, sender="+15550001111", timeout_s=2)
        try:
            delivery = await channel.send(text(body="ACD down — use site B"))
        finally:
            await channel.aclose()
    (request,) = receiver.requests
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form() == {"To": "+447700900123", "From": "+15550001111", "Body": "ACD down — use site B"}
    assert request.basic_auth() == ("AC1", "auth/token")
    assert request.headers["idempotency-key"] == "k1"
    assert delivery.provider_id == "SM0123"


async def test_sms_json_style_and_a_gateway_that_says_yes_without_json():
    async def gateway(request: Request) -> Reply:
        return Reply(200, b"OK queued")

    async with HttpReceiver(gateway) as receiver:
        channel = SmsChannel(url=f"{receiver.url}/send", sender="Standby", style="json", timeout_s=2)
        try:
            delivery = await channel.send(text())
        finally:
            await channel.aclose()
    assert receiver.requests[0].json() == {
        "to": "+447700900123",
        "from": "Standby",
        "body": "ACD down: use site B",
    }
    assert delivery.provider_id is None
    assert "not JSON" in delivery.detail and "OK queued" in delivery.detail


async def test_sms_gateways_that_refuse_fail_talk_garbage_or_hang():
    async def gateway(request: Request) -> Reply | Garbage | None:
        to = request.form()["To"]
        if to.endswith("400"):
            return Reply(400, b'{"code": 21211, "message": "The \'To\' number +15550000400 is not valid."}')
        if to.endswith("503"):
            return Reply(503, b"<html>maintenance</html>")
        if to.endswith("429"):
            return Reply(429, b"slow down")
        if to.endswith("666"):
            return Garbage(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
        return HANG

    async with HttpReceiver(gateway) as receiver:
        channel = SmsChannel(
            url=f"http://user:pw@127.0.0.1:{receiver.port}/sms", sender=None, timeout_s=TIMEOUT_S
        )
        what = f"the SMS gateway at http://127.0.0.1:{receiver.port}"
        try:
            with pytest.raises(PermanentFailure) as refused:
                await channel.send(text(to="+15550000400"))
            with pytest.raises(TemporaryFailure) as failing:
                await channel.send(text(to="+15550000503"))
            with pytest.raises(TemporaryFailure, match="answered 429"):
                await channel.send(text(to="+15550000429"))
            with pytest.raises(TemporaryFailure) as garbage:
                await channel.send(text(to="+15550000666"))
            started = time.monotonic()
            with pytest.raises(TemporaryFailure) as hung:
                await channel.send(text(to="+15550000777"))
            assert time.monotonic() - started < TIMEOUT_S + 1
        finally:
            await channel.aclose()
    assert refused.value.reason == (
        f"{what} refused the message: 400 Whatever: "
        """{"code": 21211, "message": "The 'To' number +15550000400 is not valid."}"""
    )
    assert failing.value.reason == f"{what} answered 503 Whatever: <html>maintenance</html>"
    assert garbage.value.reason.startswith(f"{what} answered something that is not HTTP")
    assert hung.value.reason == f"{what} did not answer within 0.5 s"
    for failure in (refused, failing, garbage, hung):
        assert "pw" not in failure.value.reason and "user" not in failure.value.reason


def webhook(style: str, key: str, path: str = "/hook", port: int = 0, **payload) -> OutgoingMessage:
    return OutgoingMessage(
        id=5,
        key=key,
        channel="webhook",
        recipient=f"http://127.0.0.1:{port}{path}",
        purpose="update",
        subject="Partial outage: CRM down",
        body="Agents: log outcomes in Standby.",
        incident_id=9,
        payload={"style": style, "url": "https://standby.example/incidents/9", **payload},
    )


async def test_slack_teams_and_signed_generic_webhooks():
    async def hooks(request: Request) -> Reply:
        signature = request.headers["x-standby-signature"]
        assert verify(
            SECRET, request.headers["x-standby-timestamp"], request.body, signature, now=time.time()
        )
        return Reply(200, b"ok")

    async with HttpReceiver(hooks) as receiver:
        channel = WebhookChannel(secret=SECRET, timeout_s=2)
        try:
            for style in ("slack", "teams", "generic"):
                await channel.send(
                    webhook(style, f"k-{style}", port=receiver.port, data={"queues": ["billing"]})
                )
        finally:
            await channel.aclose()
    slack, teams, generic = (r.json() for r in receiver.requests)
    assert slack["text"].startswith("*Partial outage: CRM down*\nAgents: log outcomes in Standby.")
    card = teams["attachments"][0]["content"]
    assert teams["type"] == "message" and card["type"] == "AdaptiveCard"
    assert card["body"][1]["text"] == "Agents: log outcomes in Standby."
    assert generic["event"] == "update" and generic["incident_id"] == 9
    assert generic["data"] == {"queues": ["billing"]} and generic["idempotency_key"] == "k-generic"
    assert [r.headers["idempotency-key"] for r in receiver.requests] == ["k-slack", "k-teams", "k-generic"]
    assert all(r.headers["content-type"] == "application/json" for r in receiver.requests)


# ---- the whole path: outbox, sender, channels, receivers -------------------------------------------


async def test_the_outbox_delivers_retries_and_parks_through_real_receivers(session_factory):
    calls: dict[str, int] = {}

    async def gateway(request: Request) -> Reply | Garbage | None:
        to = request.form()["To"]
        calls[to] = calls.get(to, 0) + 1
        if to.endswith("0500") and calls[to] == 1:
            return Reply(500, b"internal error")
        if to.endswith("0400"):
            return Reply(400, b'{"message": "The \'To\' number is not a mobile number"}')
        if to.endswith("0666"):
            return Garbage(b"garbage\r\n\r\n")
        if to.endswith("0777"):
            return HANG
        return Reply(201, f'{{"sid": "SM{to[-4:]}"}}'.encode(), {"Content-Type": "application/json"})

    async def hooks(request: Request) -> Reply:
        assert verify(
            SECRET,
            request.headers["x-standby-timestamp"],
            request.body,
            request.headers["x-standby-signature"],
            now=time.time(),
        )
        return Reply(200, b"ok")

    now = datetime.now(UTC)
    async with HttpReceiver(gateway) as sms_gateway, HttpReceiver(hooks) as hook, SmtpReceiver() as smtp:
        smtp.refuse.add("gone@example.org")
        with unit_of_work(session_factory) as session:
            for tail in ("0100", "0101", "0500", "0400", "0666", "0777"):
                outbox.enqueue(
                    session,
                    key=f"sms-{tail}",
                    channel="sms",
                    recipient=f"+1555000{tail}",
                    body="ACD down",
                    purpose="page",
                    incident_id=9,
                    now=now,
                )
            for who in ("ana", "gone"):
                outbox.enqueue(
                    session,
                    key=f"mail-{who}",
                    channel="email",
                    recipient=f"{who}@example.org",
                    subject="ACD down",
                    body="Use site B.",
                    purpose="page",
                    incident_id=9,
                    now=now,
                )
            outbox.enqueue(
                session,
                key="hook-slack",
                channel="webhook",
                recipient=f"{hook.url}/slack",
                body="ACD down",
                subject="Outage",
                payload={"style": "slack"},
                purpose="update",
                incident_id=9,
                now=now,
            )
        channels = Channels(
            {
                "sms": SmsChannel(url=f"{sms_gateway.url}/sms", sender="+15550009999", timeout_s=TIMEOUT_S),
                "email": EmailChannel(url=smtp.url(), sender="standby@example.org", timeout_s=2),
                "webhook": WebhookChannel(secret=SECRET, timeout_s=TIMEOUT_S),
            }
        )
        timeline: list[tuple[str, str, int]] = []
        sender = NotifySender(
            session_factory=session_factory,
            clock=SystemClock(),
            channels=channels,
            options=SenderOptions(
                concurrency=8,
                batch=8,
                lease_s=30,
                poll_s=0.05,
                policy=RetryPolicy(base_s=0.05, cap_s=0.1, max_attempts=3, jitter=0),
            ),
            on_outcome=lambda s, r: timeline.append((r.key, r.state, r.attempts)),
        )
        stop = asyncio.Event()
        task = asyncio.create_task(sender.run(stop))
        try:
            await asyncio.wait_for(_until(lambda: _settled(session_factory)), 20)
        finally:
            stop.set()
            await task
            await channels.aclose()
    with unit_of_work(session_factory) as session:
        found = {m.key: m for m in outbox_desk.list_messages(session, incident_id=9)}
    assert {k: m.state for k, m in found.items()} == {
        "sms-0100": "sent",
        "sms-0101": "sent",
        "sms-0500": "sent",
        "sms-0400": "parked",
        "sms-0666": "parked",
        "sms-0777": "parked",
        "mail-ana": "sent",
        "mail-gone": "parked",
        "hook-slack": "sent",
    }
    what = f"the SMS gateway at {sms_gateway.url}"
    assert found["sms-0100"].provider_id == "SM0100" and found["sms-0100"].attempts == 1
    assert (
        found["sms-0500"].attempts == 2
        and found["sms-0500"].last_error == f"{what} answered 500 Whatever: internal error"
    )
    assert found["sms-0400"].attempts == 1
    assert found["sms-0400"].last_error == (
        f"{what} refused the message: 400 Whatever: "
        """{"message": "The 'To' number is not a mobile number"}"""
    )
    assert found["sms-0666"].attempts == 3 and found["sms-0666"].last_error.startswith(
        f"{what} answered something that is not HTTP"
    )
    assert found["sms-0666"].last_error.endswith("(gave up after 3 attempts)")
    assert found["sms-0777"].last_error == f"{what} did not answer within 0.5 s (gave up after 3 attempts)"
    assert found["mail-gone"].last_error.startswith("the mail server at smtp://127.0.0.1")
    assert "refused the recipient: 550" in found["mail-gone"].last_error
    assert all(m.parked_at is not None for m in found.values() if m.state == "parked")
    # Nothing lost, nothing doubled: each delivered message reached its receiver once.
    assert sorted(sms_gateway.effective) == ["sms-0100", "sms-0101", "sms-0500"]
    # Tries: once each, twice for the one that failed once, three times for those parked after 3.
    assert dict(sms_gateway.deliveries) == {
        "sms-0100": 1,
        "sms-0101": 1,
        "sms-0500": 2,
        "sms-0400": 1,
        "sms-0666": 3,
        "sms-0777": 3,
    }
    assert [m.message["X-Standby-Idempotency-Key"] for m in smtp.mails] == ["mail-ana"]
    assert list(hook.effective) == ["hook-slack"] and hook.raw_repeats == 0
    assert ("sms-0500", "pending", 1) in timeline and ("sms-0500", "sent", 2) in timeline
    assert ("sms-0777", "parked", 3) in timeline


async def _until(condition) -> None:
    while not await asyncio.to_thread(condition):
        await asyncio.sleep(0.05)


def _settled(factory) -> bool:
    with unit_of_work(factory) as session:
        counts = outbox_desk.count_by_state(session)
    return counts["pending"] == 0 and counts["sending"] == 0


# ---- the HTTP client's edges: TLS, chunked and close-delimited answers, stale connections -------


async def test_webhooks_over_tls_check_the_certificate():
    import ssl

    import trustme

    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    async with TcpServer(answer, ssl_context=server_context) as server:
        port = server.port
        good = WebhookChannel(secret=SECRET, timeout_s=2, tls_context=trusting)
        strict = WebhookChannel(secret=SECRET, timeout_s=2)  # the system's CAs: ours is not one
        message = webhook("slack", "tls-1", port=port)
        message = OutgoingMessage(**{**message.__dict__, "recipient": f"https://127.0.0.1:{port}/hook"})
        try:
            delivery = await good.send(message)
            with pytest.raises(TemporaryFailure) as refused:
                await strict.send(message)
        finally:
            await good.aclose()
            await strict.aclose()
    assert "accepted it (200)" in delivery.detail
    assert refused.value.reason.startswith(f"TLS with the webhook at https://127.0.0.1:{port} failed")
    assert "CERTIFICATE_VERIFY_FAILED" in refused.value.reason


async def test_chunked_close_delimited_and_stale_kept_connections():
    served: list[str] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            path = head.split(b" ")[1].decode()
            await reader.readexactly(length)
            served.append(path)
            if path == "/chunked":
                writer.write(
                    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n"
                    b'Content-Type: application/json\r\n\r\n7\r\n{"sid":\r\n7\r\n "SM9"}\r\n0\r\n\r\n'
                )
            elif path == "/until-close":
                writer.write(b'HTTP/1.0 200 OK\r\n\r\n{"id": 77}')
                await writer.drain()
                return
            elif path == "/then-idle-close":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                return  # closes the kept-alive connection behind the client's back
            await writer.drain()

    async with TcpServer(answer) as server:
        base = f"http://127.0.0.1:{server.port}"
        channel = SmsChannel(url=f"{base}/chunked", sender=None, timeout_s=2, max_connections=1)
        closing = SmsChannel(url=f"{base}/until-close", sender=None, timeout_s=2, max_connections=1)
        stale = SmsChannel(url=f"{base}/then-idle-close", sender=None, timeout_s=2, max_connections=1)
        try:
            first = await channel.send(text("c1"))
            second = await channel.send(text("c2"))  # the same connection, kept
            until_close = await closing.send(text("u1"))
            await stale.send(text("s1"))
            await asyncio.sleep(0.05)
            await stale.send(text("s2"))  # its kept connection was closed: a new one, once
        finally:
            for each in (channel, closing, stale):
                await each.aclose()
    assert first.provider_id == second.provider_id == "SM9"
    assert until_close.provider_id == "77"
    assert served == ["/chunked", "/chunked", "/until-close", "/then-idle-close", "/then-idle-close"]
