"""The review's pure core: named times to measures, the actions' due times and reminders, the trends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from _plans import reference_plan

from standby.errors import InvalidInput
from standby.respond.incidents import timings
from standby.review.actions import check_action, due_time, occurrence, reminder_key
from standby.review.measures import MEASURES, duration_words, figures, seconds_of
from standby.review.trends import median, outages_per_part, percentile, quarter_of, quarterly

T = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def times(**offsets: float | None) -> dict[str, datetime | None]:
    return {k: None if v is None else T + timedelta(seconds=v) for k, v in offsets.items()}


def test_each_measure_runs_between_two_named_times_with_its_definition():
    named = times(
        started=0,
        detected=30,
        acknowledged=95,
        mitigated=400,
        recovered=3600,
        resolved=4000,
        callbacks_cleared=9000,
    )
    found = {f.name: f for f in figures(named, closed=True)}
    assert {n: f.seconds for n, f in found.items()} == {
        "time_to_detect_s": 30.0, "time_to_acknowledge_s": 65.0, "time_to_mitigate_s": 370.0,
        "time_to_recover_s": 3570.0, "time_to_resolve_s": 3970.0, "time_to_clear_callbacks_s": 5400.0,
    }  # fmt: skip
    assert found["time_to_acknowledge_s"].text == "1 min 05 s"
    assert found["time_to_recover_s"].text == "59 min 30 s"
    assert all(f.definition for f in found.values()) and len(found) == len(MEASURES)


def test_what_never_happened_says_never_once_closed_and_not_yet_while_worked():
    open_ = {f.name: f.text for f in figures(times(started=0, detected=10), closed=False)}
    assert open_["time_to_acknowledge_s"] == "not yet"
    closed = {f.name: f for f in figures(times(started=0, detected=10, resolved=600), closed=True)}
    assert (closed["time_to_acknowledge_s"].seconds, closed["time_to_acknowledge_s"].text) == (None, "never")
    assert closed["time_to_mitigate_s"].text == "never"
    declared = {f.name: f.text for f in figures(times(started=None, detected=0, resolved=60), closed=True)}
    assert declared["time_to_detect_s"] == "unknown"
    nothing = {f.name: f.text for f in figures(times(recovered=5), closed=True, nothing_to_clear=True)}
    assert nothing["time_to_clear_callbacks_s"] == "none to clear"


def test_the_incidents_api_timings_are_the_reviews_measures():
    t = timings(started_at=T, detected_at=T + timedelta(seconds=7), acknowledged_at=None,
                resolved_at=T + timedelta(minutes=10))  # fmt: skip
    named = times(started=0, detected=7, resolved=600)
    assert t.to_detect_s == seconds_of("time_to_detect_s", named) == 7.0
    assert t.to_resolve_s == seconds_of("time_to_resolve_s", named) == 593.0
    assert t.to_acknowledge_s is None


def test_durations_read_at_a_glance():
    assert [duration_words(s) for s in (0, 45, 750, 3600 * 4 + 300)] == [
        "0 s",
        "45 s",
        "12 min 30 s",
        "4 h 05 min",
    ]


def test_a_due_date_is_the_end_of_that_day_in_the_plans_zone():
    assert due_time("2026-07-01", "Europe/London") == datetime(2026, 7, 1, 23, 0, tzinfo=UTC)
    assert due_time("2026-07-01T09:00:00+02:00", "Europe/London") == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="no offset"):
        due_time("2026-07-01T09:00:00", "Europe/London")
    with pytest.raises(InvalidInput, match="neither a date"):
        due_time("next week", "Europe/London")


def test_an_overdue_action_is_reminded_at_its_due_time_then_weekly():
    assert occurrence(T, T - timedelta(seconds=1)) is None
    assert occurrence(T, T) == 0 and occurrence(T, T + timedelta(days=6, hours=23)) == 0
    assert occurrence(T, T + timedelta(days=7)) == 1 and occurrence(T, T + timedelta(days=15)) == 2
    assert reminder_key(3, T, 0) != reminder_key(3, T, 1) != reminder_key(3, T + timedelta(days=1), 1)


def test_an_action_names_a_person_a_kind_and_parts_of_the_plan():
    plan = reference_plan()
    assert check_action(
        plan, title="x", owner="dev", kind="detect", links=["component:crm", "component:crm"]
    ) == ("component:crm",)
    for owner, kind, links, said in (
        ("nobody", "detect", [], "owner"),
        ("dev", "later", [], "kind"),
        ("dev", "detect", ["site:leeds"], "component:ID or vendor:ID"),
        ("dev", "detect", ["vendor:nope"], "no vendor 'nope'"),
    ):
        with pytest.raises(InvalidInput, match=said):
            check_action(plan, title="x", owner=owner, kind=kind, links=links)


def test_percentiles_quarters_and_outages_per_part():
    assert median([]) is None and median([3.0, 1.0, 2.0]) == 2.0 and median([1.0, 2.0, 3.0, 10.0]) == 2.5
    assert percentile(list(map(float, range(1, 11))), 0.9) == 9.0 and percentile([5.0], 0.9) == 5.0
    assert quarter_of(datetime(2026, 3, 31, tzinfo=UTC)) == "2026-Q1"
    assert quarter_of(datetime(2026, 10, 1, tzinfo=UTC)) == "2026-Q4"
    found = quarterly(
        [
            (datetime(2026, 11, 1, tzinfo=UTC), {"time_to_detect_s": 60.0, "time_to_acknowledge_s": None}),
            (datetime(2026, 12, 1, tzinfo=UTC), {"time_to_detect_s": 120.0, "time_to_acknowledge_s": 30.0}),
            (datetime(2026, 5, 1, tzinfo=UTC), {"time_to_detect_s": 10.0}),
        ]
    )
    assert [q.quarter for q in found] == ["2026-Q2", "2026-Q4"]
    q4 = found[1]
    assert q4.incidents == 2 and q4.measures["time_to_detect_s"].median_s == 90.0
    assert q4.measures["time_to_detect_s"].p90_s == 120.0
    assert q4.measures["time_to_acknowledge_s"].count == 1
    plan = reference_plan()
    causes = [["crm"], ["crm", "sbc"], ["acd"]]
    by_component, by_vendor = outages_per_part(plan, causes)
    assert by_component[0].id == "crm" and by_component[0].outages == 2
    vendor_of = {c.id: c.vendor for c in plan.components}
    expected = {
        v: sum(1 for cause in causes if v in {vendor_of[c] for c in cause})
        for v in {vendor_of[c] for c in vendor_of}
    }
    assert {v.id: v.outages for v in by_vendor} == {v: n for v, n in expected.items() if v is not None and n}
