"""Customers' phone numbers: checked against the numbering plan and stored in E.164 form.

A customer's number comes from the centre's own systems, often written nationally
(07700 900123). The plan's `organisation.country` says which country such a number is
in; without it only international numbers (+44 7700 900123) are accepted, because a
gateway cannot guess. `phonenumbers` (Google's libphonenumber metadata) says whether
a number has a possible length for its country, so "0123" or "+44 12" is refused at
the door rather than by the SMS gateway hours later.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

from standby.errors import InvalidInput

MAX_PHONE = 40
_REASONS = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "has no such country code",
    phonenumbers.ValidationResult.TOO_SHORT: "is too short",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "is too short (no area code?)",
    phonenumbers.ValidationResult.INVALID_LENGTH: "has the wrong number of digits",
    phonenumbers.ValidationResult.TOO_LONG: "is too long",
}


def customer_phone(value: str, *, country: str | None = None) -> str:
    """`value` as +DIGITS; InvalidInput saying why it is not a phone number.

    A leading 00 is read as +; spaces, dots, dashes and brackets are allowed.
    """
    text = value.strip()
    if not text:
        raise InvalidInput("the phone number is empty")
    if len(text) > MAX_PHONE:
        raise InvalidInput(f"not a phone number: {len(text)} characters, at most {MAX_PHONE}")
    return _parsed(text, country.upper() if country else None)


@lru_cache(maxsize=4096)
def _parsed(text: str, country: str | None) -> str:
    shown = repr(text)
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else country)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.NOT_A_NUMBER:
            raise InvalidInput(
                f"not a phone number: {shown} (expected digits, such as +447700900123)"
            ) from None
        if not text.startswith("+") and country is None:
            raise InvalidInput(
                f"not a phone number: {shown} has no country code; write it in international form,"
                " such as +447700900123 (or set organisation.country in the plan to read national numbers)"
            ) from None
        raise InvalidInput(f"not a phone number: {shown} has no such country code") from None
    # Possible (the right length for its country), not "valid" (an allocated range):
    # reserved ranges such as the UK's 07700 900xxx are used in drills and tests.
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        region = phonenumbers.region_code_for_country_code(number.country_code or 0)
        where = f" for {region}" if region and region != "ZZ" else ""
        why = _REASONS.get(reason, "is not a number that can be dialled")
        raise InvalidInput(f"not a phone number: {shown} {why}{where}")
    # format_number keeps an Italian leading zero (+39 06...), which national_number drops.
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
