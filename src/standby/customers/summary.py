"""What the commander sees of an outage's customers: the figures, and one line to read them by.

Pure: the service counts, this shapes. Counts only, never a name or a number, so every
role that may read outages may read these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from standby.customers.compensation import Totals, money_text

CALLBACK_FIGURES = ("flagged", "missed", "rescheduled", "unplaced", "confirmed", "completed", "cancelled")
"""flagged: every callback the outage stopped (whatever happened next). missed: its due time
passed while the queue was stopped. rescheduled: given a new time (once or more).
unplaced: no capacity found, a person must move it. confirmed, completed, cancelled: the
callbacks in those states now."""
CALL_FIGURES = ("cut_off", "followed_up", "open")
OUTCOME_FIGURES = ("logged", "follow_up")


@dataclass(frozen=True)
class CustomerFigures:
    """An outage's customers in numbers."""

    outage_id: int
    customers_affected: int = 0
    vulnerable_affected: int = 0
    callbacks: Mapping[str, int] = field(default_factory=dict)
    calls: Mapping[str, int] = field(default_factory=dict)
    outcomes: Mapping[str, int] = field(default_factory=dict)
    compensation: Sequence[Totals] = ()

    def as_dict(self) -> dict[str, Any]:
        """As JSON; the same shape is the data of the timeline entry."""
        return {
            "outage_id": self.outage_id,
            "customers": {"affected": self.customers_affected, "vulnerable": self.vulnerable_affected},
            "callbacks": {name: self.callbacks.get(name, 0) for name in CALLBACK_FIGURES},
            "calls": {name: self.calls.get(name, 0) for name in CALL_FIGURES},
            "outcomes": {name: self.outcomes.get(name, 0) for name in OUTCOME_FIGURES},
            "compensation": [t.as_dict() for t in self.compensation],
        }

    @property
    def empty(self) -> bool:
        """Whether the outage has touched no customer and nobody has logged anything for it."""
        return not (self.customers_affected or self.outcomes.get("logged") or self.compensation)


def headline(figures: CustomerFigures) -> str:
    """One line a commander reads in two seconds; the parts with nothing to say are left out."""
    parts = []
    customers = f"{figures.customers_affected} customer{_s(figures.customers_affected)} affected"
    if figures.vulnerable_affected:
        customers += f" ({figures.vulnerable_affected} vulnerable)"
    parts.append(customers)
    callbacks = figures.callbacks
    if callbacks.get("flagged"):
        said = [f"{callbacks['flagged']} callback{_s(callbacks['flagged'])}"]
        said += [
            f"{callbacks[name]} {word}"
            for name, word in (
                ("missed", "missed"),
                ("rescheduled", "rescheduled"),
                ("unplaced", "need a person"),
                ("completed", "completed"),
            )
            if callbacks.get(name)
        ]
        parts.append(", ".join(said))
    calls = figures.calls
    if calls.get("cut_off"):
        cut_off = calls["cut_off"]
        parts.append(f"{cut_off} call{_s(cut_off)} cut off, {calls.get('followed_up', 0)} followed up")
    logged = figures.outcomes.get("logged", 0)
    if logged:
        parts.append(f"{logged} outcome{_s(logged)} logged")
    for totals in figures.compensation:
        paid = totals.by_state.get("paid")
        money = f"{money_text(totals.total.amount_minor, totals.currency)} offered"
        if paid is not None and paid.count:
            money += f", {money_text(paid.amount_minor, totals.currency)} paid"
        parts.append(money)
    return "; ".join(parts)


def _s(count: int) -> str:
    return "" if count == 1 else "s"
