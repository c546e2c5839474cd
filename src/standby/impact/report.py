"""The impact result in a manager's words: the headline, figures per queue, and the terminal summary.

No files, no clock. The HTML report (`impact.html`) uses the same words and figures,
so the terminal and the forwarded report never disagree. Also the reverse, for the
CLI and the API alike: reading the times people write (HH:MM, or ISO 8601 with an
offset) as minutes of the plan's day.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from standby.impact.results import (
    Estimate,
    Happening,
    ImpactResult,
    QueueInterval,
    Scenario,
    ToleranceBreach,
)
from standby.plan.schema import Plan

CURRENCY_SYMBOLS: Mapping[str, str] = MappingProxyType({"GBP": "£", "EUR": "€", "USD": "$"})
_HHMM = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
EN_DASH = "\u2013"  # ranges: "95% CI 380\u2013440", "10:00\u201311:00"
_NUMBER_WORDS = ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


@dataclass(frozen=True)
class Labels:
    """What the result's ids are called in the plan, and each queue's targets and value.

    The result carries ids only; a report speaks of "CloudCX routing (ACD)" and the
    "Gas emergency line". An id missing here is shown as itself.
    """

    components: Mapping[str, str] = field(default_factory=dict)
    queues: Mapping[str, str] = field(default_factory=dict)
    targets: Mapping[str, float] = field(default_factory=dict)
    value_per_call: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, plan: Plan) -> Labels:
        """The names, service-level targets and call values of `plan`."""
        return cls(
            components=MappingProxyType({c.id: c.name for c in plan.components}),
            queues=MappingProxyType({q.id: q.name for q in plan.queues}),
            targets=MappingProxyType({q.id: q.service_level.target for q in plan.queues}),
            value_per_call=MappingProxyType({q.id: float(q.value_per_call) for q in plan.queues}),
        )

    def component(self, component_id: str) -> str:
        """A component's name, or its id."""
        return self.components.get(component_id, component_id)

    def queue(self, queue_id: str) -> str:
        """A queue's name, or its id."""
        return self.queues.get(queue_id, queue_id)


@dataclass(frozen=True)
class QueueFigures:
    """One queue's day, with the outage and without: totals and service levels."""

    queue: str
    name: str
    offered: tuple[float, float]
    answered: tuple[float, float]
    abandoned: tuple[float, float]
    unreachable: tuple[float, float]
    deflected: tuple[float, float]
    window_service_level: tuple[float | None, float | None]
    day_service_level: tuple[float | None, float | None]
    target: float | None
    recovery: int | None
    # Whether the simulation reported a recovery time for this queue at all.
    tracked: bool


def clock(minute: int) -> str:
    """Minutes since midnight as HH:MM."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_clock(text: str) -> int:
    """ "HH:MM" (00:00 to 23:59) as minutes since midnight; ValueError saying how to write it."""
    match = _HHMM.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a time of day: write it as HH:MM, such as 10:00")
    return int(match.group(1)) * 60 + int(match.group(2))


def due_minute(text: str, timezone: str) -> int:
    """A due time as minutes since midnight in the plan's zone: HH:MM there, or ISO 8601 with an offset.

    The date of an ISO time is dropped: the simulation is of one day. ValueError says what is wrong.
    """
    text = text.strip()
    if _HHMM.match(text):
        return parse_clock(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: write HH:MM, or ISO 8601 with an offset,"
            " such as 2026-06-15T10:30:00+01:00"
        ) from None
    if when.tzinfo is None:
        raise ValueError(
            f"{text!r} has no offset: add one (such as +01:00), or write HH:MM in the plan's time zone"
        )
    local = when.astimezone(ZoneInfo(timezone))
    return local.hour * 60 + local.minute


def currency_symbol(code: str) -> str:
    """£, € or $ for GBP, EUR and USD; any other ISO 4217 code as itself."""
    return CURRENCY_SYMBOLS.get(code.upper(), code.upper())


def money(amount: float, currency: str) -> str:
    """An amount in whole units with thousands separators: £3,120, -€40, CHF 1,200."""
    symbol = currency_symbol(currency)
    whole = round(amount) if math.isfinite(amount) else 0
    sign = "-" if whole < 0 else ""
    gap = "" if symbol in CURRENCY_SYMBOLS.values() else " "
    return f"{sign}{symbol}{gap}{abs(whole):,}"


def count(value: float) -> str:
    """A mean count of people or calls, rounded to a whole number."""
    return f"{round(value):,}" if math.isfinite(value) else "?"


def interval_text(estimate: Estimate) -> str | None:
    """ "95% CI 380 to 440" (with an en dash), or None when the interval has no spread (one replication)."""
    low, high = round(estimate.low), round(estimate.high)
    if low == high:
        return None
    return f"95% CI {low:,}{EN_DASH}{high:,}"


def share(value: float | None) -> str:
    """A service level as a whole percentage, or an em dash when no call was offered."""
    return "—" if value is None or not math.isfinite(value) else f"{value * 100:.0f}%"


def duration(minutes: int) -> str:
    """A length of time as a person says it: "An hour", "Half an hour", "90 minutes", "Two hours"."""
    if minutes == 60:
        return "An hour"
    if minutes == 30:
        return "Half an hour"
    if minutes % 60 == 0:
        hours = minutes // 60
        word = _NUMBER_WORDS[hours].capitalize() if hours < len(_NUMBER_WORDS) else str(hours)
        return f"{word} hours"
    return f"{minutes} minutes"


def joined(items: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def scenario_title(scenario: Scenario, labels: Labels) -> str:
    """ "An hour without CloudCX routing (ACD) from 10:00"."""
    names = joined([labels.component(c) for c in scenario.down])
    return f"{duration(scenario.minutes)} without {names} from {clock(scenario.at)}"


def breach_text(breach: ToleranceBreach, labels: Labels) -> str:
    """ "the Gas emergency line's 15-minute tolerance is breached at 10:15"."""
    name = labels.queue(breach.queue)
    if breach.kind == "max_outage_minutes":
        return f"the {name}'s {round(breach.limit)}-minute tolerance is breached at {clock(breach.minute)}"
    return (
        f"the {name}'s limit of {round(breach.limit):,} unanswered calls is breached"
        f" at {clock(breach.minute)}"
    )


def recovery_text(result: ImpactResult) -> str | None:
    """ "service level back on target at 11:30 (emergency), 12:00 (billing and moving)", or None."""
    if not result.recovery:
        return None
    # Queues back at the same minute share it: "11:00 (emergency, billing and moving)".
    by_minute: dict[int | None, list[str]] = {}
    for queue, minute in result.recovery.items():
        by_minute.setdefault(minute, []).append(queue)
    parts = [
        f"{clock(minute) if minute is not None else 'not by the end of the day'} ({joined(queues)})"
        for minute, queues in by_minute.items()
    ]
    return "service level back on target at " + ", ".join(parts)


def headline(result: ImpactResult, labels: Labels) -> str:
    """The sentence a manager reads aloud: customers, callbacks, recovery, breaches and cost."""
    clauses: list[str] = []
    affected = f"{count(result.customers_affected.mean)} customers affected"
    spread = interval_text(result.customers_affected)
    if spread:
        affected += f" ({spread})"
    affected += f", {count(result.vulnerable_affected.mean)} of them vulnerable"
    clauses.append(affected)
    missed = round(result.callbacks_missed.mean)
    clauses.append(
        "no callbacks missed" if missed == 0 else f"{missed:,} callback{'s' if missed != 1 else ''} missed"
    )
    recovery = recovery_text(result)
    if recovery:
        clauses.append(recovery)
    clauses.extend(breach_text(b, labels) for b in first_breaches(result.breaches))
    currency = result.currency
    cost = result.cost
    parts = f"idle wages {money(cost.idle_wages.mean, currency)}"
    parts += f", value lost {money(cost.lost_value.mean, currency)}"
    if round(cost.partner_wages.mean):
        parts += f", partner's agents {money(cost.partner_wages.mean, currency)}"
    clauses.append(f"cost {money(cost.total.mean, currency)} ({parts})")
    return f"{scenario_title(result.scenario, labels)}: {'; '.join(clauses)}"


def first_breaches(breaches: Sequence[ToleranceBreach]) -> list[ToleranceBreach]:
    """Breaches in the order they happened (the same minute: in the order given)."""
    return sorted(breaches, key=lambda b: b.minute)


def happening_text(happening: Happening) -> str:
    """The happening's words without a leading "HH:MM " of its own minute: the report shows the time."""
    prefix = f"{clock(happening.minute)} "
    return happening.text.removeprefix(prefix)


def in_window(row: QueueInterval, scenario: Scenario, interval_minutes: int) -> bool:
    """Whether an interval overlaps the outage."""
    return row.start < scenario.ends and row.start + interval_minutes > scenario.at


def service_level(rows: Sequence[QueueInterval]) -> float | None:
    """Answered within the threshold over offered across `rows`, or None when none were offered."""
    offered = sum(r.offered for r in rows)
    return sum(r.answered_in_target for r in rows) / offered if offered > 0 else None


def queue_figures(result: ImpactResult, labels: Labels) -> list[QueueFigures]:
    """Each queue's totals and service levels, outage first and baseline second, in plan order."""
    figures: list[QueueFigures] = []
    for queue, rows in result.outage.queues.items():
        base = result.baseline.queues.get(queue, ())
        window = [r for r in rows if in_window(r, result.scenario, result.interval_minutes)]
        base_window = [r for r in base if in_window(r, result.scenario, result.interval_minutes)]
        figures.append(
            QueueFigures(
                queue=queue,
                name=labels.queue(queue),
                offered=(_sum(rows, "offered"), _sum(base, "offered")),
                answered=(_sum(rows, "answered"), _sum(base, "answered")),
                abandoned=(_sum(rows, "abandoned"), _sum(base, "abandoned")),
                unreachable=(_sum(rows, "unreachable"), _sum(base, "unreachable")),
                deflected=(_sum(rows, "deflected"), _sum(base, "deflected")),
                window_service_level=(service_level(window), service_level(base_window)),
                day_service_level=(service_level(rows), service_level(base)),
                target=labels.targets.get(queue),
                recovery=result.recovery.get(queue),
                tracked=queue in result.recovery,
            )
        )
    return figures


def lost_value_by_queue(result: ImpactResult, labels: Labels) -> dict[str, float]:
    """The value lost, split between queues in proportion to each one's extra unanswered calls times value.

    The split is the report's estimate: the simulation gives the total. Queues that lost
    nothing (or did better than the baseline) get zero, and the parts add up to the total.
    """
    weights: dict[str, float] = {}
    for queue, rows in result.outage.queues.items():
        base = result.baseline.queues.get(queue, ())
        extra = sum(_unanswered(r) for r in rows) - sum(_unanswered(r) for r in base)
        weights[queue] = max(extra, 0.0) * labels.value_per_call.get(queue, 0.0)
    total = sum(weights.values())
    lost = result.cost.lost_value.mean
    if total <= 0:
        return dict.fromkeys(weights, 0.0)
    return {queue: lost * weight / total for queue, weight in weights.items()}


def summary(result: ImpactResult, labels: Labels) -> RenderableType:
    """The terminal summary: the headline, the queues' table, breaches, happenings, the method."""
    parts: list[RenderableType] = [Text(headline(result, labels), style="bold"), Text("")]
    parts.append(queue_table(queue_figures(result, labels)))
    parts.append(Text("\nImpact tolerances", style="bold"))
    events = Table.grid(padding=(0, 2))
    events.add_column(no_wrap=True, justify="right")
    events.add_column()
    for breach in first_breaches(result.breaches):
        events.add_row(clock(breach.minute), Text(_capital(breach_text(breach, labels)), style="red"))
    parts.append(events if result.breaches else Text("none breached", style="green"))
    if result.happenings:
        parts.append(Text("\nWhat happened", style="bold"))
        timeline = Table.grid(padding=(0, 2))
        timeline.add_column(no_wrap=True, justify="right")
        timeline.add_column()
        for happening in sorted(result.happenings, key=lambda h: h.minute):
            timeline.add_row(clock(happening.minute), happening_text(happening))
        parts.append(timeline)
    parts.append(Text(""))
    parts.append(Text(method_note(result), style="dim"))
    return Group(*parts)


def method_note(result: ImpactResult) -> str:
    """How the figures were computed, in two sentences."""
    runs = "one simulated day" if result.replications == 1 else f"{result.replications} simulated days"
    return (
        f"Means of {runs} (seed {result.seed}), each run with and without the outage on the same"
        " callers; totals are the difference, with 95% confidence intervals."
    )


def queue_table(figures: Sequence[QueueFigures]) -> Table:
    """A column per queue: the day's calls and service levels with the outage, (in brackets) without it."""
    table = Table(
        title="The day with the outage (and without it)",
        title_justify="left",
        title_style="bold",
        expand=False,
    )
    table.add_column("")
    for f in figures:
        table.add_column(f.name, justify="right")
    for label, name in (
        ("calls offered", "offered"),
        ("answered", "answered"),
        ("abandoned", "abandoned"),
        ("unreachable", "unreachable"),
        ("deflected", "deflected"),
    ):
        pairs: list[tuple[float, float]] = [getattr(f, name) for f in figures]
        table.add_row(label, *(_pair(Text(count(outage)), count(base)) for outage, base in pairs))
    table.add_row(
        "service level in the outage",
        *(
            _pair(Text(share(f.window_service_level[0]), style=_tone(f)), share(f.window_service_level[1]))
            for f in figures
        ),
    )
    table.add_row(
        "service level all day",
        *(_pair(Text(share(f.day_service_level[0])), share(f.day_service_level[1])) for f in figures),
    )
    table.add_row("target", *(share(f.target) for f in figures))
    table.add_row(
        "back on target",
        *((("not today" if f.recovery is None else clock(f.recovery)) if f.tracked else "") for f in figures),
    )
    return table


def _pair(first: Text, second: str) -> Text:
    return Text.assemble(first, (f" ({second})", "dim"))


def _tone(figures: QueueFigures) -> str:
    level = figures.window_service_level[0]
    return "red" if figures.target is not None and level is not None and level < figures.target else ""


def recovery_note(figures: QueueFigures) -> str:
    """ "; back on target at 11:30", "; not back on target by the end of the day", or nothing."""
    if not figures.tracked:
        return ""
    if figures.recovery is None:
        return "; not back on target by the end of the day"
    return f"; back on target at {clock(figures.recovery)}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sum(rows: Sequence[QueueInterval], name: str) -> float:
    return float(sum(getattr(r, name) for r in rows))


def _unanswered(row: QueueInterval) -> float:
    return row.abandoned + row.unreachable + row.deflected
