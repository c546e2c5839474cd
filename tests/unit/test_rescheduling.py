"""Rescheduling callbacks: earliest slot with capacity, vulnerable first, none lost, none over capacity."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from _plans import plan, queue, site, team
from hypothesis import given, settings
from hypothesis import strategies as st

from standby.customers.capacity import callback_capacity
from standby.customers.rescheduling import ToPlace, need_order, place

RECOVERY = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
MISSED = RECOVERY - timedelta(hours=4)


def one_desk(agents: int = 1, **queue_extra: Any) -> Any:
    return plan(
        organisation={"name": "Test centre"},
        sites=[site("hq")],
        queues=[queue("billing", aht_s=600, **queue_extra)],
        teams=[team("desk", "hq", ["billing"], agents=agents)],
    )


def test_each_callback_goes_in_the_earliest_slot_with_time_for_it():
    capacity = callback_capacity(one_desk(), recovery=RECOVERY, horizon_days=1)
    # One agent, 600 s calls: three callbacks fill a half hour.
    callbacks = [ToPlace(i, "billing", False, MISSED + timedelta(minutes=i)) for i in range(7)]
    result = place(callbacks, capacity)
    starts = [p.start for p in sorted(result.placed)]
    half = timedelta(minutes=30)
    assert starts == [RECOVERY] * 3 + [RECOVERY + half] * 3 + [RECOVERY + 2 * half]
    assert all(p.end == p.start + half and p.team == "desk" for p in result.placed)
    assert result.unplaced == []
    # The capacity given is left as it was.
    assert capacity.spare[0][0] == 1800.0


def test_vulnerable_customers_first_then_the_longest_waiting():
    capacity = callback_capacity(one_desk(), recovery=RECOVERY, horizon_days=1)
    callbacks = [
        ToPlace(1, "billing", False, MISSED + timedelta(minutes=1)),
        ToPlace(2, "billing", False, MISSED),
        ToPlace(3, "billing", True, MISSED + timedelta(hours=3)),
        ToPlace(4, "billing", False, MISSED),  # as long waiting as 2: the id decides
    ]
    result = place(callbacks, capacity)
    assert [p.id for p in result.placed] == [3, 2, 4, 1]
    assert [p.start for p in result.placed] == [RECOVERY] * 3 + [RECOVERY + timedelta(minutes=30)]


def test_a_callback_no_slot_can_take_is_returned_unplaced_with_the_reason():
    capacity = callback_capacity(one_desk(agents=0), recovery=RECOVERY, horizon_days=2)
    callbacks = [ToPlace(1, "billing", True, MISSED), ToPlace(2, "refunds", False, MISSED)]
    result = place(callbacks, capacity)
    assert result.placed == []
    reasons = {u.id: u.reason for u in result.unplaced}
    assert reasons == {
        1: "no agent time for billing callbacks within 2 days of recovery",
        2: "the plan has no queue 'refunds'",
    }


def test_a_long_callback_skips_a_slot_too_full_for_it_but_a_short_one_still_fits():
    shape = plan(
        organisation={"name": "Test centre"},
        sites=[site("hq")],
        queues=[queue("long", aht_s=1200), queue("short", aht_s=300)],
        teams=[team("desk", "hq", ["long", "short"], agents=1)],
    )
    capacity = callback_capacity(shape, recovery=RECOVERY, horizon_days=1)
    callbacks = [
        ToPlace(1, "long", False, MISSED),
        ToPlace(2, "long", False, MISSED + timedelta(minutes=1)),
        ToPlace(3, "short", False, MISSED + timedelta(minutes=2)),
    ]
    starts = {p.id: p.start for p in place(callbacks, capacity).placed}
    assert starts == {1: RECOVERY, 2: RECOVERY + timedelta(minutes=30), 3: RECOVERY}


# ---- the property -------------------------------------------------------------------------

QUEUES = ("q0", "q1", "q2")


@st.composite
def centres(draw: st.DrawFn) -> Any:
    """A small centre: queues with or without a half-hourly forecast, teams with random skills and shifts."""
    queues = []
    for qid in QUEUES[: draw(st.integers(1, 3))]:
        extra: dict[str, Any] = {"aht_s": draw(st.sampled_from([120, 300, 600, 900, 1700]))}
        if draw(st.booleans()):
            calls = draw(st.lists(st.sampled_from([0.0, 1e-300, 4.0, 15.0, 40.0]), min_size=1, max_size=48))
            extra["forecast"] = {"interval_minutes": 30, "start": "00:00", "calls": calls}
        queues.append(queue(qid, **extra))
    names = [q["id"] for q in queues]
    teams = []
    for t in range(draw(st.integers(1, 3))):
        skills = draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True))
        start = draw(st.integers(0, 46)) * 30
        end = draw(st.integers(start // 30 + 1, 48)) * 30
        shift = {"start": f"{start // 60:02d}:{start % 60:02d}", "end": f"{end // 60:02d}:{end % 60:02d}"}
        teams.append(team(f"t{t}", "hq", skills, agents=draw(st.integers(0, 6)), shift=shift))
    return plan(organisation={"name": "Test centre"}, sites=[site("hq")], queues=queues, teams=teams)


@st.composite
def callbacks(draw: st.DrawFn) -> list[ToPlace]:
    count = draw(st.integers(0, 300))
    return [
        ToPlace(
            i,
            draw(st.sampled_from([*QUEUES, "gone"])),
            draw(st.booleans()),
            MISSED + timedelta(minutes=draw(st.integers(0, 240))),
        )
        for i in range(count)
    ]


@settings(max_examples=150, deadline=None)
@given(centres(), callbacks(), st.integers(0, 3))
def test_no_callback_is_lost_none_is_booked_beyond_capacity_and_need_comes_first(
    shape, given_callbacks, booked
):
    bookings = [(q.id, RECOVERY + timedelta(minutes=7 * i)) for q in shape.queues for i in range(booked)]
    capacity = callback_capacity(shape, recovery=RECOVERY, booked=bookings, horizon_days=1)
    result = place(given_callbacks, capacity)

    # Every callback comes back exactly once.
    returned = [p.id for p in result.placed] + [u.id for u in result.unplaced]
    assert sorted(returned) == [c.id for c in given_callbacks]

    # No team is given more callback time in a slot than it has to spare there (every slot is one unit).
    used: dict[tuple[str, datetime], float] = defaultdict(float)
    aht = {q.id: float(q.aht_s) for q in shape.queues}
    for p in result.placed:
        assert p.end - p.start <= timedelta(minutes=30) and p.start >= capacity.start
        used[(p.team, p.start)] += aht[p.queue]
    for (team_id, start), seconds in used.items():
        unit = int((start - capacity.start).total_seconds()) // capacity.unit_s
        assert seconds <= capacity.spare[capacity.teams.index(team_id)][unit] + 1e-6

    # Within a queue, every vulnerable customer's slot is no later than any other's, and among
    # equals the longest waiting come first; nobody placed jumped ahead of someone left unplaced.
    by_id = {c.id: c for c in given_callbacks}
    for queue_id in QUEUES:
        mine = sorted(
            (p for p in result.placed if p.queue == queue_id), key=lambda p: need_order(by_id[p.id])
        )
        assert [p.start for p in mine] == sorted(p.start for p in mine)
        vulnerable = [p.start for p in mine if by_id[p.id].vulnerable]
        others = [p.start for p in mine if not by_id[p.id].vulnerable]
        if vulnerable and others:
            assert max(vulnerable) <= min(others)
        left_out = [need_order(by_id[u.id]) for u in result.unplaced if u.queue == queue_id]
        if left_out and mine:
            assert need_order(by_id[mine[-1].id]) < min(left_out)
