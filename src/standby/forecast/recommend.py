"""Which option to take, and why, in one sentence. Pure.

The lengths judged are the commander's estimate once given, else every length weighed
(30, 60 and 120 more minutes): nobody knows how long it will last, so the advice must
hold for each. At each length, a tolerance *can still be kept* when some option keeps
it. The recommendation is the option that keeps every such tolerance at every length
judged, at the least mean cost over those lengths (fewer strategies first on a tie).
When no option does, it is the one that breaches least (tolerances breached, summed over
the lengths), then latest (its breaches' minutes, summed), then costs least.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from standby.forecast.records import OptionForecast, Outlook
from standby.impact.report import money
from standby.plan.fields import format_clock_time
from standby.plan.schema import Plan

KINDS = {
    "max_outage_minutes": "out {limit:.0f} minutes",
    "max_unanswered_calls": "over {limit:.0f} calls unanswered",
}


def _kept(outlook: Outlook) -> set[tuple[str, str]]:
    return {(t.queue, t.kind) for t in outlook.tolerances if t.breached_at is None}


def _cost(option: OptionForecast, lengths: Sequence[int]) -> float:
    return sum(option.lasting[n].cost.mean for n in lengths) / len(lengths)


def _label(plan: Plan, option: OptionForecast) -> str:
    if not option.strategies:
        return "Doing nothing more"
    known = {s.id: s.name for s in plan.strategies}
    names = [known.get(s, s) for s in option.strategies]
    return " with ".join(names)


def _lengths_said(lengths: Sequence[int]) -> str:
    if len(lengths) == 1:
        return f"if it lasts {lengths[0]} more minutes"
    return "whether it lasts " + ", ".join(str(n) for n in lengths[:-1]) + f" or {lengths[-1]} more minutes"


def recommend(
    plan: Plan, options: Sequence[OptionForecast], lengths: Sequence[int], currency: str
) -> tuple[str, str]:
    """The option recommended and the reason, in one sentence (see the module docstring)."""
    keepable: Mapping[int, set[tuple[str, str]]] = {
        n: set().union(*(_kept(o.lasting[n]) for o in options)) for n in lengths
    }
    keeping = [o for o in options if all(keepable[n] <= _kept(o.lasting[n]) for n in lengths)]
    said = _lengths_said(lengths)
    if keeping:
        best = min(keeping, key=lambda o: (_cost(o, lengths), len(o.strategies)))
        kept = sorted(set().union(*keepable.values()))
        what = "every impact tolerance that can still be kept" if kept else "what it can (none can be kept)"
        if not plan.impact_tolerances:
            what = "the plan's day (it sets no impact tolerance)"
        cost = money(_cost(best, lengths), currency)
        return best.id, f"{_label(plan, best)} keeps {what} {said}, at the least cost (about {cost})."

    def worst(o: OptionForecast) -> tuple[int, int, float]:
        breaches = [t for n in lengths for t in o.lasting[n].breaches]
        return len(breaches), -sum(t.breached_at or 0 for t in breaches), _cost(o, lengths)

    best = min(options, key=worst)
    first = min((b for n in lengths for b in best.lasting[n].breaches), key=lambda t: t.breached_at or 0)
    queue = plan.queues_by_id[first.queue].name if first.queue in plan.queues_by_id else first.queue
    breach = f"{queue} {KINDS.get(first.kind, first.kind).format(limit=first.limit)}"
    at = format_clock_time(first.breached_at or 0)
    return best.id, (
        f"No option keeps every tolerance that could be kept {said}; {_label(plan, best)} breaches least"
        f" and latest (first: {breach} at {at})."
    )
