"""The plan's compensation rules applied to an outage's customers (pure core)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from standby.customers.compensation import (
    AffectedCustomer,
    OutageFacts,
    Touch,
    affected_customers,
    duration_text,
    minor_units,
    offer_move_problem,
    offers_for,
    rule_key,
)
from standby.plan.schema import CompensationRule

LONDON = ZoneInfo("Europe/London")
START = datetime(2026, 6, 15, 11, 0, tzinfo=UTC)  # 12:00 in London
OUTAGE = OutageFacts(
    id=7,
    started_at=START,
    ended_at=START + timedelta(hours=3, minutes=10),
    stopped_queues=frozenset({"billing"}),
)


def rule(
    when: dict[str, Any], amount: float = 10, kind: str = "credit", id: str | None = None
) -> CompensationRule:
    return CompensationRule.model_validate(
        {"id": id, "when": when, "offer": {"kind": kind, "amount": amount}}
    )


def customer(
    key: str = "+447700900001",
    queues: tuple[str, ...] = ("billing",),
    vulnerable: bool = False,
    missed: dict[str, datetime] | None = None,
) -> AffectedCustomer:
    return AffectedCustomer(
        customer_key=key,
        customer="Ada Lovelace",
        phone=key,
        email="ada@example.com",
        vulnerable=vulnerable,
        queues=frozenset(queues),
        missed=missed or {},
    )


def offers(
    rules: list[CompensationRule], *customers: AffectedCustomer, outage: OutageFacts = OUTAGE
) -> list[Any]:
    return offers_for(outage, customers, rules, currency="GBP", zone=LONDON)


def test_a_queue_down_longer_than_the_rule_gives_an_offer_with_the_length_as_reason() -> None:
    [offer] = offers([rule({"outage_minutes_over": 120})], customer())
    assert (offer.rule, offer.queue, offer.kind, offer.amount_minor, offer.currency) == (
        "rule-1",
        "billing",
        "credit",
        1000,
        "GBP",
    )
    assert offer.reason == "billing down 3 h 10 min (over 120 min)"
    assert (offer.outage_id, offer.customer_key, offer.email) == (7, "+447700900001", "ada@example.com")


def test_not_longer_than_the_rule_or_a_queue_the_outage_did_not_stop_gives_nothing() -> None:
    assert offers([rule({"outage_minutes_over": 190})], customer()) == []  # exactly 190: not over
    assert offers([rule({"outage_minutes_over": 120})], customer(queues=("moving",))) == []
    assert len(offers([rule({"outage_minutes_over": 189.5})], customer())) == 1


def test_queues_limit_a_rule_to_the_listed_queues() -> None:
    both = OutageFacts(7, START, OUTAGE.ended_at, frozenset({"billing", "moving"}))
    listed = rule({"outage_minutes_over": 60, "queues": ["moving"]})
    assert offers([listed], customer(), outage=both) == []
    [offer] = offers([listed], customer(queues=("billing", "moving")), outage=both)
    assert offer.queue == "moving" and offer.reason.startswith("moving down")


def test_a_missed_callback_gives_an_offer_naming_its_local_due_time() -> None:
    due = START + timedelta(hours=2)  # 14:00 in London
    [offer] = offers([rule({"missed_callback": True}, amount=20)], customer(missed={"billing": due}))
    assert offer.reason == "callback due 14:00 missed" and offer.amount_minor == 2000
    assert offers([rule({"missed_callback": True})], customer()) == []


def test_a_missed_callback_on_another_day_names_the_day() -> None:
    due = datetime(2026, 6, 16, 8, 0, tzinfo=UTC)
    [offer] = offers([rule({"missed_callback": True})], customer(missed={"billing": due}))
    assert offer.reason == "callback due 16 Jun 09:00 missed"


def test_missed_callback_with_queues_counts_only_callbacks_in_those_queues() -> None:
    due = START + timedelta(minutes=30)
    who = customer(queues=("billing", "moving"), missed={"moving": due})
    assert offers([rule({"missed_callback": True, "queues": ["billing"]})], who) == []
    [offer] = offers([rule({"missed_callback": True, "queues": ["moving"]})], who)
    assert offer.queue == "moving"


def test_vulnerable_limits_a_rule_to_vulnerable_customers_and_false_is_no_condition() -> None:
    due = START + timedelta(minutes=30)
    only = rule({"missed_callback": True, "vulnerable": True}, kind="gesture", amount=15)
    assert offers([only], customer(missed={"billing": due})) == []
    [offer] = offers([only], customer(vulnerable=True, missed={"billing": due}))
    assert offer.reason == "callback due 12:30 missed; vulnerable customer" and offer.kind == "gesture"
    anyone = rule({"missed_callback": True, "vulnerable": False})
    assert len(offers([anyone], customer(missed={"billing": due}))) == 1


def test_all_conditions_must_hold_in_one_queue() -> None:
    due = START + timedelta(minutes=30)
    both = OutageFacts(7, START, OUTAGE.ended_at, frozenset({"billing", "moving"}))
    strict = rule(
        {"outage_minutes_over": 120, "missed_callback": True, "queues": ["billing"]}, id="long-miss"
    )
    # Missed in moving, but the rule covers billing only.
    assert offers([strict], customer(queues=("billing", "moving"), missed={"moving": due}), outage=both) == []
    [offer] = offers([strict], customer(missed={"billing": due}), outage=both)
    assert offer.rule == "long-miss"
    assert offer.reason == "callback due 12:30 missed; billing down 3 h 10 min (over 120 min)"


def test_rules_add_up_one_offer_per_rule_per_customer() -> None:
    due = START + timedelta(minutes=30)
    rules = [rule({"outage_minutes_over": 120}, amount=10), rule({"missed_callback": True}, amount=20)]
    ada = customer(missed={"billing": due})
    bob = customer(key="+447700900002")
    made = offers(rules, ada, bob)
    assert sorted((o.customer_key, o.rule, o.amount_minor) for o in made) == [
        ("+447700900001", "rule-1", 1000),
        ("+447700900001", "rule-2", 2000),
        ("+447700900002", "rule-1", 1000),
    ]


def test_customers_are_one_each_over_their_callbacks_and_calls() -> None:
    key = "+447700900001"
    early, late = START + timedelta(minutes=10), START + timedelta(minutes=50)
    touches = [
        Touch(key, "Ada", key, None, "billing", False, late),
        Touch(key, "Ada", key, "ada@example.com", "billing", True, early),
        Touch(key, "Ada", key, None, "moving", False),
        Touch("+447700900002", "Bob", "+447700900002", None, "billing", False),
    ]
    ada, bob = affected_customers(touches)
    assert ada.email == "ada@example.com" and ada.vulnerable and ada.queues == {"billing", "moving"}
    assert ada.missed == {"billing": early}
    assert bob.customer == "Bob" and not bob.vulnerable and bob.missed == {}


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [(10, "GBP", 1000), (0.29, "GBP", 29), (12.345, "EUR", 1235), (1000, "JPY", 1000), (1.5, "KWD", 1500)],
)
def test_money_is_kept_in_minor_units_exactly(amount: float, currency: str, minor: int) -> None:
    assert minor_units(amount, currency) == minor


def test_rule_keys_and_durations() -> None:
    assert rule_key(rule({"missed_callback": True}, id="missed"), 0) == "missed"
    assert rule_key(rule({"missed_callback": True}), 2) == "rule-3"
    assert [duration_text(m) for m in (45.9, 60, 190.2)] == ["45 min", "1 h", "3 h 10 min"]


def test_offer_moves() -> None:
    assert offer_move_problem(1, "offered", "accepted") is None
    assert offer_move_problem(1, "accepted", "paid") is None
    assert offer_move_problem(1, "paid", "paid") is None
    assert (
        offer_move_problem(5, "accepted", "declined")
        == "offer 5 is accepted: it can now only be paid, not declined"
    )
    assert offer_move_problem(5, "paid", "declined") == (
        "offer 5 is paid already: a paid offer is settled and cannot be declined"
    )
    assert offer_move_problem(5, "declined", "accepted") is not None


conditions = st.fixed_dictionaries(
    {},
    optional={
        "outage_minutes_over": st.sampled_from([0, 60, 190, 200]),
        "queues": st.lists(st.sampled_from(["billing", "moving", "emergency"]), unique=True),
        "missed_callback": st.booleans(),
        "vulnerable": st.booleans(),
    },
).filter(lambda c: c.get("outage_minutes_over") is not None or c.get("missed_callback"))
people = st.lists(
    st.builds(
        customer,
        key=st.sampled_from([f"+4477009000{i:02d}" for i in range(10)]),
        queues=st.lists(st.sampled_from(["billing", "moving", "emergency"]), min_size=1, unique=True).map(
            tuple
        ),
        vulnerable=st.booleans(),
        missed=st.dictionaries(st.sampled_from(["billing", "moving"]), st.just(START + timedelta(minutes=5))),
    ),
    unique_by=lambda c: c.customer_key,
    max_size=6,
)


@given(st.lists(conditions, min_size=1, max_size=4), people)
def test_rules_add_up_as_if_each_ran_alone(whens: list[dict[str, Any]], who: list[AffectedCustomer]) -> None:
    rules = [rule(w, amount=i + 1) for i, w in enumerate(whens)]
    together = offers(rules, *who)
    alone = []
    for index, one in enumerate(rules):
        for offer in offers([one], *who):
            alone.append((rule_key(one, index), offer.customer_key, offer.amount_minor))
    assert sorted((o.rule, o.customer_key, o.amount_minor) for o in together) == sorted(alone)
    assert len({(o.rule, o.customer_key) for o in together}) == len(together)
    for offer in together:
        assert offer.reason and offer.currency == "GBP"
