"""The simulations behind reviews, kept per process: a review is read often, its outage ran once.

Only an ended outage's simulation is kept (its scenario no longer changes); the key is
the outage, its times and the plan's text, so a new plan version simulates afresh.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from datetime import datetime

from standby.detect.history import OutageRecord
from standby.impact.results import ImpactResult
from standby.plan.schema import Plan
from standby.review.impact_part import simulate

KEEP = 64
"""How many simulations a process keeps (the least recently read goes first)."""


class Simulations:
    """A small cache of outage simulations, safe across the server's threads."""

    def __init__(self, keep: int = KEEP) -> None:
        """An empty cache holding at most `keep` simulations."""
        self._keep = keep
        self._found: OrderedDict[tuple[object, ...], tuple[ImpactResult | None, str | None]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(
        self, plan: Plan, outage: OutageRecord, now: datetime
    ) -> tuple[ImpactResult | None, str | None]:
        """The outage's simulation on the plan (run now unless kept)."""
        if outage.ended_at is None:
            return simulate(plan, outage, now=now)
        digest = hashlib.sha256(plan.model_dump_json().encode()).hexdigest()
        key = (outage.id, outage.started_at, outage.ended_at, tuple(outage.causes), digest)
        with self._lock:
            if key in self._found:
                self._found.move_to_end(key)
                return self._found[key]
        found = simulate(plan, outage, now=now)
        with self._lock:
            self._found[key] = found
            while len(self._found) > self._keep:
                self._found.popitem(last=False)
        return found


SIMULATIONS = Simulations()
"""The process's cache, shared by the API and the pages."""
