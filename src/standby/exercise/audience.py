"""Who an exercise may reach: the one rule every message of an exercise passes through.

An exercise runs the real procedure (pages, strategies, relocation texts), so the people
inside the centre hear of it, every message marked EXERCISE. Outside audiences (customers,
the regulator, vendors) and anything published (the status page, the IVR) are never told,
unless the exercise names their group in `tell`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from standby.plan.people import Stakeholder

MARK = "EXERCISE"
OUTSIDE_KINDS = frozenset({"customers", "regulator", "vendors"})
PUBLISHED = frozenset({"status_page", "ivr_message"})


@dataclass(frozen=True)
class ExerciseAudience:
    """The exercise an incident belongs to, and the outside groups it may tell all the same."""

    exercise_id: int
    tell: frozenset[str] = frozenset()

    def spares(self, group: Stakeholder) -> bool:
        """Whether the group hears nothing of this exercise: outside or public, and not named."""
        if group.id in self.tell:
            return False
        return group.kind in OUTSIDE_KINDS or any(c in PUBLISHED for c in group.channels)

    def spared(self, groups: Iterable[Stakeholder]) -> tuple[str, ...]:
        """The ids of the groups spared, in plan order."""
        return tuple(g.id for g in groups if self.spares(g))


def marked(text: str) -> str:
    """A message's subject or text, marked as an exercise (once)."""
    return text if text.startswith(MARK) else f"{MARK}: {text}"
