"""The incident's steps, severity and timings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from _plans import reference_plan

from standby.errors import InvalidInput
from standby.respond.incidents import STATES, check_transition, severity, timings

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def test_an_incident_moves_forward_and_may_skip_steps():
    for i, current in enumerate(STATES[:-1]):
        for to in STATES[i + 1 :]:
            assert check_transition(current, to) == to


def test_it_goes_back_only_where_the_work_says_so():
    assert check_transition("verifying", "recovering") == "recovering"
    assert check_transition("resolved", "diagnosing") == "diagnosing"
    with pytest.raises(
        InvalidInput, match="cannot go from recovering to detected: from recovering it goes to"
    ):
        check_transition("recovering", "detected")
    with pytest.raises(InvalidInput, match="reviewed: it is closed"):
        check_transition("reviewed", "diagnosing")
    with pytest.raises(InvalidInput, match="already acknowledged"):
        check_transition("acknowledged", "acknowledged")
    with pytest.raises(InvalidInput, match="unknown incident state 'fixed'"):
        check_transition("detected", "fixed")


def test_severity_follows_the_class_and_the_queues_hit():
    plan = reference_plan()
    assert severity(plan, "total", []) == 1
    # The emergency line tolerates 15 minutes: losing it is SEV1 even when others answer.
    assert severity(plan, "partial", ["emergency"]) == 1
    assert severity(plan, "partial", ["moving"]) == 2
    assert severity(plan, "degraded", ["billing"]) == 3
    assert severity(plan, "interruption", []) == 4


def test_timings_run_from_the_outage_start_and_from_detection():
    result = timings(
        started_at=T0,
        detected_at=T0 + timedelta(seconds=12),
        acknowledged_at=T0 + timedelta(minutes=3),
        resolved_at=None,
    )
    assert (result.to_detect_s, result.to_acknowledge_s, result.to_resolve_s) == (12.0, 168.0, None)
    declared = timings(
        started_at=None, detected_at=T0, acknowledged_at=None, resolved_at=T0 + timedelta(hours=1)
    )
    assert (declared.to_detect_s, declared.to_resolve_s) == (None, 3600.0)
