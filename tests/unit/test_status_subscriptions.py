"""The subscription core: confirmation links, who a notice reaches, RFC 8058 headers, per-subscriber
signing."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from standby.errors import InvalidInput
from standby.notify.channels.email import render
from standby.notify.channels.protocol import OutgoingMessage
from standby.notify.channels.webhook import WebhookChannel, sign
from standby.status.announcements import Announcement, Subscriber, message_for, reaches
from standby.status.subscription_links import ForgedLink, confirm_token, read_confirm_token

pytestmark = pytest.mark.anyio
AT = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
NEWS = Announcement(
    "update-9", "incident.update", "Service disruption: Billing", "identified", "Found it.", ("billing",),
    "https://s.example/status/incidents/4", AT, 4,
)


def test_a_confirmation_link_is_read_back_and_a_changed_one_is_forged() -> None:
    token = confirm_token("k" * 40, subscriber_id=7, nonce="n" * 22)
    claim = read_confirm_token("k" * 40, token)
    assert (claim.subscriber_id, claim.nonce) == (7, "n" * 22)
    with pytest.raises(ForgedLink):
        read_confirm_token("other" * 8, token)  # another server's key
    with pytest.raises(ForgedLink):
        read_confirm_token("k" * 40, token.replace("7.", "8.", 1))  # another subscriber
    with pytest.raises(InvalidInput):
        read_confirm_token("k" * 40, "garbage")


def test_a_notice_reaches_those_who_asked_for_its_services_or_for_all() -> None:
    everyone = Subscriber(1, "email", "a@x.example", (), "t" * 32, None)
    billing = Subscriber(2, "email", "b@x.example", ("billing",), "u" * 32, None)
    gas = Subscriber(3, "email", "c@x.example", ("emergency",), "v" * 32, None)
    assert [reaches(s, NEWS) for s in (everyone, billing, gas)] == [True, True, False]


def test_an_email_notice_carries_rfc_8058_headers_and_a_header_breaking_link_is_left_out() -> None:
    subscriber = Subscriber(1, "email", "a@x.example", (), "t" * 32, None)
    new = message_for(NEWS, subscriber, organisation="Northwind", base_url="https://s.example")
    assert new.key == "status:1:update-9" and new.payload is not None
    outgoing = OutgoingMessage(1, new.key, "email", new.recipient, new.body, new.subject, payload=new.payload)
    mail = message_from_bytes(render(outgoing, sender="s@x.example"), policy=policy.default)
    assert mail["List-Unsubscribe"] == f"<https://s.example/status/unsubscribe/{'t' * 32}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    hostile = OutgoingMessage(
        2, "k", "email", "a@x.example", "b", "s",
        payload={"list_unsubscribe": "https://x\r\nBcc: e@v.example"},
    )
    mail = message_from_bytes(render(hostile, sender="s@x.example"), policy=policy.default)
    assert mail["List-Unsubscribe"] is None and mail["Bcc"] is None


async def test_a_subscribers_webhook_is_signed_with_its_own_secret_which_is_never_posted() -> None:
    subscriber = Subscriber(5, "webhook", "https://h.example/x", (), "t" * 32, "its-own-secret-123")
    new = message_for(NEWS, subscriber, organisation="Northwind", base_url="https://s.example")
    channel = WebhookChannel(secret=b"the-servers-secret", clock=lambda: 1_780_000_000.0)
    try:
        body, headers = channel.request(
            OutgoingMessage(1, new.key, "webhook", new.recipient, new.body, new.subject, payload=new.payload)
        )
    finally:
        await channel.aclose()
    assert headers["X-Standby-Signature"] == sign(b"its-own-secret-123", "1780000000", body)
    assert b"its-own-secret-123" not in body
