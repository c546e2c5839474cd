"""Customers' phone numbers: read in international or national form, refused with the reason."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from standby.customers.phones import _parsed, _plainly, customer_phone
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


def _full(text: str, region: str | None) -> str | None:
    """What libphonenumber's full parse makes of `text`: E.164, or None when it is refused."""
    try:
        return _parsed(text, region)
    except InvalidInput:
        return None


def _same_answer(text: str, region: str | None) -> None:
    quick = _plainly(text, region)
    if quick is not None:
        assert quick == _full(text, region), (text, region)


def test_the_fast_path_agrees_with_libphonenumber_for_every_region() -> None:
    """Every region's example numbers, written nationally and internationally, with and
    without spaces, and each one a digit shorter and longer: the fast path gives the full
    parse's answer or leaves the number to it."""
    taken = 0
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    for region in regions:
        for kind in phonenumbers.PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            national = str(phonenumbers.national_significant_number(example))
            forms = {
                phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164),
                phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
                phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL),
                national,
                "0" + national,
            }
            for form in list(forms):
                forms.update({form[:-1], form + "5", form.replace(" ", "")})
            for form in forms:
                for reader in (region, "GB", None):
                    _same_answer(form, reader)
                    taken += _plainly(form, reader) is not None
    # The fast path must actually take the common cases, or it is not worth having.
    assert taken > len(regions) * 5


@settings(max_examples=3000, deadline=None)
@given(
    plus=st.booleans(),
    digits=st.text(alphabet="0123456789", min_size=1, max_size=19),
    gap=st.sampled_from(["", " ", "-"]),
    cut=st.integers(min_value=1, max_value=18),
    region=st.sampled_from(
        ["GB", "US", "IE", "FR", "DE", "IT", "AR", "BR", "MX", "RU", "IN", "AU", "JP", None]
    ),
)
def test_the_fast_path_agrees_with_libphonenumber_on_any_digits(
    plus: bool, digits: str, gap: str, cut: int, region: str | None
) -> None:
    """Random digits, perhaps after a +, perhaps with a space or dash: the same answer or none."""
    text = ("+" if plus else "") + (digits[:cut] + gap + digits[cut:] if cut < len(digits) else digits)
    _same_answer(text, region)


@pytest.mark.parametrize(
    ("written", "region", "stored"),
    [
        ("07700 900123", "GB", "+447700900123"),
        ("+44 7700 900123", None, "+447700900123"),
        ("+353 85 1234567", "GB", "+353851234567"),
        ("+1 415 555 0123", None, "+14155550123"),
        ("+33 6 12345678", None, "+33612345678"),
    ],
)
def test_the_fast_path_takes_what_crms_write(written: str, region: str | None, stored: str) -> None:
    """The shapes of the benchmark's and most centres' files do not need the full parse."""
    assert _plainly(written, region) == stored
