"""What both general engines keep of a simulated day besides their agents: queues, callbacks, events.

`impact.engine` (the event list) and `impact.free_times` (the groups' free times) route
calls by the same rules and must give the same record; the state they share, how a caller
calls again and the events they start the day with live here, once.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from heapq import heapify, heappush

from standby.impact.day import DayModel
from standby.impact.draws import MAX_ATTEMPTS, Draws
from standby.impact.records import AttemptLog

DONE, RETRY, CALLBACK, CHANGE, ABANDON = 0, 1, 2, 3, 4
"""Event kinds: an agent frees, a caller calls again, a callback is due, the model changes, one gives up."""

Event = tuple[float, int, int, int, int]  # time, order, kind, group or attempt or index, attempt
_END: Event = (math.inf, -1, CHANGE, -1, 0)


def eligible_groups(model: DayModel) -> list[list[int]]:
    """For each queue, the groups skilled for it, those ranking it highest first."""
    found: list[list[tuple[int, int]]] = [[] for _ in model.queues]
    for g, group in enumerate(model.groups):
        for rank, q in enumerate(group.skills):
            found[q].append((rank, g))
    return [[g for _, g in sorted(pairs)] for pairs in found]


class DayState(AttemptLog):
    """The queues' side of one simulated day: calls and callbacks on hold, the outage's settings."""

    def __init__(self, model: DayModel, draws: Draws, *, retries: bool = True) -> None:
        """The day before its first event (`retries` as `AttemptLog` takes it)."""
        super().__init__(draws, retries=retries)
        self.model = model
        self.q: list[int] = draws.queue.tolist() if retries else draws.queue_list  # as `self.t`
        nq, ng = len(model.queues), len(model.groups)
        self.share = [q.retry_share for q in model.queues]
        self.deflect = [0.0] * nq
        self.factor = [1.0] * nq
        self.cap = [0] * ng
        self.present = [0] * ng
        self.skills = [g.skills for g in model.groups]
        self.eligible = eligible_groups(model)
        self.waiting: list[deque[int]] = [deque() for _ in range(nq)]
        self.cb_waiting: list[deque[int]] = [deque() for _ in range(nq)]
        self.cb_queue = [q for _, q, _ in model.callbacks]
        self.cb_service: list[float] = draws.callback_service.tolist()
        self.cb_start = [math.nan] * len(model.callbacks)
        self.cb_end = [math.nan] * len(model.callbacks)
        self.heap: list[Event] = []
        self.seq = itertools.count()
        self.end_s = model.end_s

    def start_events(self) -> list[Event]:
        """The heap of the day's changes and callbacks (in that order at one moment), then a sentinel."""
        heap, seq = self.heap, self.seq
        for index, change in enumerate(self.model.changes):
            heap.append((change.time, next(seq), CHANGE, index, 0))
        for i, (due, _, _) in enumerate(self.model.callbacks):
            heap.append((due, next(seq), CALLBACK, i, 0))
        heapify(heap)
        heap.append(_END)  # never popped before the day ends: no emptiness test in the loops
        return heap

    def retry(self, c: int, at: float) -> None:
        """The caller of attempt c may call again after a delay."""
        q = self.q[c]
        share = self.share[q]  # tested first: without retries, `retry_u` is empty
        if not share or self.retry_u[c] >= share or self.attempt[c] + 1 >= MAX_ATTEMPTS:
            return
        when = at + self.delay[c]
        if when >= self.end_s:
            return
        c2 = self.add_retry(c, when, q)
        self.q.append(q)
        heappush(self.heap, (when, next(self.seq), RETRY, c2, 0))
