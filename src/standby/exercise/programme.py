"""The exercise programme: from the plan's `drills.every_months` and the log, when the next
exercise is due. Pure: the dates come in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from standby.plan.audit_reviews import add_months
from standby.plan.schema import Plan


@dataclass(frozen=True)
class Programme:
    """How often the plan is exercised, the last held, the next due and how late it is."""

    every_months: int
    last_held: date | None
    next_due: date | None
    """None when none was ever held: one is due now."""
    days_overdue: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "every_months": self.every_months,
            "last_held": self.last_held.isoformat() if self.last_held else None,
            "next_due": self.next_due.isoformat() if self.next_due else None,
            "days_overdue": self.days_overdue,
        }


def programme(plan: Plan, exercises_held: Iterable[date], *, today: date) -> Programme:
    """The programme as of `today`: the plan's drill history and the exercises finished both count."""
    every = plan.drills.every_months
    held = [d.date for d in plan.drills.history] + list(exercises_held)
    if not held:
        return Programme(every, None, None, 0)
    last = max(held)
    due = add_months(last, every)
    return Programme(every, last, due, max(0, (today - due).days))
