"""The plan in force with the live state of its components: what the API and pages show.

Pure composition of the plan, the topology and the states that `detect.states` reads.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from standby.detect.states import UNKNOWN, LiveState
from standby.plan.schema import AnyOf, Component, Plan
from standby.plan.topology import Availability, Topology


@dataclass(frozen=True)
class LiveComponent:
    """A component of the plan with its live state and its effective availability."""

    component: Component
    state: str
    since: datetime | None
    available: bool
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of /api/v1/components (plan fields by their YAML names)."""
        c = self.component
        return {
            "id": c.id,
            "name": c.name,
            "kind": c.kind,
            "vendor": c.vendor,
            "version": c.version,
            "depends_on": [{"any_of": list(d.any_of)} if isinstance(d, AnyOf) else d for d in c.depends_on],
            "probe": c.probe.type if c.probe is not None else None,
            "state": self.state,
            "since": self.since.isoformat() if self.since is not None else None,
            "available": self.available,
            "detail": self.detail,
        }


def down_components(plan: Plan, states: Mapping[str, LiveState]) -> list[str]:
    """Ids of the plan's components whose recorded state is down, in plan order."""
    return [c.id for c in plan.components if c.id in states and states[c.id].state == "down"]


def live_components(
    plan: Plan, states: Mapping[str, LiveState], availability: Availability
) -> list[LiveComponent]:
    """Every component of the plan, in plan order, with its state and effective availability."""
    out = []
    for c in plan.components:
        live = states.get(c.id)
        out.append(
            LiveComponent(
                component=c,
                state=live.state if live is not None else UNKNOWN,
                since=live.since if live is not None else None,
                available=c.id in availability.components,
                detail=live.detail if live is not None else None,
            )
        )
    return out


def state_names(states: Mapping[str, LiveState]) -> dict[str, str]:
    """Component id to state word, for the map."""
    return {cid: live.state for cid, live in states.items()}


def plan_today(plan: Plan, now: datetime) -> date:
    """Today's date where the contact centre is (the plan's time zone)."""
    return now.astimezone(ZoneInfo(plan.organisation.timezone)).date()


class TopologyCache:
    """Topologies of recent plan versions, by sha256: building one walks the whole plan."""

    def __init__(self, size: int = 4) -> None:
        """Keep at most `size` topologies; the oldest is dropped first."""
        self._size = size
        self._items: dict[str, Topology] = {}
        self._lock = threading.Lock()  # requests run in a thread pool

    def get(self, sha256: str, plan: Plan) -> Topology:
        """The topology of this plan version, built on first use."""
        with self._lock:
            found = self._items.pop(sha256, None)
        if found is None:
            found = Topology.from_plan(plan)  # outside the lock: two builds are harmless
        with self._lock:
            self._items[sha256] = found  # (re)inserted last: the most recently used
            while len(self._items) > self._size:
                del self._items[next(iter(self._items))]
        return found


def summarise(live: Sequence[LiveComponent]) -> dict[str, int]:
    """How many components are in each state, plus how many are effectively unavailable."""
    counts = {s: 0 for s in ("up", "degraded", "down", "maintenance", UNKNOWN)}
    for item in live:
        counts[item.state] = counts.get(item.state, 0) + 1
    counts["unavailable"] = sum(1 for item in live if not item.available)
    return counts
