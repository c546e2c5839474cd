"""Across incidents: each measure's median and 90th percentile per quarter, outages per component
and per vendor. Pure: the figures of each incident in, the trends out.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from standby.plan.schema import Plan
from standby.review.measures import MEASURES


@dataclass(frozen=True)
class Spread:
    """A measure in one quarter: how many incidents had it, the median and the 90th percentile (seconds)."""

    count: int
    median_s: float | None
    p90_s: float | None


@dataclass(frozen=True)
class Quarter:
    """One quarter's incidents and each measure's spread."""

    quarter: str
    incidents: int
    measures: Mapping[str, Spread]


@dataclass(frozen=True)
class Count:
    """How many outages a component or vendor was behind."""

    id: str
    name: str
    outages: int


def quarter_of(at: datetime) -> str:
    """2026-Q4 for a time in October to December 2026 (UTC)."""
    return f"{at.year}-Q{(at.month - 1) // 3 + 1}"


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least `share` of them at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count)."""
    if not values:
        return None
    ordered = sorted(values)
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2


def quarterly(incidents: Iterable[tuple[datetime, Mapping[str, float | None]]]) -> list[Quarter]:
    """Each quarter (oldest first) with each measure's median and 90th percentile over its incidents."""
    by_quarter: dict[str, list[Mapping[str, float | None]]] = defaultdict(list)
    for detected_at, figures in incidents:
        by_quarter[quarter_of(detected_at)].append(figures)
    found = []
    for quarter in sorted(by_quarter):
        rows = by_quarter[quarter]
        spreads = {}
        for measure in MEASURES:
            values = [v for r in rows if (v := r.get(measure.name)) is not None]
            spreads[measure.name] = Spread(len(values), median(values), percentile(values, 0.9))
        found.append(Quarter(quarter, len(rows), spreads))
    return found


def outages_per_part(plan: Plan | None, causes: Iterable[Sequence[str]]) -> tuple[list[Count], list[Count]]:
    """Outages per root-cause component, and per vendor of those components, most first."""
    components: Counter[str] = Counter()
    vendors: Counter[str] = Counter()
    known = plan.components_by_id if plan is not None else {}
    vendor_names = {v.id: v.name for v in plan.vendors} if plan is not None else {}
    for cause in causes:
        components.update(set(cause))
        vendors.update({v for c in cause if c in known and (v := known[c].vendor) is not None})
    by_component = [Count(c, known[c].name if c in known else c, n) for c, n in components.most_common()]
    by_vendor = [Count(v, vendor_names.get(v, v), n) for v, n in vendors.most_common()]
    return by_component, by_vendor
