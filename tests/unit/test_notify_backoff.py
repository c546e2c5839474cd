"""The retry rules: backoff doubling from 30 s up to 30 min with jitter; parked after 8 attempts."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from standby.notify.outbox_delivery import DEFAULT_POLICY, RetryPolicy


@given(attempts=st.integers(min_value=1, max_value=1000), seed=st.integers(0, 2**32))
def test_the_delay_doubles_up_to_the_cap_and_jitter_only_shortens_it(attempts, seed):
    policy = DEFAULT_POLICY
    delay = policy.delay_s(attempts, random.Random(seed))
    nominal = min(1800.0, 30.0 * 2 ** (attempts - 1)) if attempts < 100 else 1800.0
    assert nominal * 0.8 <= delay <= nominal
    assert delay <= 1800.0


@given(attempts=st.integers(min_value=1, max_value=20), seed=st.integers(0, 2**32))
def test_without_jitter_the_delay_never_shrinks_from_one_attempt_to_the_next(attempts, seed):
    policy = RetryPolicy(jitter=0.0)
    rng = random.Random(seed)
    assert policy.delay_s(attempts, rng) <= policy.delay_s(attempts + 1, rng)


def test_the_schedule():
    policy = RetryPolicy(jitter=0.0)
    assert [policy.delay_s(n) for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1800, 1800]


@given(attempts=st.integers(min_value=1, max_value=50))
def test_a_message_is_given_up_at_its_eighth_attempt(attempts):
    assert DEFAULT_POLICY.gives_up_after(attempts) == (attempts >= 8)


def test_jitter_spreads_messages_that_failed_together():
    rng = random.Random(7)
    delays = {round(DEFAULT_POLICY.delay_s(3, rng), 3) for _ in range(100)}
    assert len(delays) > 90
    assert min(delays) >= 96 and max(delays) <= 120
