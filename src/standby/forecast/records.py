"""What a forecast says: per option and length, the figures a commander weighs, with 95% intervals.

Immutable records; `Forecast.to_dict` is what the API serves, the room draws and the store
keeps. Minutes are minutes of the plan's day; clock times are shown as "HH:MM" beside them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from standby.impact.results import Estimate
from standby.plan.fields import format_clock_time


def _estimate(value: Estimate) -> dict[str, float]:
    return {"mean": round(value.mean, 2), "low": round(value.low, 2), "high": round(value.high, 2)}


def _clock(minute: int | None) -> str | None:
    return None if minute is None else format_clock_time(minute)


@dataclass(frozen=True)
class ToleranceOutlook:
    """One impact tolerance of one queue: breached at a minute, or kept (None); with its 95% interval.

    `earliest` is the first minute it may be breached (None: it is kept even then), `latest`
    the minute by which it is breached (None: it may be kept), both at 95%
    (`impact.aggregate.breach_bounds`); a `max_outage_minutes` breach is exact.
    """

    queue: str
    kind: str
    limit: float
    breached_at: int | None
    earliest: int | None = None
    latest: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "queue": self.queue,
            "kind": self.kind,
            "limit": self.limit,
            "breached": self.breached_at is not None,
            "breached_at": _clock(self.breached_at),
            "breached_minute": self.breached_at,
            "breached_between": {"low": _clock(self.earliest), "high": _clock(self.latest)},
            "breached_between_minutes": {"low": self.earliest, "high": self.latest},
        }


@dataclass(frozen=True)
class Outlook:
    """One option if the outage lasts `lasting` more minutes: its cost from its start to the day's end."""

    lasting: int
    ends: int
    cut_at_day_end: bool
    customers_affected: Estimate
    vulnerable_affected: Estimate
    callbacks_missed: Estimate
    calls_unanswered: Estimate
    cost: Estimate
    tolerances: tuple[ToleranceOutlook, ...]
    back_on_target: Mapping[str, int | None]

    @property
    def breaches(self) -> tuple[ToleranceOutlook, ...]:
        """The tolerances breached, earliest first."""
        return tuple(sorted((t for t in self.tolerances if t.breached_at is not None), key=_minute))

    def _may_breach(self) -> list[int]:
        """The earliest minutes at which tolerances kept on the mean may still be breached (95%)."""
        return [t.earliest for t in self.tolerances if t.breached_at is None and t.earliest is not None]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        first = self.breaches[0] if self.breaches else None
        return {
            "minutes": self.lasting,
            "ends": format_clock_time(self.ends),
            "cut_at_day_end": self.cut_at_day_end,
            "customers_affected": _estimate(self.customers_affected),
            "vulnerable_affected": _estimate(self.vulnerable_affected),
            "callbacks_missed": _estimate(self.callbacks_missed),
            "calls_unanswered": _estimate(self.calls_unanswered),
            "cost": _estimate(self.cost),
            "breaches": len(self.breaches),
            "first_breach_at": _clock(first.breached_at if first else None),
            "first_breach_between": {
                "low": _clock(first.earliest if first else None),
                "high": _clock(first.latest if first else None),
            },
            "may_breach_from": _clock(min((m for m in self._may_breach()), default=None)),
            "tolerances": [t.to_dict() for t in self.tolerances],
            "back_on_target": {q: _clock(m) for q, m in self.back_on_target.items()},
        }


def _minute(tolerance: ToleranceOutlook) -> int:
    return tolerance.breached_at if tolerance.breached_at is not None else 10**9


@dataclass(frozen=True)
class OptionForecast:
    """One option, simulated for each length weighed."""

    id: str
    strategies: tuple[str, ...]
    names: tuple[str, ...]
    lasting: Mapping[int, Outlook]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: lengths keyed by their minutes as strings ("30", "60", "120")."""
        return {
            "id": self.id,
            "strategies": list(self.strategies),
            "names": list(self.names),
            "lasting": {str(k): v.to_dict() for k, v in self.lasting.items()},
        }


@dataclass(frozen=True)
class Forecast:
    """The forecast of one outage as of a minute: every option, and the one recommended with why."""

    now: int
    since: int
    down: tuple[str, ...]
    running: tuple[str, ...]
    estimate: int | None
    options: tuple[OptionForecast, ...]
    recommended: str
    reason: str
    replications: int
    seed: int
    currency: str
    calls_waiting: tuple[tuple[str, int], ...] = ()
    """The centre's own figures the day started from, by queue (none posted: the replay alone)."""
    agents_available: tuple[tuple[str, int], ...] = ()
    callbacks_booked: int = 0
    """Callbacks booked for the day that entered it."""

    def option(self, option_id: str) -> OptionForecast:
        """One option by its id (KeyError when absent)."""
        for option in self.options:
            if option.id == option_id:
                return option
        raise KeyError(option_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (without `as_of`, which the service adds as a full time)."""
        return {
            "now": format_clock_time(self.now),
            "since": format_clock_time(self.since),
            "down": list(self.down),
            "running": list(self.running),
            "estimate_weighed": self.estimate,
            "replications": self.replications,
            "seed": self.seed,
            "currency": self.currency,
            "centre_figures": {
                "calls_waiting": dict(self.calls_waiting),
                "agents_available": dict(self.agents_available),
            },
            "callbacks_booked": self.callbacks_booked,
            "options": [o.to_dict() for o in self.options],
            "recommended": self.recommended,
            "reason": self.reason,
        }
