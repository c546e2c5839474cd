"""The plan's compensation rules applied to one ended outage and the customers it caught.

Pure: no database and no clock. A customer (known by `customer_key`, the phone number
in international form) is affected by an outage through a callback of the outage
(missed when its due time passed while the outage stopped its queue) or a call cut off
when it started.

A rule matches a customer when every condition it gives holds for one of the
customer's queues:

- `outage_minutes_over`: the outage lasted longer than that, and the queue was one the
  outage stopped at some point (its `queues` now or `ever`);
- `queues`: the queue is listed;
- `missed_callback: true`: the customer has a missed callback of this outage in that queue;
- `vulnerable: true`: the customer is vulnerable (flagged on any callback or call).

`missed_callback: false` and `vulnerable: false` are no condition at all, as the plan's
validation already treats `missed_callback: false`.

Rules add up: every matching rule gives its own offer, so a customer whose callback was
missed in a queue down for three hours may get one offer under a "down over two
hours" rule and another under a "missed callback" rule. Each rule gives a customer at
most one offer per outage, however many of their callbacks or calls it covers. Rules
are keyed by their `id`, or `rule-N` (N from 1, in plan order) when they have none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import NamedTuple

from standby.plan.schema import CompensationRule

# ISO 4217 currencies whose minor unit is not the hundredth; every other has two digits.
_MINOR_DIGITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip


def minor_digits(currency: str) -> int:
    """How many digits the currency's minor unit has (2 for pence and cents)."""
    return _MINOR_DIGITS.get(currency.upper(), 2)


def minor_units(amount: float, currency: str) -> int:
    """An amount of the plan (10.5 pounds) in the currency's minor unit (1050 pence), exactly."""
    # Through the shortest decimal text of the float, so 0.29 is 29 pence, not 28.999...
    exact = Decimal(repr(float(amount))).scaleb(minor_digits(currency))
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def rule_key(rule: CompensationRule, index: int) -> str:
    """The key offers carry for the plan's rule at `index` (from 0): its id, else `rule-N`."""
    return rule.id or f"rule-{index + 1}"


@dataclass(frozen=True)
class OutageFacts:
    """What the rules need to know of an ended outage."""

    id: int
    started_at: datetime
    ended_at: datetime
    stopped_queues: frozenset[str]

    @property
    def minutes(self) -> float:
        """How long it lasted, in minutes."""
        return (self.ended_at - self.started_at).total_seconds() / 60


class Touch(NamedTuple):
    """One way the outage reached a customer: a callback of the outage, or a call cut off."""

    customer_key: str
    customer: str
    phone: str
    email: str | None
    queue: str
    vulnerable: bool
    # The due time that passed while the queue was stopped, for a missed callback.
    missed_due_at: datetime | None = None


class AffectedCustomer(NamedTuple):
    """A customer the outage caught, over all their callbacks and calls."""

    customer_key: str
    customer: str
    phone: str
    email: str | None
    vulnerable: bool
    queues: frozenset[str]
    # The earliest missed due time in each queue where a callback was missed.
    missed: Mapping[str, datetime] = MappingProxyType({})


class NewOffer(NamedTuple):
    """An offer one rule gives one customer for one outage."""

    outage_id: int
    rule: str
    customer_key: str
    customer: str
    phone: str
    email: str | None
    queue: str
    vulnerable: bool
    reason: str
    kind: str
    amount_minor: int
    currency: str


def affected_customers(touches: Iterable[Touch]) -> list[AffectedCustomer]:
    """The customers behind `touches`, one each, in order of `customer_key`."""
    grouped: dict[str, list[Touch]] = {}
    for touch in touches:
        found = grouped.get(touch.customer_key)
        if found is None:
            grouped[touch.customer_key] = [touch]
        else:
            found.append(touch)
    customers = []
    for key in sorted(grouped):
        found = grouped[key]
        first = found[0]
        if len(found) == 1:  # most customers: one callback or one call
            missed = {first.queue: first.missed_due_at} if first.missed_due_at is not None else {}
            customers.append(
                AffectedCustomer(
                    key, first.customer, first.phone, first.email, first.vulnerable,
                    frozenset((first.queue,)), missed,
                )
            )  # fmt: skip
            continue
        missed = {}
        for touch in found:
            if touch.missed_due_at is not None:
                earlier = missed.get(touch.queue)
                missed[touch.queue] = min(touch.missed_due_at, earlier or touch.missed_due_at)
        customers.append(
            AffectedCustomer(
                customer_key=key,
                customer=first.customer,
                phone=first.phone,
                email=next((t.email for t in found if t.email), None),
                vulnerable=any(t.vulnerable for t in found),
                queues=frozenset(t.queue for t in found),
                missed=missed,
            )
        )
    return customers


@dataclass(frozen=True)
class _Rule:
    """A rule made ready for many customers: its conditions and offer, read once."""

    key: str
    queues: frozenset[str] | None
    stopped_only: bool  # outage_minutes_over given: only queues the outage stopped
    missed_callback: bool
    vulnerable: bool
    down_reason: str | None
    kind: str
    amount_minor: int


def offers_for(
    outage: OutageFacts,
    customers: Iterable[AffectedCustomer],
    rules: Sequence[CompensationRule],
    *,
    currency: str,
    zone: tzinfo,
) -> list[NewOffer]:
    """Every offer the rules give the outage's customers: per rule, per customer, at most one."""
    ready = []
    for index, rule in enumerate(rules):
        when, over = rule.when, rule.when.outage_minutes_over
        if over is not None and not outage.minutes > over:
            continue  # not long enough: nobody is covered
        down = None if over is None else f"down {duration_text(outage.minutes)} (over {over:g} min)"
        ready.append(
            _Rule(
                key=rule_key(rule, index),
                queues=None if when.queues is None else frozenset(when.queues),
                stopped_only=over is not None,
                missed_callback=bool(when.missed_callback),
                vulnerable=bool(when.vulnerable),
                down_reason=down,
                kind=rule.offer.kind,
                amount_minor=minor_units(rule.offer.amount, currency),
            )
        )
    times: dict[datetime, str] = {}  # many callbacks share a due time: say each once
    offers = []
    for customer in customers:
        for one in ready:
            found = _match(one, outage, customer, zone, times)
            if found is not None:
                queue, reason = found
                offers.append(
                    NewOffer(
                        outage.id, one.key, customer.customer_key, customer.customer, customer.phone,
                        customer.email, queue, customer.vulnerable, reason, one.kind, one.amount_minor,
                        currency,
                    )
                )  # fmt: skip
    return offers


def _match(
    rule: _Rule, outage: OutageFacts, customer: AffectedCustomer, zone: tzinfo, times: dict[datetime, str]
) -> tuple[str, str] | None:
    """The queue through which the rule covers the customer and why, or None."""
    if rule.vulnerable and not customer.vulnerable:
        return None
    queues = customer.queues if len(customer.queues) == 1 else sorted(customer.queues)
    for queue in queues:
        if rule.queues is not None and queue not in rule.queues:
            continue
        if rule.stopped_only and queue not in outage.stopped_queues:
            continue
        missed_at = customer.missed.get(queue)
        if rule.missed_callback and missed_at is None:
            continue
        reasons = []
        if rule.missed_callback and missed_at is not None:
            said = times.get(missed_at)
            if said is None:
                said = times[missed_at] = _local_time(missed_at, outage.started_at, zone)
            reasons.append(f"callback due {said} missed")
        if rule.down_reason is not None:
            reasons.append(f"{queue} {rule.down_reason}")
        if rule.vulnerable:
            reasons.append("vulnerable customer")
        return queue, "; ".join(reasons)
    return None


def duration_text(minutes: float) -> str:
    """Whole minutes as people say them: '45 min', '3 h', '3 h 10 min'."""
    hours, rest = divmod(int(minutes), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" if not rest else f"{hours} h {rest} min"


def _local_time(at: datetime, outage_start: datetime, zone: tzinfo) -> str:
    """HH:MM in the centre's time zone, with the day when it is not the outage's first day."""
    local = at.astimezone(zone)
    if local.date() == outage_start.astimezone(zone).date():
        return local.strftime("%H:%M")
    return f"{local.day} {local.strftime('%b %H:%M')}"


OFFER_MOVES: Mapping[str, tuple[str, ...]] = {
    "offered": ("accepted", "declined", "paid"),
    "accepted": ("paid",),
}
"""Where an offer may go from each state: the customer answers, then it is paid. Declined
and paid offers are settled."""


def offer_move_problem(offer_id: int, current: str, wanted: str) -> str | None:
    """Why an offer in state `current` cannot become `wanted`, or None when it can (or already is)."""
    if current == wanted or wanted in OFFER_MOVES.get(current, ()):
        return None
    if current in ("declined", "paid"):
        return f"offer {offer_id} is {current} already: a {current} offer is settled and cannot be {wanted}"
    allowed = " or ".join(OFFER_MOVES.get(current, ()))
    return f"offer {offer_id} is {current}: it can now only be {allowed}, not {wanted}"


@dataclass(frozen=True)
class Amount:
    """How many offers, and what they come to in minor units."""

    count: int = 0
    amount_minor: int = 0


@dataclass(frozen=True)
class Totals:
    """Offers in one currency: all of them (`total`), and by state."""

    currency: str
    total: Amount
    by_state: Mapping[str, Amount]

    def as_dict(self) -> dict[str, object]:
        """As JSON: `currency`, `total` and each state, each `{count, amount_minor}`."""
        found: dict[str, object] = {"currency": self.currency, "total": _amount(self.total)}
        found.update({state: _amount(amount) for state, amount in self.by_state.items()})
        return found


def _amount(amount: Amount) -> dict[str, int]:
    return {"count": amount.count, "amount_minor": amount.amount_minor}


_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def money_text(amount_minor: int, currency: str) -> str:
    """An amount for people: '£2,400.00', 'JPY 1,000'."""
    digits = minor_digits(currency)
    value = Decimal(amount_minor).scaleb(-digits)
    symbol = _SYMBOLS.get(currency.upper(), f"{currency.upper()} ")
    return f"{symbol}{value:,.{digits}f}"
