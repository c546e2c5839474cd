"""Signed links: acknowledgement tokens (forged, expired, tampered, malformed) and calendar keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from standby.errors import InvalidInput
from standby.respond.ack_links import (
    AckClaim,
    InvalidLink,
    ack_url,
    calendar_key,
    calendar_key_valid,
    make_ack_token,
    read_ack_token,
)

SECRET = "s" * 48
OTHER = "o" * 48
NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=3)


def token(**changes: object) -> str:
    values: dict[str, object] = {"page_id": 42, "incident_id": 7, "person_id": "dev", "expires_at": EXPIRES}
    values.update(changes)
    return make_ack_token(SECRET, **values)  # type: ignore[arg-type]


def reason(secret: str, text: str, now: datetime = NOW) -> str:
    with pytest.raises(InvalidLink) as caught:
        read_ack_token(secret, text, now)
    assert isinstance(caught.value, InvalidInput)
    assert "acknowledge the page in Standby instead" in str(caught.value)
    return caught.value.reason


def test_a_token_round_trips_and_is_compact_and_url_safe() -> None:
    made = token()
    expires = datetime.fromtimestamp(int(EXPIRES.timestamp()), UTC)
    assert read_ack_token(SECRET, made, NOW) == AckClaim(42, 7, "dev", expires)
    assert len(made) < 60
    assert all(c.isalnum() or c in "-_." for c in made)
    assert made.startswith("1.42.7.dev.")
    assert ack_url("https://standby.example.org/", made) == f"https://standby.example.org/ack/{made}"


def test_a_token_signed_with_another_secret_is_forged() -> None:
    assert reason(OTHER, token()) == "forged"


def test_a_tampered_token_is_forged() -> None:
    made = token()
    version, page, incident, person, expires, mac = made.split(".")
    for changed in (
        [version, "43", incident, person, expires, mac],  # another page
        [version, page, "8", person, expires, mac],  # another incident
        [version, page, incident, "lin", expires, mac],  # another person
        [version, page, incident, person, str(int(expires) + 86400), mac],  # a later expiry
        [version, page, incident, person, expires, ("A" if mac[0] != "A" else "B") + mac[1:]],
    ):
        assert reason(SECRET, ".".join(changed)) == "forged", changed


def test_a_token_for_another_page_does_not_acknowledge_this_one() -> None:
    other = read_ack_token(SECRET, token(page_id=43), NOW)
    assert other.page_id == 43 and other != read_ack_token(SECRET, token(), NOW)


def test_an_expired_token_says_when_it_expired() -> None:
    made = token()
    assert read_ack_token(SECRET, made, EXPIRES - timedelta(seconds=1)).page_id == 42
    assert reason(SECRET, made, EXPIRES) == "expired"
    with pytest.raises(InvalidLink, match="expired at 2026-06-18 09:30 UTC"):
        read_ack_token(SECRET, made, EXPIRES + timedelta(hours=1))


def test_a_forged_token_is_called_forged_even_when_past_its_expiry() -> None:
    assert reason(OTHER, token(), EXPIRES + timedelta(days=1)) == "forged"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "1.42.7.dev.1781500000",  # no MAC: cut short
        "2.42.7.dev.1781500000.AAAAAAAAAAAAAAAAAAAAAA",  # another version
        "1.-42.7.dev.1781500000.AAAAAAAAAAAAAAAAAAAAAA",
        "1.42.7.Dev.1781500000.AAAAAAAAAAAAAAAAAAAAAA",
        "1.42.7.dev.soon.AAAAAAAAAAAAAAAAAAAAAA",
        "1.42.7.dev.1781500000.short",
        "1.42.7.dev.1781500000.AAAAAAAAAAAAAAAAAAAAAA.extra",
        "1." + "9" * 400,
    ],
)
def test_malformed_tokens_are_refused(text: str) -> None:
    assert reason(SECRET, text) == "malformed"


def test_tokens_cut_short_in_a_message_are_malformed_or_forged() -> None:
    made = token()
    for end in range(1, len(made)):
        assert reason(SECRET, made[:end]) in {"malformed", "forged"}


def test_making_a_token_checks_its_parts() -> None:
    with pytest.raises(InvalidInput):
        token(person_id="not.a.slug")
    with pytest.raises(InvalidInput):
        token(page_id=-1)
    with pytest.raises(InvalidInput):
        token(expires_at=datetime(2026, 6, 18))


def test_calendar_keys_belong_to_one_rotation_and_one_secret() -> None:
    key = calendar_key(SECRET, "platform-oncall")
    assert calendar_key_valid(SECRET, "platform-oncall", key)
    assert not calendar_key_valid(SECRET, "other-rotation", key)
    assert not calendar_key_valid(OTHER, "platform-oncall", key)
    assert not calendar_key_valid(SECRET, "platform-oncall", key[:-1])
    assert not calendar_key_valid(SECRET, "platform-oncall", "")


def test_a_calendar_key_is_not_an_acknowledgement_mac() -> None:
    # Each use has its own derived key: the same body signed for one use fails the other.
    made = token()
    body = made.rsplit(".", 1)[0]
    assert calendar_key(SECRET, body) != made.rsplit(".", 1)[1]
