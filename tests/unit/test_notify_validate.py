"""What the outbox accepts: recipients per channel, keys, subjects, bodies, payloads."""

from __future__ import annotations

import pytest

from standby.errors import InvalidInput
from standby.notify import validate


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+44 7700 900123", "+447700900123"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("0044 7700-900-123", "+447700900123"),
        ("+33.6.12.34.56.78", "+33612345678"),
    ],
)
def test_phone_numbers_are_normalised_to_e164(raw, expected):
    assert validate.recipient("sms", raw) == expected


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("07700 900123", "no country code"),
        ("+0 7700 900123", "international form"),
        ("+44 77OO 900123", "international form"),
        ("+1234", "international form"),
        ("+1234567890123456", "international form"),
        ("call me", "international form"),
    ],
)
def test_bad_phone_numbers_are_refused_with_a_hint(raw, says):
    with pytest.raises(InvalidInput, match="not a phone number") as caught:
        validate.recipient("sms", raw)
    assert says in str(caught.value)
    assert "+447700900123" in str(caught.value)


@pytest.mark.parametrize("raw", ["ops@example.org", " Ana.Ruiz+oncall@mail.example.co.uk ", "root@localhost"])
def test_email_addresses(raw):
    assert validate.recipient("email", raw) == raw.strip()


@pytest.mark.parametrize(
    "raw",
    [
        "ops",
        "ops@",
        "@example.org",
        "a b@example.org",
        "ops@exa mple.org",
        "a@b@c",
        "x@example..org",
        "<a@b.c>",
    ],
)
def test_bad_email_addresses(raw):
    with pytest.raises(InvalidInput, match="not an email address"):
        validate.recipient("email", raw)


def test_webhook_urls_and_their_secrets():
    assert validate.recipient("webhook", "https://hooks.slack.com/services/T0/B0/XYZ") == (
        "https://hooks.slack.com/services/T0/B0/XYZ"
    )
    for bad in (
        "ftp://example.org/x",
        "https:///nohost",
        "hooks.slack.com/services/T0/B0/SECRET",
        "http://h:99999/x",
    ):
        with pytest.raises(InvalidInput, match="not a webhook URL") as caught:
            validate.recipient("webhook", bad)
        assert "SECRET" not in str(caught.value)


def test_keys_go_into_headers_so_they_are_plain():
    assert validate.check_key("incident-42:page:alice:sms") == "incident-42:page:alice:sms"
    for bad in ("", "has space", "new\nline", "é", "x" * 201):
        with pytest.raises(InvalidInput, match="idempotency key"):
            validate.check_key(bad)


def test_subjects_become_one_line_and_bodies_have_limits():
    assert (
        validate.one_line("Outage:\r\n  ACD down\tnow", what="subject", limit=500) == "Outage: ACD down now"
    )
    assert validate.one_line("   ", what="subject", limit=500) is None
    with pytest.raises(InvalidInput, match="subject is too long"):
        validate.one_line("x" * 501, what="subject", limit=500)
    assert validate.body_text("sms", "x" * 1600)
    with pytest.raises(InvalidInput, match="sms body is too long: 1601 characters, at most 1600"):
        validate.body_text("sms", "x" * 1601)
    with pytest.raises(InvalidInput, match="needs a body"):
        validate.body_text("email", " \n")


def test_webhook_payloads():
    assert validate.webhook_payload(None) == {"style": "generic"}
    assert validate.webhook_payload({"style": "teams", "url": "https://s"})["style"] == "teams"
    with pytest.raises(InvalidInput, match="unknown webhook style 'discord'"):
        validate.webhook_payload({"style": "discord"})
    with pytest.raises(InvalidInput, match="not JSON"):
        validate.webhook_payload({"data": {1, 2}})
    with pytest.raises(InvalidInput, match="too big"):
        validate.webhook_payload({"data": "x" * 70_000})
