"""The countries whose national phone numbers Standby can read, known without importing phonenumbers.

A plan's `organisation.country` must be a region `phonenumbers` supports. Importing
phonenumbers to check it cost every command that reads a plan about 20 ms (a sixth of
`standby check`'s start beyond Python's own), so the regions of phonenumbers 9.0 are listed
here; a code not listed is still looked up in phonenumbers itself, so a region a later
release adds is accepted too. tests/unit/test_countries.py checks every code here against
phonenumbers.
"""

from __future__ import annotations

_CODES = """
    AC AD AE AF AG AI AL AM AO AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK
    DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ
    GR GT GU GW GY HK HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM
    KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO
    MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH
    PK PL PM PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR
    SS ST SV SX SY SZ TA TC TD TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG US UY UZ VA VC
    VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
"""
KNOWN_REGIONS = frozenset(_CODES.split())
"""The regions phonenumbers 9.0.43 supports (ISO 3166-1 alpha-2, and AC, TA and XK)."""


def is_phone_region(code: str) -> bool:
    """Whether `code` (two upper-case letters) is a region whose national numbers can be read."""
    if code in KNOWN_REGIONS:
        return True
    import phonenumbers  # only for a code not listed: a region added after the list was made

    return code in phonenumbers.SUPPORTED_REGIONS
