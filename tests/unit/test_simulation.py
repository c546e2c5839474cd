"""run_impact on the reference plan: what a manager asks of it, and reproducibility."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
import yaml
from _plans import REFERENCE

from standby.impact.results import ImpactResult, Scenario, ScheduledCallback
from standby.impact.simulation import run_impact
from standby.plan.schema import Plan

ACD_HOUR = Scenario(("acd",), 600, 60)
LEEDS_HOUR = Scenario(("leeds-power",), 600, 60)


def reference(**queue_changes: dict[str, Any]) -> Plan:
    data = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    for q in data["queues"]:
        q.update(queue_changes.get(q["id"], {}))
    return Plan.model_validate(data)


@cache
def acd_hour() -> ImpactResult:
    callbacks = (ScheduledCallback(615, "billing", vulnerable=True), ScheduledCallback(640, "emergency"))
    return run_impact(reference(), ACD_HOUR, replications=8, seed=3, callbacks=callbacks, workers=1)


@cache
def leeds_hour() -> ImpactResult:
    return run_impact(reference(), LEEDS_HOUR, replications=8, seed=3, workers=1)


def at(result: ImpactResult, text: str) -> list[int]:
    return [h.minute for h in result.happenings if text in h.text]


# ---- the ACD down for an hour ------------------------------------------------------------


def test_the_emergency_lines_fifteen_minute_tolerance_is_breached_at_10_15() -> None:
    breaches = {(b.queue, b.kind): b for b in acd_hour().breaches}
    assert breaches["emergency", "max_outage_minutes"].minute == 10 * 60 + 15
    assert breaches["emergency", "max_outage_minutes"].limit == 15
    # 240 and 480 minutes are longer than the outage.
    assert ("billing", "max_outage_minutes") not in breaches
    assert ("moving", "max_outage_minutes") not in breaches
    # 50 unanswered emergency calls: about 1.6 a minute plus redials, within the first quarter hour.
    assert 600 < breaches["emergency", "max_unanswered_calls"].minute < 630
    assert at(acd_hour(), "Gas emergency line out for 15 minutes: impact tolerance breached") == [615]


def test_every_queue_is_unreachable_for_the_hour_and_nothing_else() -> None:
    result = acd_hour()
    for queue_id, rows in result.outage.queues.items():
        base = {r.start: r for r in result.baseline.queues[queue_id]}
        for row in rows:
            if 600 <= row.start < 660:
                assert row.answered == 0 and row.unreachable > 0, (queue_id, row)
            if row.start < 570:
                # Common random numbers: the same morning. (Calls of the half hour before the outage
                # may still be waiting at 10:00, and be cut off.)
                assert row == base[row.start]
    on_shift = {c.start: c.agents_on_shift for c in result.outage.centre}
    assert on_shift[600] == on_shift[630] == 12 + 50 + 19  # the gas desk, the early shift, sales
    for centre in result.outage.centre:
        assert centre.agents_working == (0 if 600 <= centre.start < 660 else on_shift[centre.start])
        assert centre.agents_idle_paid == (on_shift[centre.start] if 600 <= centre.start < 660 else 0)


def test_customers_and_vulnerable_customers_are_affected_and_it_costs() -> None:
    result = acd_hour()
    assert result.customers_affected.low > 300
    assert result.vulnerable_affected.low > 0
    assert result.calls_unanswered.mean >= result.customers_affected.mean * 0.5
    # An hour of 81 agents paid to wait, at their teams' rates, exactly.
    assert result.cost.idle_wages.mean == pytest.approx(12 * 19.5 + 50 * 16.8 + 19 * 17.4)
    assert result.cost.lost_value.low > 0
    # Value is lost once per customer who never got through, not once per redial: it cannot
    # exceed the affected customers at the dearest queue's value (moving, 38.00).
    assert result.cost.lost_value.mean <= result.customers_affected.mean * 38.0
    assert result.cost.lost_value.mean < result.calls_unanswered.mean * 38.0
    assert result.cost.total.mean == pytest.approx(result.cost.idle_wages.mean + result.cost.lost_value.mean)
    assert result.baseline.cost.idle_wages.mean == 0


def test_callbacks_due_in_the_outage_are_missed() -> None:
    result = acd_hour()
    assert result.outage.callbacks_due.mean == 2
    assert result.baseline.callbacks_missed.mean == 0
    assert result.outage.callbacks_missed.mean == 2
    assert result.callbacks_missed.mean == 2


def test_callbacks_booked_by_rate_are_made_or_missed() -> None:
    result = run_impact(
        reference(billing={"callbacks_per_hour": 6}), ACD_HOUR, replications=2, seed=1, workers=1
    )
    assert result.baseline.callbacks_due.mean == 72  # 6 an hour over the 12-hour forecast
    assert result.baseline.callbacks_missed.mean == 0
    assert result.callbacks_missed.mean == 6  # the hour the line is down


def test_the_ivr_message_cannot_play_with_the_ivr_down_and_nobody_moves() -> None:
    result = acd_hour()
    assert at(result, "outage-message: the outage message cannot play") == [600]
    assert not any("leeds-to-home" in h.text for h in result.happenings)
    assert all(r.deflected == 0 for rows in result.outage.queues.values() for r in rows)
    assert at(result, "CloudCX routing (ACD) down (and with it CloudCX IVR)") == [600]
    assert at(result, "CloudCX routing (ACD) back") == [660]


def test_service_is_back_on_target_after_the_outage() -> None:
    result = acd_hour()
    for minute in result.recovery.values():
        assert minute is not None and minute >= 660


# ---- Leeds loses power for an hour -------------------------------------------------------


def test_leeds_agents_work_from_home_after_thirty_minutes() -> None:
    result = leeds_hour()
    assert at(result, "leeds-to-home: 48 agents working from home") == [630]  # 9 + 30 + 9
    by_start = {c.start: c for c in result.outage.centre}
    assert by_start[600].agents_working == 0 and by_start[600].agents_idle_paid == 81
    assert by_start[630].agents_working == 48 and by_start[630].agents_idle_paid == 33
    assert by_start[660].agents_working == 81
    emergency = {r.start: r for r in result.outage.queues["emergency"]}
    # Nobody answers from 10:00 to 10:30; callers still holding at 10:30 are answered from home.
    assert emergency[600].agents_busy == 0 and emergency[600].answered_in_target <= 2
    assert emergency[630].agents_busy > 5 and emergency[630].answered > 10


def test_a_callback_is_missed_unless_home_working_starts_within_its_grace() -> None:
    callbacks = (ScheduledCallback(610, "billing"), ScheduledCallback(620, "billing"))
    result = run_impact(reference(), LEEDS_HOUR, replications=2, seed=1, callbacks=callbacks, workers=1)
    # Due 10:10: nobody can call before 10:25. Due 10:20: made from home at 10:30.
    assert result.outage.callbacks_missed.mean == 1
    assert result.baseline.callbacks_missed.mean == 0


def test_leeds_lost_breaches_the_emergency_tolerance_until_home_working_starts() -> None:
    breaches = {(b.queue, b.kind): b.minute for b in leeds_hour().breaches}
    assert breaches["emergency", "max_outage_minutes"] == 615


def test_the_outage_message_deflects_billing_and_moving_callers_but_not_emergency() -> None:
    result = leeds_hour()
    assert sum(r.deflected for r in result.outage.queues["billing"]) > 0
    assert sum(r.deflected for r in result.outage.queues["moving"]) > 0
    assert sum(r.deflected for r in result.outage.queues["emergency"]) == 0


def test_the_partner_takes_billing_and_moving_after_its_activation() -> None:
    result = run_impact(reference(), Scenario(("leeds-power",), 600, 240), replications=2, seed=1, workers=1)
    assert at(
        result, "overflow-to-harbour: Harbour overflow partner, Bristol takes Billing and payments and"
    ) == [720]
    by_start = {c.start: c for c in result.outage.centre}
    assert by_start[720].agents_working == 48 + 40
    # 40 partner agents for two hours at the agent-weighted rate of the teams skilled for billing or moving.
    rate = (50 * 16.8 + 19 * 17.4 + 32 * 16.8) / (50 + 19 + 32)
    assert result.cost.partner_wages.mean == pytest.approx(40 * 2 * rate)
    assert result.cost.total.mean == pytest.approx(
        result.cost.idle_wages.mean + result.cost.lost_value.mean + result.cost.partner_wages.mean
    )


def test_a_short_partner_activation_is_reported_as_too_slow() -> None:
    assert at(leeds_hour(), "overflow-to-harbour: Harbour overflow partner, Bristol needs 120 minutes") == [
        600
    ]


# ---- reproducibility ---------------------------------------------------------------------


def test_the_same_seed_gives_the_same_result_bit_for_bit() -> None:
    again = run_impact(
        reference(),
        ACD_HOUR,
        replications=8,
        seed=3,
        callbacks=(ScheduledCallback(615, "billing", vulnerable=True), ScheduledCallback(640, "emergency")),
        workers=1,
    )
    assert again.to_dict() == acd_hour().to_dict()
    other = run_impact(reference(), ACD_HOUR, replications=8, seed=4, workers=1)
    assert other.customers_affected != acd_hour().customers_affected


def test_the_number_of_workers_does_not_change_the_result() -> None:
    seen: list[tuple[int, int]] = []
    alone = run_impact(reference(), LEEDS_HOUR, replications=4, seed=9, workers=1)
    shared = run_impact(
        reference(),
        LEEDS_HOUR,
        replications=4,
        seed=9,
        workers=2,
        on_progress=lambda d, t: seen.append((d, t)),
    )
    assert shared.to_dict() == alone.to_dict()
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_progress_is_reported_in_process_too() -> None:
    seen: list[tuple[int, int]] = []
    run_impact(
        reference(), ACD_HOUR, replications=3, seed=1, workers=1, on_progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_one_replication_has_no_spread() -> None:
    result = run_impact(reference(), ACD_HOUR, replications=1, seed=1, workers=1)
    assert result.customers_affected.low == result.customers_affected.mean == result.customers_affected.high


def test_confidence_intervals_contain_the_mean() -> None:
    result = acd_hour()
    for estimate in (result.customers_affected, result.calls_unanswered, result.cost.total):
        assert estimate.low <= estimate.mean <= estimate.high
        assert estimate.low < estimate.high


def test_lognormal_handling_keeps_the_mean() -> None:
    exp = run_impact(reference(), ACD_HOUR, replications=4, seed=2, workers=1)
    logn = run_impact(reference(), ACD_HOUR, replications=4, seed=2, workers=1, handling_cv=0.6)
    busy = [sum(r.agents_busy for r in res.baseline.queues["billing"]) for res in (exp, logn)]
    assert busy[1] == pytest.approx(busy[0], rel=0.05)
    assert exp.to_dict() != logn.to_dict()
