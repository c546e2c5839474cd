"""The tests' password hashing: argon2id with argon2-cffi's CHEAPEST parameters.

At the service's strength (RFC 9106's low-memory profile: 64 MiB, three passes, four lanes)
one verification costs about a quarter of a second of CPU on the test machine, on purpose,
and the suite signs in hundreds of times. The tests hash and verify with the same code and
format at the cheapest parameters; tests/integration/test_access.py checks the service's
own strength, and that a hash of other parameters is upgraded to it on sign-in.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from standby.access import service

SERVICE_HASHER = service._HASHER
"""The service's own hasher, as Standby runs it: for the tests of its strength."""

TEST_HASHER = PasswordHasher.from_parameters(CHEAPEST)


def hash_at_test_strength() -> None:
    """From now on in this process, the access service hashes and verifies with TEST_HASHER."""
    service._HASHER = TEST_HASHER
