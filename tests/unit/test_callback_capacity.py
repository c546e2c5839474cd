"""Callback capacity after recovery: agents on shift less those the inbound forecast needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from _plans import plan, queue, reference_plan, site, team

from standby.customers.capacity import (
    backlog_calls,
    callback_capacity,
    first_unit,
    unit_minutes,
)
from standby.impact.erlang import Traffic
from standby.impact.staffing import staff

HALF_HOUR = 1800.0
TUESDAY = datetime(2026, 11, 24, 10, 7, tzinfo=UTC)  # Europe/London is on UTC in November


def centre(*, timezone: str = "UTC", queues: Any = None, teams: Any = None) -> Any:
    return plan(
        organisation={"name": "Test centre", "timezone": timezone},
        sites=[site("hq")],
        queues=queues if queues is not None else [queue("billing")],
        teams=teams if teams is not None else [team("desk", "hq", ["billing"], agents=4)],
    )


def test_without_a_forecast_every_agent_on_shift_is_spare_in_half_hour_slots():
    capacity = callback_capacity(centre(), recovery=TUESDAY, horizon_days=1)
    assert capacity.start == datetime(2026, 11, 24, 10, 30, tzinfo=UTC)  # rounded up to the slot
    assert capacity.unit_s == 1800 and capacity.units == 48
    (spare,) = capacity.spare
    assert spare[0] == 4 * HALF_HOUR  # 10:30
    assert spare[19] == 0.0  # 20:00: the shift is over
    assert spare[43] == 4 * HALF_HOUR  # 08:00 the next day
    assert capacity.slot_times("billing", 0) == (capacity.start, capacity.start + timedelta(minutes=30))


def test_the_inbound_forecast_takes_the_agents_erlang_says_it_needs():
    forecast = {"interval_minutes": 30, "start": "08:00", "calls": [60.0] * 24}
    capacity = callback_capacity(
        centre(
            queues=[queue("billing", patience_s=120, forecast=forecast)],
            teams=[team("desk", "hq", ["billing"], agents=20)],
        ),
        recovery=TUESDAY,
        horizon_days=1,
    )
    needed = staff(
        Traffic.over_interval(calls=60, interval_minutes=30, aht_s=300, answer_within_s=20, patience_s=120),
        target=0.8,
    ).agents
    assert 0 < needed < 20
    assert capacity.spare[0][0] == (20 - needed) * HALF_HOUR


def test_a_queue_takes_agents_from_the_teams_that_put_it_first():
    forecast = {"interval_minutes": 30, "start": "00:00", "calls": [30.0] * 48}
    needed = staff(
        Traffic.over_interval(calls=30, interval_minutes=30, aht_s=300, answer_within_s=20), target=0.8
    )
    capacity = callback_capacity(
        centre(
            queues=[queue("billing", forecast=forecast), queue("sales")],
            teams=[
                team("sales-team", "hq", ["sales", "billing"], agents=10),
                team("billing-team", "hq", ["billing", "sales"], agents=10),
            ],
        ),
        recovery=TUESDAY,
        horizon_days=1,
    )
    assert capacity.spare[0][0] == 10 * HALF_HOUR  # sales-team is left alone
    assert capacity.spare[1][0] == (10 - needed.agents) * HALF_HOUR
    # Callbacks of billing go first to the team that puts billing first.
    assert capacity.queues["billing"].teams == (1, 0)


def test_shifts_follow_the_wall_clock_of_the_centre():
    summer = datetime(2026, 6, 16, 6, 0, tzinfo=UTC)  # 07:00 BST
    capacity = callback_capacity(centre(timezone="Europe/London"), recovery=summer, horizon_days=1)
    (spare,) = capacity.spare
    assert spare[1] == 0.0  # 07:30 BST
    assert spare[2] == 4 * HALF_HOUR  # 07:00 UTC is 08:00 BST: the shift starts


def test_the_days_the_clocks_change_have_23_and_25_hours_of_slots():
    zone = ZoneInfo("Europe/London")

    def units_on(day: datetime) -> int:
        capacity = callback_capacity(centre(timezone="Europe/London"), recovery=day, horizon_days=3)
        starts = [capacity.start + timedelta(seconds=u * capacity.unit_s) for u in range(capacity.units)]
        return sum(1 for t in starts if t.astimezone(zone).date() == (day + timedelta(days=1)).date())

    assert units_on(datetime(2026, 3, 28, 12, 0, tzinfo=UTC)) == 46  # Sunday 29 March: clocks go forward
    assert units_on(datetime(2026, 10, 24, 12, 0, tzinfo=UTC)) == 50  # Sunday 25 October: they go back


def test_a_shift_that_starts_inside_a_slot_counts_for_the_part_it_covers():
    late = team("desk", "hq", ["billing"], agents=4, shift={"start": "08:15", "end": "12:00"})
    capacity = callback_capacity(
        centre(teams=[late]), recovery=datetime(2026, 11, 24, 8, 0, tzinfo=UTC), horizon_days=1
    )
    assert capacity.spare[0][0] == 2 * HALF_HOUR


def test_queues_keep_their_own_slot_lengths():
    hourly = {"interval_minutes": 60, "start": "00:00", "calls": [0.0] * 24}
    quarter = {"interval_minutes": 15, "start": "00:00", "calls": [0.0] * 96}
    shape = centre(
        queues=[queue("billing", forecast=hourly), queue("sales", forecast=quarter)],
        teams=[team("desk", "hq", ["billing", "sales"], agents=4)],
    )
    assert unit_minutes(shape) == 15
    capacity = callback_capacity(shape, recovery=datetime(2026, 11, 24, 10, 20, tzinfo=UTC), horizon_days=1)
    assert capacity.start == datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
    # The first hourly slot is cut short at recovery; the next ones are whole hours.
    assert capacity.slot_times("billing", 0) == (capacity.start, datetime(2026, 11, 24, 11, 0, tzinfo=UTC))
    assert capacity.slot_times("billing", 1)[1] - capacity.slot_times("billing", 1)[0] == timedelta(hours=1)
    assert capacity.slot_times("sales", 0)[1] - capacity.start == timedelta(minutes=15)


def test_callbacks_already_booked_take_capacity_first():
    shape = centre(teams=[team("desk", "hq", ["billing"], agents=1)])
    recovery = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    booked = [("billing", recovery + timedelta(minutes=5))] * 4 + [("billing", recovery + timedelta(days=30))]
    capacity = callback_capacity(shape, recovery=recovery, booked=booked, horizon_days=1)
    assert capacity.spare[0][0] == HALF_HOUR - 4 * 300
    assert capacity.spare[0][1] == HALF_HOUR
    # Booked beyond what is left, it takes what there is and never goes below nothing.
    full = callback_capacity(shape, recovery=recovery, booked=booked * 3, horizon_days=1)
    assert full.spare[0][0] == 0.0


def test_callers_who_gave_up_come_back_in_the_first_hour():
    reference = reference_plan()
    start = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    end = start + timedelta(hours=2)
    backlog = backlog_calls(reference, ["billing"], start, end)
    # Billing's forecast from 09:00 to 11:00 is 240 + 260 + 250 + 230 calls; 60% call again.
    assert abs(backlog["billing"] - 0.6 * 980) < 1e-6
    calm = callback_capacity(reference, recovery=end, horizon_days=1)
    busy = callback_capacity(reference, recovery=end, backlog=backlog, horizon_days=1)
    spare = [sum(team[u] for team in busy.spare) for u in range(3)]
    assert spare[0] < sum(team[0] for team in calm.spare)
    assert spare[1] < sum(team[1] for team in calm.spare)
    assert spare[2] == sum(team[2] for team in calm.spare)  # after the first hour


def test_recovery_is_rounded_up_to_the_next_slot_boundary():
    shape = centre(timezone="Asia/Kolkata")  # +05:30: slots start on the half hours of Indian time
    assert first_unit(shape, datetime(2026, 11, 24, 10, 0, 1, tzinfo=UTC)) == datetime(
        2026, 11, 24, 10, 30, tzinfo=UTC
    )
    assert first_unit(shape, datetime(2026, 11, 24, 10, 0, tzinfo=UTC)) == datetime(
        2026, 11, 24, 10, 0, tzinfo=UTC
    )


def test_a_callback_takes_its_time_from_the_units_of_its_slot_in_order():
    hourly = {"interval_minutes": 60, "start": "00:00", "calls": [0.0] * 24}
    quarter = {"interval_minutes": 15, "start": "00:00", "calls": [0.0] * 96}
    shape = centre(
        queues=[queue("billing", forecast=hourly, aht_s=1200), queue("sales", forecast=quarter, aht_s=600)],
        teams=[team("desk", "hq", ["billing", "sales"], agents=1)],
    )
    capacity = callback_capacity(shape, recovery=datetime(2026, 11, 24, 10, 0, tzinfo=UTC), horizon_days=1)
    quarter_s = 15 * 60.0
    # Sales' slots are one unit each: a callback takes its handling time from that unit.
    assert capacity.take("sales", 1) == 0
    assert capacity.spare[0][:4] == [quarter_s, quarter_s - 600, quarter_s, quarter_s]
    # Billing's hour is four units: 1,200 s is taken from the first units that have time left.
    assert capacity.take("billing", 0) == 0
    assert capacity.spare[0][:4] == [0.0, quarter_s - 600 - 300, quarter_s, quarter_s]
    # A unit without the handling time left takes nothing, and the queue's callback is refused there.
    assert capacity.take("sales", 1) is None
    assert capacity.spare[0][1] == quarter_s - 900
