"""Customers' phone numbers: checked against the numbering plan and stored in E.164 form.

A customer's number comes from the centre's own systems, often written nationally
(07700 900123). The plan's `organisation.country` says which country such a number is
in; without it only international numbers (+44 7700 900123) are accepted, because a
gateway cannot guess. `phonenumbers` (Google's libphonenumber metadata) says whether
a number has a possible length for its country, so "0123" or "+44 12" is refused at
the door rather than by the SMS gateway hours later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata

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
    region = country.upper() if country else None
    return _plainly(text, region) or _parsed(text, region)


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


# The fast path. libphonenumber's pure-Python parse costs about 20 µs a number, most of a
# 100,000-row import. Numbers as CRMs write them (digits, single spaces or dashes, perhaps a
# leading +) need only a few of its steps, done here from the same metadata. Anything this
# path is not sure of (an international prefix written out, a national prefix with a
# transform rule, a leading zero kept as Italian numbers keep it, a number that is not
# possible) goes to the full parse, which also words the refusal. tests/unit/test_phones.py
# checks that both give the same answer, number by number, for every region.
_PLAIN = re.compile(r"\+?[0-9]+(?:[ -][0-9]+)*")
_MIN_NATIONAL, _MAX_NATIONAL = 2, 17
_CODE_DIGITS = 3


@dataclass(frozen=True, slots=True)
class _Numbering:
    """What the fast path reads of one country's metadata."""

    code: str
    international_prefix: re.Pattern[str] | None
    national_prefix: re.Pattern[str] | None
    transforms: bool
    pattern: re.Pattern[str] | None
    lengths: frozenset[int]


@lru_cache(maxsize=512)
def _numbering(code: int, region: str | None) -> _Numbering | None:
    metadata = (
        PhoneMetadata.metadata_for_region(region, None)
        if region is not None
        else PhoneMetadata.metadata_for_region_or_calling_code(
            code, phonenumbers.region_code_for_country_code(code)
        )
    )
    if metadata is None or metadata.country_code is None:
        return None
    general = metadata.general_desc
    possible = tuple(general.possible_length or ()) if general is not None else ()
    if not possible or possible[0] == -1:
        return None
    local = set(general.possible_length_local_only or ()) if general is not None else set()

    def compiled(pattern: str | None) -> re.Pattern[str] | None:
        return re.compile(pattern) if pattern else None

    return _Numbering(
        code=str(metadata.country_code),
        international_prefix=compiled(metadata.international_prefix),
        national_prefix=compiled(metadata.national_prefix_for_parsing),
        transforms=bool(metadata.national_prefix_transform_rule),
        pattern=compiled(general.national_number_pattern) if general is not None else None,
        lengths=frozenset(possible) - local,
    )


def _country(digits: str) -> tuple[int, str] | None:
    """The country calling code that `digits` (after the +) start with, as libphonenumber finds it."""
    if not digits or digits[0] == "0":
        return None
    for size in range(1, min(len(digits), _CODE_DIGITS) + 1):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return code, digits[size:]
    return None


def _plainly(text: str, region: str | None) -> str | None:
    """`text` in E.164 when it is plainly a possible number; None to leave it to the full parse."""
    if text.startswith("00") or _PLAIN.fullmatch(text) is None:
        return None
    digits = text.replace(" ", "").replace("-", "")
    if digits[0] == "+":
        found = _country(digits[1:])
        if found is None:
            return None
        numbering = _numbering(found[0], None)
        national = found[1]
    else:
        if region is None:
            return None
        numbering = _numbering(0, region)
        national = digits
        # Written with the international prefix or the country's own code: the full parse decides.
        if numbering is None or national.startswith(numbering.code):
            return None
        if numbering.international_prefix is not None and numbering.international_prefix.match(national):
            return None
    if numbering is None:
        return None
    if numbering.national_prefix is not None:
        prefix = numbering.national_prefix.match(national)
        if prefix is not None:
            if numbering.transforms:
                return None
            stripped = national[prefix.end() :]
            pattern = numbering.pattern
            kept = pattern is not None and pattern.fullmatch(national) and not pattern.fullmatch(stripped)
            if kept or len(stripped) not in numbering.lengths:
                return None
            national = stripped
    if not _MIN_NATIONAL <= len(national) <= _MAX_NATIONAL or national[0] == "0":
        return None
    # Whether it is possible is judged by the code's main region (as libphonenumber does:
    # a number read in Canada is checked against the United States' lengths).
    main = numbering if digits[0] == "+" else _numbering(int(numbering.code), None)
    if main is None or len(national) not in main.lengths:
        return None
    return f"+{numbering.code}{national}"
