"""Rescheduling callbacks into the capacity after recovery: vulnerable customers first.

Pure. Callbacks are taken in order of need: vulnerable customers first, then those
waiting longest (the earliest due time they missed), then by id so that the order is
always the same. Each goes into the earliest slot of its queue in which one team
skilled for the queue still has the queue's handling time to spare (`Capacity.take`).

Every callback given comes back exactly once: placed in a slot, or unplaced with the
reason (no slot within the horizon, or a queue the plan no longer has) for a person to
move. Nothing is booked beyond capacity.

Linear: capacity only ever goes down, so a slot that cannot take one callback of a
queue cannot take any later one either, and each queue keeps a pointer to its earliest
slot that still might. 100,000 callbacks take well under a second.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import NamedTuple

from standby.customers.capacity import Capacity


class ToPlace(NamedTuple):
    """A callback to find a new time for."""

    id: int
    queue: str
    vulnerable: bool
    due_at: datetime


class Placed(NamedTuple):
    """A callback's new slot, and the team whose spare time it takes."""

    id: int
    queue: str
    start: datetime
    end: datetime
    team: str


class Unplaced(NamedTuple):
    """A callback no slot could take, and why."""

    id: int
    queue: str
    reason: str


@dataclass(frozen=True)
class Placement:
    """Every callback given: placed (earliest slot first) or unplaced."""

    placed: list[Placed]
    unplaced: list[Unplaced]


def need_order(callback: ToPlace) -> tuple[bool, datetime, int]:
    """The order callbacks are placed in: vulnerable first, then the longest waiting, then by id."""
    return (not callback.vulnerable, callback.due_at, callback.id)


_WAITING = itemgetter(3, 0)  # due_at, id
_VULNERABLE = itemgetter(2)


def place(callbacks: Iterable[ToPlace], capacity: Capacity) -> Placement:
    """Place each callback in the earliest slot that can serve it; `capacity` is left as it was."""
    left = capacity.copy()
    horizon_days = left.units * left.unit_s // 86400
    pointer: dict[str, int] = {}
    times: dict[tuple[str, int], tuple[datetime, datetime]] = {}
    placed: list[Placed] = []
    unplaced: list[Unplaced] = []
    # The order of `need_order`, by two sorts on plain fields (a stable sort keeps the
    # longest waiting first within each group): a third of the time of a key function.
    ordered = sorted(callbacks, key=_WAITING)
    ordered.sort(key=_VULNERABLE, reverse=True)
    take, queues, teams, add = left.take, left.queues, left.teams, placed.append  # the loop's hot names
    for callback in ordered:
        queue = callback.queue
        slots = queues.get(queue)
        if slots is None:
            unplaced.append(Unplaced(callback.id, queue, f"the plan has no queue {queue!r}"))
            continue
        slot = pointer.get(queue, 0)
        team = None
        while slot < len(slots.bounds) - 1:  # slots.count, without a property call per step
            team = take(queue, slot)
            if team is not None:
                break
            slot += 1
        pointer[queue] = slot
        if team is None:
            reason = f"no agent time for {queue} callbacks within {horizon_days} days of recovery"
            unplaced.append(Unplaced(callback.id, queue, reason))
            continue
        when = times.get((queue, slot))
        if when is None:
            when = times[(queue, slot)] = left.slot_times(queue, slot)
        add(Placed(callback.id, queue, when[0], when[1], teams[team]))
    return Placement(placed, unplaced)
