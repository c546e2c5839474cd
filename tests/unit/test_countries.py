"""The countries a plan may name: the list known without phonenumbers agrees with phonenumbers."""

from __future__ import annotations

import phonenumbers
import pytest

from standby.plan.countries import KNOWN_REGIONS, is_phone_region


def test_every_listed_region_is_one_phonenumbers_supports() -> None:
    assert KNOWN_REGIONS <= phonenumbers.SUPPORTED_REGIONS, KNOWN_REGIONS - phonenumbers.SUPPORTED_REGIONS


@pytest.mark.parametrize("code", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_every_region_phonenumbers_supports_is_accepted(code: str) -> None:
    assert is_phone_region(code)


@pytest.mark.parametrize("code", ["UK", "EU", "ZZ", "001", "gb"])
def test_what_is_no_region_is_refused(code: str) -> None:
    assert not is_phone_region(code)

