"""Compensation on SQLite and PostgreSQL: offers made once by the plan's rules, moved on by
hand, and totalled per outage."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from _customer_rows import END, START, add_call, add_callback, add_outage, phone
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from standby.customers.compensation import Amount
from standby.customers.compensation_service import (
    Memo,
    apply_now,
    apply_rules,
    get_offer,
    list_offers,
    move_offer,
    totals,
)
from standby.errors import Conflict, InvalidInput, NotFound
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.schema import Plan
from standby.store.engine import unit_of_work
from standby.store.tables.customers import CompensationOfferRow

NOW = END + timedelta(minutes=5)


@pytest.fixture(scope="module")
def plan() -> Plan:
    # rule-1: billing or moving down over 120 min, a 10 pound credit; rule-2: a missed
    # callback, a 20 pound credit.
    return load_plan_text(reference_plan_text())


@pytest.fixture
def uow(session_factory: sessionmaker[Session]) -> Any:
    return lambda: unit_of_work(session_factory)


def seed(uow: Any) -> int:
    """Billing down 3 h 10 min: Ada missed her callback, Bob's was flagged in time, Dan was
    cut off in billing, Cara cut off in emergency (not stopped), Ada cut off too."""
    with uow() as session:
        outage = add_outage(session)
        add_callback(session, outage, 1, missed=True, vulnerable=True, state="rescheduled")
        add_callback(session, outage, 2, due_at=START + timedelta(hours=5))
        add_call(session, outage, 4)
        add_call(session, outage, 3, queue="emergency")
        add_call(session, outage, 1)
        add_callback(session, None, 9, missed=True)  # not this outage's
    return outage


def offers_by_customer(uow: Any) -> list[tuple[str, str, int, str]]:
    with uow() as session:
        found = list_offers(session, limit=1000)
    return sorted((o.customer_key, o.rule, o.amount_minor, o.reason) for o in found)


def test_each_affected_customer_gets_one_offer_per_matching_rule_once(uow: Any, plan: Plan) -> None:
    outage = seed(uow)
    memo = Memo()
    with uow() as session:
        assert apply_rules(session, plan=plan, now=NOW, memo=memo) == 4
    assert offers_by_customer(uow) == [
        (phone(1), "rule-1", 1000, "billing down 3 h 10 min (over 120 min)"),
        (phone(1), "rule-2", 2000, "callback due 12:30 missed"),
        (phone(2), "rule-1", 1000, "billing down 3 h 10 min (over 120 min)"),
        (phone(4), "rule-1", 1000, "billing down 3 h 10 min (over 120 min)"),
    ]
    with uow() as session:
        [ada] = list_offers(session, customer_key=phone(1), state="offered", outage_id=outage, limit=1)
        assert (ada.customer, ada.email, ada.vulnerable, ada.currency, ada.kind) == (
            "Customer 1",
            "c1@example.com",
            True,
            "GBP",
            "credit",
        )
        assert ada.state == "offered" and ada.created_at == NOW and ada.updated_by is None
    # Again: skipped by the memo, then (another worker, no memo) refused by the unique key.
    with uow() as session:
        assert apply_rules(session, plan=plan, now=NOW + timedelta(seconds=5), memo=memo) == 0
        assert apply_rules(session, plan=plan, now=NOW + timedelta(seconds=10), memo=Memo()) == 0
        assert apply_now(session, outage_id=outage, plan=plan, now=NOW) == 0
        assert session.scalar(select(func.count()).select_from(CompensationOfferRow)) == 4


def test_a_customer_linked_later_is_picked_up_on_the_next_pass(uow: Any, plan: Plan) -> None:
    outage = seed(uow)
    memo = Memo()
    with uow() as session:
        assert apply_rules(session, plan=plan, now=NOW, memo=memo) == 4
    with uow() as session:
        add_callback(session, outage, 5, missed=True, due_at=START + timedelta(hours=1))
    with uow() as session:
        assert apply_rules(session, plan=plan, now=NOW + timedelta(seconds=5), memo=memo) == 2
    assert [r for r in offers_by_customer(uow) if r[0] == phone(5)] == [
        (phone(5), "rule-1", 1000, "billing down 3 h 10 min (over 120 min)"),
        (phone(5), "rule-2", 2000, "callback due 13:00 missed"),
    ]


def test_open_old_and_merged_outages(uow: Any, plan: Plan) -> None:
    with uow() as session:
        still_open = add_outage(session, ended_at=None)
        add_callback(session, still_open, 1, missed=True)
        old = add_outage(session, started_at=START - timedelta(days=10), ended_at=START - timedelta(days=9))
        add_callback(session, old, 2, missed=True, due_at=START - timedelta(days=10) + timedelta(minutes=5))
        survivor = add_outage(session, queues=("billing", "moving"))
        merged = add_outage(
            session, started_at=START - timedelta(hours=1), ended_at=START, merged_into=survivor
        )
        add_call(session, merged, 3, queue="moving")
        add_call(session, survivor, 3)
    with uow() as session:
        # Only the survivor, with the merged outage's customer: 4 h 10 min from the earlier start.
        assert apply_rules(session, plan=plan, now=NOW, memo=Memo()) == 1
        [offer] = list_offers(session)
        assert (offer.outage_id, offer.customer_key, offer.queue) == (survivor, phone(3), "billing")
        assert offer.reason == "billing down 4 h 10 min (over 120 min)"
    with uow() as session:
        assert apply_now(session, outage_id=old, plan=plan, now=NOW) == 2
        reasons = sorted(o.reason for o in list_offers(session, outage_id=old))
        assert reasons == ["billing down 24 h (over 120 min)", "callback due 12:05 missed"]
    with uow() as session, pytest.raises(Conflict, match="has not ended"):
        apply_now(session, outage_id=still_open, plan=plan, now=NOW)
    with uow() as session, pytest.raises(Conflict, match=f"merged into outage {survivor}"):
        apply_now(session, outage_id=merged, plan=plan, now=NOW)
    with uow() as session, pytest.raises(NotFound, match="no outage 999"):
        apply_now(session, outage_id=999, plan=plan, now=NOW)


def test_many_customers_in_one_pass(uow: Any, plan: Plan) -> None:
    with uow() as session:
        outage = add_outage(session)
        for n in range(1, 1501):
            add_callback(session, outage, n, missed=n % 3 == 0)
    with uow() as session:
        assert apply_rules(session, plan=plan, now=NOW, memo=Memo()) == 1500 + 500
    with uow() as session:
        assert totals(session, outage_id=outage)[0].by_state["offered"] == Amount(
            2000, 1500 * 1000 + 500 * 2000
        )


def test_offers_move_on_with_who_and_when_and_are_totalled(uow: Any, plan: Plan) -> None:
    outage = seed(uow)
    with uow() as session:
        apply_rules(session, plan=plan, now=NOW, memo=Memo())
        ids = {(o.customer_key, o.rule): o.id for o in list_offers(session)}
    later = NOW + timedelta(days=1)
    with uow() as session:
        accepted = move_offer(
            session, offer_id=ids[phone(1), "rule-2"], state="accepted", by="user:mo", now=later
        )
        assert (accepted.state, accepted.updated_by, accepted.updated_at) == ("accepted", "user:mo", later)
        move_offer(session, offer_id=ids[phone(1), "rule-2"], state="paid", by="user:mo", now=later)
        move_offer(session, offer_id=ids[phone(2), "rule-1"], state="declined", by="user:mo", now=later)
        move_offer(session, offer_id=ids[phone(4), "rule-1"], state="paid", by="user:mo", now=later)
    with uow() as session:
        again = move_offer(session, offer_id=ids[phone(4), "rule-1"], state="paid", by="user:jo", now=NOW)
        assert (again.state, again.updated_by) == ("paid", "user:mo")  # a retry changes nothing
        assert get_offer(session, ids[phone(2), "rule-1"]).state == "declined"
    for offer_id, state, message in [
        (ids[phone(2), "rule-1"], "paid", "is declined already"),
        (ids[phone(4), "rule-1"], "accepted", "is paid already"),
    ]:
        with uow() as session, pytest.raises(Conflict, match=message):
            move_offer(session, offer_id=offer_id, state=state, by="user:mo", now=later)
    with uow() as session, pytest.raises(NotFound):
        move_offer(session, offer_id=999, state="paid", by="user:mo", now=later)
    with uow() as session, pytest.raises(InvalidInput):
        move_offer(session, offer_id=ids[phone(1), "rule-1"], state="offered", by="user:mo", now=later)
    with uow() as session:
        [gbp] = totals(session, outage_id=outage)
        assert gbp.currency == "GBP" and gbp.total == Amount(4, 5000)
        assert gbp.by_state == {
            "offered": Amount(1, 1000),
            "accepted": Amount(0, 0),
            "declined": Amount(1, 1000),
            "paid": Amount(2, 3000),
        }
        assert totals(session, outage_id=outage + 100) == []
        assert [o.state for o in list_offers(session, state="paid")] == ["paid", "paid"]
        with pytest.raises(InvalidInput, match="unknown offer state"):
            list_offers(session, state="lost")
        page = list_offers(session, limit=2)
        assert [o.id for o in list_offers(session, before_id=page[-1].id)] == sorted(ids.values())[:2][::-1]


def test_a_pass_rolled_back_is_not_remembered(uow: Any, plan: Plan) -> None:
    seed(uow)
    memo = Memo()
    with pytest.raises(RuntimeError), uow() as session:
        assert apply_rules(session, plan=plan, now=NOW, memo=memo) == 4
        raise RuntimeError("a later step of the response pass failed")
    with uow() as session:
        assert apply_rules(session, plan=plan, now=NOW, memo=memo) == 4
    with uow() as session:
        assert apply_rules(session, plan=plan, now=NOW, memo=memo) == 0
