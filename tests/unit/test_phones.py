"""Customers' phone numbers: read in international or national form, refused with the reason."""

from __future__ import annotations

import pytest

from standby.customers.phones import customer_phone
from standby.errors import InvalidInput


@pytest.mark.parametrize(
    ("written", "country", "stored"),
    [
        ("+44 7700 900123", None, "+447700900123"),
        ("0044 (0)7700-900123".replace("(0)", ""), None, "+447700900123"),
        ("07700 900123", "GB", "+447700900123"),
        ("07700 900123", "gb", "+447700900123"),
        ("+39 06 1234 5678", None, "+390612345678"),  # Italy keeps its leading zero
        ("+1 (212) 555-0123", "GB", "+12125550123"),  # international wins over the country
    ],
)
def test_numbers_are_stored_in_international_form(written: str, country: str | None, stored: str) -> None:
    assert customer_phone(written, country=country) == stored


@pytest.mark.parametrize(
    ("written", "country", "words"),
    [
        ("", None, "empty"),
        ("07700 900123", None, "has no country code"),
        ("call me", "GB", "expected digits"),
        ("+44 12", None, "too short for GB"),
        ("0123", "GB", "no area code"),
        ("+44 7700 9001234567", None, "too long for GB"),
        ("+999 123456", None, "no such country code"),
        ("+44" + "1" * 60, None, "at most 40"),
    ],
)
def test_what_is_not_a_phone_number_is_refused_with_the_reason(
    written: str, country: str | None, words: str
) -> None:
    with pytest.raises(InvalidInput, match=words):
        customer_phone(written, country=country)
