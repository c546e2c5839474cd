"""What goes on the wire: emails, SMS requests, webhook bodies and signatures, verdicts."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from urllib.parse import parse_qs

import pytest

from standby.notify.channels.email import message_id, render
from standby.notify.channels.http import Answer, excerpt, judge, provider_id, split_credentials, where
from standby.notify.channels.protocol import OutgoingMessage, PermanentFailure, TemporaryFailure
from standby.notify.channels.sms import SmsChannel
from standby.notify.channels.webhook import WebhookChannel, body_of, derive_secret, sign, verify

pytestmark = pytest.mark.anyio


def message(**changes):
    values = {
        "id": 7,
        "key": "incident-3:page:ana:email",
        "channel": "email",
        "recipient": "ana@example.org",
        "recipient_name": "Ana Ruiz",
        "subject": "Total outage: ACD down",
        "body": "The ACD is down.\n.Line starting with a dot\nCafé ☕",
        "purpose": "page",
        "incident_id": 3,
    }
    values.update(changes)
    return OutgoingMessage(**values)


def test_an_email_carries_its_key_and_a_message_id_derived_from_it():
    raw = render(message(), sender="Standby <standby@example.org>", date="Mon, 15 Jun 2026 09:30:00 +0000")
    assert b"\r\n" in raw and all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Message-ID"] == message_id("incident-3:page:ana:email")
    assert parsed["X-Standby-Idempotency-Key"] == "incident-3:page:ana:email"
    assert parsed["To"] == "Ana Ruiz <ana@example.org>"
    assert parsed["Subject"] == "Total outage: ACD down"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert (
        parsed.get_content().replace("\r\n", "\n") == "The ACD is down.\n.Line starting with a dot\nCafé ☕\n"
    )
    assert raw.isascii()  # quoted-printable or base64: no 8BITMIME needed


def test_the_same_key_gives_the_same_message_id():
    assert message_id("k") == message_id("k") != message_id("k2")
    assert message_id("k").startswith("<") and message_id("k").endswith("@standby>")


async def test_a_twilio_style_sms_request():
    channel = SmsChannel(
        url="https://AC123:tok%40en@api.example.com/2010-04-01/Accounts/AC123/Messages.json",
        sender="+15550001111",
    )
    try:
        body, headers = channel.request(
            message(channel="sms", recipient="+447700900123", subject=None, body="ACD down")
        )
        assert parse_qs(body.decode()) == {
            "To": ["+447700900123"],
            "From": ["+15550001111"],
            "Body": ["ACD down"],
        }
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert headers["Idempotency-Key"] == "incident-3:page:ana:email"
        assert channel.auth == ("AC123", "tok@en")
        assert "tok" not in channel.url and "tok" not in channel.what
        assert channel.what == "the SMS gateway at https://api.example.com"
    finally:
        await channel.aclose()


async def test_a_json_sms_request():
    channel = SmsChannel(url="http://127.0.0.1:9/sms", sender=None, style="json")
    try:
        body, headers = channel.request(message(channel="sms", recipient="+447700900123", body="Café"))
        assert json.loads(body) == {"to": "+447700900123", "body": "Café"}
        assert headers["Content-Type"] == "application/json"
    finally:
        await channel.aclose()


def test_webhook_bodies_by_style():
    slack = body_of(message(channel="webhook", payload={"style": "slack", "url": "https://standby/i/3"}))
    assert slack == {
        "text": "*Total outage: ACD down*\nThe ACD is down.\n.Line starting with a dot\nCafé ☕\n"
        "<https://standby/i/3|Open in Standby>"
    }
    teams = body_of(message(channel="webhook", payload={"style": "teams", "url": "https://standby/i/3"}))
    assert teams["type"] == "message"
    (attachment,) = teams["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["body"][0]["text"] == "Total outage: ACD down"
    assert card["actions"][0]["url"] == "https://standby/i/3"
    generic = body_of(
        message(channel="webhook", payload={"style": "generic", "data": {"queues": ["billing"]}})
    )
    assert generic["event"] == "page" and generic["incident_id"] == 3
    assert generic["idempotency_key"] == "incident-3:page:ana:email"
    assert generic["data"] == {"queues": ["billing"]}


async def test_webhooks_are_signed_over_timestamp_and_exact_body():
    secret = derive_secret("s" * 48)
    assert len(secret) == 64
    channel = WebhookChannel(secret=secret, clock=lambda: 1_780_000_000.7)
    try:
        body, headers = channel.request(
            message(channel="webhook", recipient="https://h/x", payload={"style": "generic"})
        )
    finally:
        await channel.aclose()
    assert headers["X-Standby-Timestamp"] == "1780000000"
    assert headers["X-Standby-Signature"] == sign(secret, "1780000000", body)
    assert verify(secret, "1780000000", body, headers["X-Standby-Signature"], now=1_780_000_100)
    assert not verify(secret, "1780000000", body + b" ", headers["X-Standby-Signature"], now=1_780_000_100)
    assert not verify(b"other", "1780000000", body, headers["X-Standby-Signature"], now=1_780_000_100)
    assert not verify(secret, "1780000000", body, headers["X-Standby-Signature"], now=1_780_001_000)  # replay
    assert headers["Idempotency-Key"] == "incident-3:page:ana:email"


def answer(status, body=b"", content_type=""):
    return Answer(status, "Reason", body, content_type)


def test_verdicts_on_answers():
    judge(answer(201), "the gateway")
    for status in (408, 429, 500, 502, 503):
        with pytest.raises(TemporaryFailure, match=f"the gateway answered {status}"):
            judge(answer(status, b"busy"), "the gateway")
    with pytest.raises(
        PermanentFailure, match=r"refused the message: 400 Reason: .*The 'To' number is not valid"
    ):
        judge(answer(400, b'{"message": "The \'To\' number is not valid"}'), "the gateway")
    with pytest.raises(PermanentFailure, match="redirect"):
        judge(answer(301), "the gateway")


def test_provider_ids_and_excerpts():
    assert provider_id(answer(201, b'{"sid": "SM1"}')) == "SM1"
    assert provider_id(answer(201, b'{"id": 42}')) == "42"
    assert provider_id(answer(201, b'{"ok": true}')) is None
    assert provider_id(answer(200, b"<html>")) is None
    assert excerpt(b"\x00\x01line\r\nnext" + b"x" * 500).startswith("line next")
    assert excerpt(b"") == "(empty body)"
    assert len(excerpt(b"y" * 5000)) == 201


def test_credentials_never_shown():
    bare, auth = split_credentials("https://user:p%40ss@gw.example:8443/send?x=1")
    assert bare == "https://gw.example:8443/send?x=1" and auth == ("user", "p@ss")
    assert where("https://user:pass@hooks.slack.com/services/T/B/SECRET") == "https://hooks.slack.com"


@pytest.mark.parametrize(
    ("name", "subject", "body"),
    [
        ("Zoë Ødegård", "Panne totale : l'ACD est hors service — agissez", "ok\n"),
        ('Smith, "Jo" (on call)', "Plain subject", "x" * 2000),
        (None, "S" * 950, "line\r\nwith CR\rand trailing space \nend"),
    ],
)
def test_hand_written_emails_read_back_as_written(name, subject, body):
    raw = render(
        message(recipient_name=name, subject=subject, body=body), sender="Équipe Standby <s@example.org>"
    )
    assert raw.isascii() and all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == subject
    assert parsed["From"].addresses[0].display_name == "Équipe Standby"
    to = parsed["To"].addresses[0]
    assert to.addr_spec == "ana@example.org" and to.display_name == (name or "")
    expected = body.replace("\r\n", "\n").replace("\r", "\n")
    assert parsed.get_content().replace("\r\n", "\n") == expected + ("" if expected.endswith("\n") else "\n")
