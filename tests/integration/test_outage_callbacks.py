"""Callbacks an outage hits, on SQLite and PostgreSQL: flagged at once, released or rescheduled
after recovery, the customer told once, and nothing done twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _customer_rows
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from standby.customers.callback_messages import tell_new_time
from standby.customers.compensation_service import apply_rules, list_offers
from standby.customers.outage_callbacks import CallbackPass, look_after_callbacks
from standby.customers.summary_service import customer_summary
from standby.notify.outbox_desk import list_messages
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.schema import Plan
from standby.store.engine import unit_of_work
from standby.store.tables import CallbackEventRow, CallbackRow, MessageRow, OutageRow, StateChangeRow

# A Tuesday in November: Europe/London is on UTC, so local times read as they are.
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
PLAN = load_plan_text(reference_plan_text())


def roomy_text() -> str:
    """The reference plan with agents to spare after recovery: its early billing shift kept all day, at 100.

    The reference plan is staffed to its service levels, so where a callback lands depends on
    the day's traffic; these tests are about what happens to a callback, and state the spare
    agents they need to place every one in the first slot after recovery.
    """
    text = reference_plan_text()
    early = '    agents: 50\n    shift: {start: "08:00", end: "16:00"}'
    assert early in text
    return text.replace(early, '    agents: 100\n    shift: {start: "08:00", end: "20:00"}')


ROOMY = load_plan_text(roomy_text())


def add_outage(factory: sessionmaker[Session], *, queues: list[str], started: datetime) -> int:
    with unit_of_work(factory) as session:
        return _customer_rows.add_outage(session, started_at=started, ended_at=None, queues=tuple(queues))


def end_outage(
    factory: sessionmaker[Session], outage_id: int, at: datetime, merged_into: int | None = None
) -> None:
    with unit_of_work(factory) as session:
        row = session.get(OutageRow, outage_id)
        assert row is not None
        row.ended_at, row.merged_into, row.updated_at = at, merged_into, at


def add_callback(
    factory: sessionmaker[Session], n: int, *, due: datetime, queue: str = "billing", **extra: Any
) -> int:
    values: dict[str, Any] = {
        "customer": f"Customer {n}",
        "phone": f"+4477009{n:05d}",
        "customer_key": f"+4477009{n:05d}",
        "queue": queue,
        "requested_due_at": due,
        "due_at": due,
        "state": "scheduled",
        "source": "api",
        "created_by": "test",
        "created_at": T0 - timedelta(days=1),
        "updated_at": T0 - timedelta(days=1),
        **extra,
    }
    with unit_of_work(factory) as session:
        row = CallbackRow(**values)
        session.add(row)
        session.flush()
        return row.id


def run(factory: sessionmaker[Session], at: datetime, plan: Plan = PLAN, **extra: Any) -> CallbackPass:
    with unit_of_work(factory) as session:
        return look_after_callbacks(session, plan=plan, now=at, **extra)


def callback(factory: sessionmaker[Session], callback_id: int) -> CallbackRow:
    with unit_of_work(factory) as session:
        row = session.get(CallbackRow, callback_id)
        assert row is not None
        session.expunge(row)
        return row


def events(factory: sessionmaker[Session], callback_id: int) -> list[tuple[str, dict[str, Any]]]:
    with unit_of_work(factory) as session:
        rows = session.scalars(
            select(CallbackEventRow)
            .where(CallbackEventRow.callback_id == callback_id)
            .order_by(CallbackEventRow.id)
        )
        return [(r.kind, dict(r.data)) for r in rows]


def message_count(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as session:
        return int(session.scalar(select(func.count()).select_from(MessageRow)) or 0)


def test_callbacks_due_in_the_outage_are_flagged_at_once(session_factory):
    outage = add_outage(session_factory, queues=["billing"], started=T0)
    soon = add_callback(session_factory, 1, due=T0 + timedelta(minutes=10), state="confirmed")
    later = add_callback(session_factory, 2, due=T0 + timedelta(hours=2))
    other_queue = add_callback(session_factory, 3, due=T0 + timedelta(minutes=10), queue="moving")
    before = add_callback(session_factory, 4, due=T0 - timedelta(minutes=5))
    assert run(session_factory, T0 + timedelta(seconds=5)) == CallbackPass(flagged=1)
    row = callback(session_factory, soon)
    assert (row.state, row.outage_id, row.flagged_at) == ("flagged", outage, T0 + timedelta(seconds=5))
    assert events(session_factory, soon) == [
        (
            "flagged",
            {
                "outage_id": outage,
                "state_before": "confirmed",
                "outage_before": None,
                "due_at": (T0 + timedelta(minutes=10)).isoformat(),
            },
        )
    ]
    assert {callback(session_factory, i).state for i in (later, other_queue, before)} == {"scheduled"}
    # Nothing new: nothing done.
    assert run(session_factory, T0 + timedelta(seconds=10)) == CallbackPass()
    # Half an hour before it is due, the later one is flagged too.
    assert run(session_factory, T0 + timedelta(hours=1, minutes=31)) == CallbackPass(flagged=1)
    assert callback(session_factory, later).state == "flagged"


def test_a_callback_the_outage_ended_before_goes_back_as_it_was(session_factory):
    outage = add_outage(session_factory, queues=["billing"], started=T0)
    due = T0 + timedelta(minutes=20)
    cb = add_callback(session_factory, 1, due=due, state="confirmed")
    run(session_factory, T0)
    end_outage(session_factory, outage, T0 + timedelta(minutes=15))
    assert run(session_factory, T0 + timedelta(minutes=15, seconds=2)) == CallbackPass(released=1)
    row = callback(session_factory, cb)
    assert (row.state, row.outage_id, row.due_at, row.moves, row.missed) == ("confirmed", None, due, 0, False)
    assert [kind for kind, _ in events(session_factory, cb)] == ["flagged", "released"]
    assert message_count(session_factory) == 0


def test_a_queue_back_while_the_outage_lasts_releases_its_callbacks_not_yet_due(session_factory):
    outage = add_outage(session_factory, queues=["billing", "moving"], started=T0)
    cb = add_callback(session_factory, 1, due=T0 + timedelta(minutes=20), queue="moving")
    run(session_factory, T0)
    with unit_of_work(session_factory) as session:
        row = session.get(OutageRow, outage)
        assert row is not None
        row.queues = ["billing"]
    assert run(session_factory, T0 + timedelta(minutes=5)) == CallbackPass(released=1)
    assert callback(session_factory, cb).state == "scheduled"


def test_missed_callbacks_are_rescheduled_after_recovery_and_told_once(session_factory):
    outage = add_outage(session_factory, queues=["billing"], started=T0)
    ids = [add_callback(session_factory, n, due=T0 + timedelta(minutes=5 * n)) for n in range(1, 7)]
    vulnerable = add_callback(session_factory, 7, due=T0 + timedelta(minutes=50), vulnerable=True)
    run(session_factory, T0 + timedelta(minutes=30))
    end = T0 + timedelta(hours=1, minutes=10)
    end_outage(session_factory, outage, end)
    done = run(session_factory, end + timedelta(seconds=3), plan=ROOMY)
    assert done == CallbackPass(rescheduled=7, told=7)
    slot = datetime(2026, 11, 24, 11, 30, tzinfo=UTC)  # recovery, rounded up to the half hour
    for cb in [*ids, vulnerable]:
        row = callback(session_factory, cb)
        assert (row.state, row.missed, row.moves, row.outage_id) == ("rescheduled", True, 1, outage)
        assert row.due_at == slot and row.window_end == slot + timedelta(minutes=30)
        assert row.requested_due_at < end
        kind, data = events(session_factory, cb)[-1]
        assert kind == "rescheduled" and data["due_at"] == slot.isoformat() and data["moves"] == 1
    with unit_of_work(session_factory) as session:
        messages = list_messages(session, limit=100)
    assert sorted(m.key for m in messages) == sorted(f"callback:{i}:time:1" for i in [*ids, vulnerable])
    (first,) = [m for m in messages if m.key == f"callback:{ids[0]}:time:1"]
    # The reference plan's customers group has sms (no email): a text to the customer's phone.
    assert (first.channel, first.recipient, first.purpose) == ("sms", "+447700900001", "callback")
    assert "between 11:30 and 12:00 on Tuesday 24 November" in first.body
    assert first.body.startswith("Northwind Energy Customer Care:") and "sorry" in first.body
    # Again, as every worker's pass would: nothing.
    assert run(session_factory, end + timedelta(seconds=6), plan=ROOMY) == CallbackPass()
    assert message_count(session_factory) == 7


def one_desk(agents: int) -> Plan:
    """A centre with one billing desk and no forecast: every agent on shift can make callbacks."""
    return load_plan_text(
        "organisation: {name: Test centre, timezone: Europe/London}\n"
        "sites: [{id: hq, name: HQ, seats: 10}]\n"
        "queues: [{id: billing, name: Billing, aht_s: 600,"
        " service_level: {answer_within_s: 20, target: 0.8}}]\n"
        f"teams: [{{id: desk, site: hq, queues: [billing], agents: {agents},"
        ' shift: {start: "08:00", end: "20:00"}}]\n'
    )


def test_vulnerable_customers_get_the_first_slots_when_capacity_is_short(session_factory):
    small = one_desk(1)
    outage = add_outage(session_factory, queues=["billing"], started=T0)
    plain = [add_callback(session_factory, n, due=T0 + timedelta(minutes=n)) for n in range(1, 6)]
    vulnerable = add_callback(session_factory, 9, due=T0 + timedelta(minutes=40), vulnerable=True)
    end_outage(session_factory, outage, T0 + timedelta(hours=1))
    run(session_factory, T0 + timedelta(hours=1), plan=small)
    slots = {cb: callback(session_factory, cb).due_at for cb in [*plain, vulnerable]}
    assert slots[vulnerable] == min(slots.values())
    assert [slots[cb] for cb in plain] == sorted(slots[cb] for cb in plain)
    assert max(slots.values()) > min(slots.values())  # one agent, 600 s calls: three a half hour


def test_callbacks_no_capacity_can_take_are_left_for_a_person(session_factory):
    nobody = one_desk(0)
    outage = add_outage(session_factory, queues=["billing"], started=T0)
    cb = add_callback(session_factory, 1, due=T0 + timedelta(minutes=5))
    end_outage(session_factory, outage, T0 + timedelta(minutes=30))
    assert run(session_factory, T0 + timedelta(minutes=31), plan=nobody) == CallbackPass(
        flagged=1, unplaced=1
    )
    row = callback(session_factory, cb)
    assert (row.state, row.missed, row.moves) == ("unplaced", True, 0)
    kind, data = events(session_factory, cb)[-1]
    assert kind == "unplaced" and "within 14 days" in data["reason"]
    assert message_count(session_factory) == 0
    assert run(session_factory, T0 + timedelta(minutes=32), plan=nobody) == CallbackPass()


def test_a_merged_outage_hands_its_callbacks_to_the_outage_it_merged_into(session_factory):
    first = add_outage(session_factory, queues=["billing"], started=T0)
    cb = add_callback(session_factory, 1, due=T0 + timedelta(minutes=10))
    run(session_factory, T0)
    second = add_outage(session_factory, queues=["billing", "moving"], started=T0 + timedelta(minutes=2))
    end_outage(session_factory, first, T0 + timedelta(minutes=3), merged_into=second)
    assert run(session_factory, T0 + timedelta(minutes=4)) == CallbackPass()
    row = callback(session_factory, cb)
    assert (row.state, row.outage_id) == ("flagged", second)
    assert events(session_factory, cb)[-1] == ("outage_merged", {"from": first, "outage_id": second})
    end_outage(session_factory, second, T0 + timedelta(minutes=40))
    assert run(session_factory, T0 + timedelta(minutes=41)).rescheduled == 1
    row = callback(session_factory, cb)
    assert (row.state, row.outage_id, row.missed) == ("rescheduled", second, True)


def test_an_outage_that_ended_between_passes_still_reschedules_what_it_hit(session_factory):
    outage = add_outage(session_factory, queues=["billing"], started=T0)
    cb = add_callback(session_factory, 1, due=T0 + timedelta(minutes=2))
    end_outage(session_factory, outage, T0 + timedelta(minutes=3))
    done = run(session_factory, T0 + timedelta(minutes=4), plan=ROOMY)
    assert (done.flagged, done.rescheduled, done.told) == (1, 1, 1)
    assert callback(session_factory, cb).due_at == T0 + timedelta(minutes=30)


def test_customers_are_told_by_email_when_the_plan_says_so_and_they_have_an_address(
    session_factory, tmp_path
):
    text = roomy_text().replace(
        "channels: [status_page, ivr_message, sms]", "channels: [status_page, ivr_message, email, sms]"
    )
    plan = load_plan_text(text)
    outage = add_outage(session_factory, queues=["billing"], started=T0)
    with_email = add_callback(session_factory, 1, due=T0 + timedelta(minutes=5), email="ada@example.org")
    without = add_callback(session_factory, 2, due=T0 + timedelta(minutes=6))
    end_outage(session_factory, outage, T0 + timedelta(minutes=20))
    templates = Path(tmp_path) / "templates"
    templates.mkdir()
    (templates / "callback.moved.sms.j2").write_text(
        "{{ organisation.name }}: new time {{ callback.start }}.\n"
    )
    run(session_factory, T0 + timedelta(minutes=21), plan=plan, data_dir=tmp_path)
    with unit_of_work(session_factory) as session:
        by_key = {m.key: m for m in list_messages(session, limit=10)}
    email = by_key[f"callback:{with_email}:time:1"]
    assert (email.channel, email.recipient, email.recipient_name) == (
        "email",
        "ada@example.org",
        "Customer 1",
    )
    assert email.subject == "Northwind Energy Customer Care: a new time for your call back"
    assert "between 10:30 and 11:00 on Tuesday 24 November" in email.body
    sms = by_key[f"callback:{without}:time:1"]
    assert (sms.channel, sms.body) == (
        "sms",
        "Northwind Energy Customer Care: new time 10:30.",
    )  # the override


def test_a_move_by_hand_is_told_once_per_move(session_factory):
    cb = add_callback(session_factory, 1, due=T0 + timedelta(hours=3), moves=1)
    with unit_of_work(session_factory) as session:
        row = session.get(CallbackRow, cb)
        assert row is not None
        first = tell_new_time(session, plan=PLAN, callback=row, now=T0)
        again = tell_new_time(session, plan=PLAN, callback=row, now=T0 + timedelta(seconds=1))
    assert first is not None and again is not None and first.id == again.id
    assert first.key == f"callback:{cb}:time:1"
    assert (
        "at 13:00 on Tuesday 24 November" in first.body and "problem with our phone lines" not in first.body
    )
    assert message_count(session_factory) == 1


def feed(factory: sessionmaker[Session], outage_id: int, at: datetime, event: str, queues: list[str]) -> None:
    """What Detect writes to the change feed as the outage takes a new shape."""
    with unit_of_work(factory) as session:
        session.add(
            StateChangeRow(
                at=at,
                kind="outage",
                ref=str(outage_id),
                summary=event,
                data={"event": event, "queues": queues},
            )
        )
        row = session.get(OutageRow, outage_id)
        assert row is not None
        row.queues = queues


def test_a_queue_counts_only_while_the_outage_stops_it(session_factory):
    outage = add_outage(session_factory, queues=["billing"], started=T0 - timedelta(minutes=1))
    feed(session_factory, outage, T0, "opened", ["billing"])
    early_moving = add_callback(session_factory, 1, due=T0 + timedelta(minutes=30), queue="moving")
    late_moving = add_callback(session_factory, 2, due=T0 + timedelta(hours=1, minutes=5), queue="moving")
    early_billing = add_callback(session_factory, 3, due=T0 + timedelta(minutes=10))
    late_billing = add_callback(session_factory, 4, due=T0 + timedelta(hours=1, minutes=45))
    assert run(session_factory, T0 + timedelta(seconds=2)).flagged == 1  # early billing
    # Moving home is lost an hour in: its callback due before that was made as booked.
    feed(session_factory, outage, T0 + timedelta(hours=1), "changed", ["billing", "moving"])
    assert run(session_factory, T0 + timedelta(hours=1, minutes=20)).flagged == 2  # late moving, late billing
    # Billing comes back at 11:30: its callback due at 11:45, flagged ahead, goes back.
    feed(session_factory, outage, T0 + timedelta(hours=1, minutes=30), "changed", ["moving"])
    assert run(session_factory, T0 + timedelta(hours=1, minutes=31)) == CallbackPass(released=1)
    end = T0 + timedelta(hours=2)
    feed(session_factory, outage, end, "ended", ["moving"])
    end_outage(session_factory, outage, end)
    done = run(session_factory, end + timedelta(seconds=2))
    assert (done.flagged, done.rescheduled) == (0, 2)
    states = {
        cb: callback(session_factory, cb).state
        for cb in (early_moving, late_moving, early_billing, late_billing)
    }
    assert states == {
        early_moving: "scheduled",
        late_moving: "rescheduled",
        early_billing: "rescheduled",
        late_billing: "scheduled",
    }


def test_a_callback_two_outages_hit_counts_in_both(session_factory):
    """Missed in the first outage, rescheduled, missed again in the second: each outage's
    figures and compensation count it, and each missed time is the one that outage stopped."""
    first = add_outage(session_factory, queues=["billing"], started=T0)
    due = T0 + timedelta(minutes=20)
    cb = add_callback(session_factory, 1, due=due, vulnerable=True)
    released = add_callback(session_factory, 2, due=T0 + timedelta(minutes=25))
    run(session_factory, T0)
    end_outage(session_factory, first, T0 + timedelta(minutes=30))
    assert run(session_factory, T0 + timedelta(minutes=30, seconds=2)) == CallbackPass(rescheduled=2, told=2)
    moved = callback(session_factory, cb).due_at
    assert moved >= T0 + timedelta(minutes=30)
    # The second outage stops billing over the new time: flagged again, by this one.
    second = add_outage(session_factory, queues=["billing"], started=moved - timedelta(minutes=5))
    with unit_of_work(session_factory) as session:
        session.execute(  # the other customer's callback was completed before the second outage
            CallbackRow.__table__.update()
            .where(CallbackRow.id == released)
            .values(state="completed", completed_at=moved - timedelta(minutes=6))
        )
    assert run(session_factory, moved - timedelta(minutes=4)) == CallbackPass(flagged=1)
    assert callback(session_factory, cb).outage_id == second
    end_outage(session_factory, second, moved + timedelta(hours=3))
    assert run(session_factory, moved + timedelta(hours=3, seconds=2)) == CallbackPass(rescheduled=1, told=1)
    with unit_of_work(session_factory) as session:
        apply_rules(session, plan=PLAN, now=moved + timedelta(hours=3, seconds=3))
        one, two = (customer_summary(session, outage_id=o).as_dict() for o in (first, second))
        offers = {(o.outage_id, o.rule, o.customer_key): o.reason for o in list_offers(session, limit=100)}
    assert one["callbacks"]["flagged"] == 2 and one["callbacks"]["missed"] == 2
    assert one["callbacks"]["rescheduled"] == 2 and one["customers"] == {"affected": 2, "vulnerable": 1}
    assert two["callbacks"]["flagged"] == 1 and two["callbacks"]["missed"] == 1
    assert two["callbacks"]["rescheduled"] == 1 and two["customers"] == {"affected": 1, "vulnerable": 1}
    key = "+447700900001"
    # rule-2 (a missed callback) in both; rule-1 (billing down over two hours) only in the second.
    assert sorted((o, r) for o, r, k in offers if k == key) == [
        (first, "rule-2"),
        (second, "rule-1"),
        (second, "rule-2"),
    ]
    # London is on UTC in November: the times in the reasons read as they are.
    assert "10:20" in offers[(first, "rule-2", key)]
    assert f"{moved:%H:%M}" in offers[(second, "rule-2", key)]
