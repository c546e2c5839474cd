"""The impact report's charts, drawn from the result: service level and calls waiting per queue,
agents through the day, and the cost as one bar.

Pure: the result and the plan's labels in, one `<svg>` string out (see `impact.charts`).
"""

from __future__ import annotations

from collections.abc import Sequence

from standby.impact.charts import Band, BarPart, Rule, Series, line_chart, percent, stacked_bar
from standby.impact.report import EN_DASH, Labels, clock, lost_value_by_queue, money
from standby.impact.results import CentreInterval, ImpactResult, QueueInterval

OUTAGE = "#c62828"
BASELINE = "#7b8698"
WORKING = "#2456c8"
IDLE = "#b45309"
PARTNER = "#d97706"
# Drawing widths: full-width charts scale from about 700px (A4 print) to 1070px (screen), so
# text drawn for 820 stays readable at both; the side-by-side charts are about 520px wide.
# On a phone every chart is one column, scaled down to the screen's width by its viewBox.
WIDE = 820
HALF = 520
# Value lost per queue: blues and violets that stay apart from the idle-wages amber.
QUEUE_COLOURS = ("#2456c8", "#6a4fc4", "#0f7c8c", "#8a3f9e", "#4f7be0", "#3a8f5c", "#a15c2b", "#5d6878")


def service_level_chart(result: ImpactResult, labels: Labels, queue: str) -> str:
    """The queue's service level through the day, with and without the outage, and its target."""
    target = labels.targets.get(queue)
    rules = [Rule(target, f"target {percent(target)}")] if target is not None else []
    return line_chart(
        [
            Series(
                "without the outage",
                _steps(result, result.baseline.queues.get(queue, ()), "service_level"),
                BASELINE,
                width=1.8,
            ),
            Series(
                "with the outage",
                _steps(result, result.outage.queues[queue], "service_level"),
                OUTAGE,
                width=2.4,
            ),
        ],
        title=f"{labels.queue(queue)}: service level through the day",
        x_domain=_day(result),
        y_domain=(0.0, 1.0),
        y_format=percent,
        bands=[_outage_band(result)],
        rules=rules,
        width=HALF,
        height=220,
    )


def backlog_chart(result: ImpactResult, labels: Labels, queue: str) -> str:
    """Calls waiting at the end of each interval, with and without the outage."""
    return line_chart(
        [
            Series(
                "without the outage",
                _points(result, result.baseline.queues.get(queue, ()), "backlog"),
                BASELINE,
                width=1.8,
            ),
            Series(
                "with the outage",
                _points(result, result.outage.queues[queue], "backlog"),
                OUTAGE,
                width=2.4,
                area=True,
            ),
        ],
        title=f"{labels.queue(queue)}: calls waiting through the day",
        x_domain=_day(result),
        bands=[_outage_band(result)],
        whole_numbers=True,
        width=HALF,
        height=220,
    )


def agents_chart(result: ImpactResult) -> str:
    """Agents on the outage day: working, paid but unable to work, and on shift without the outage."""
    centre = result.outage.centre
    return line_chart(
        [
            Series("on shift", _steps(result, centre, "agents_on_shift"), BASELINE, dashed=True, width=1.6),
            Series("able to take calls", _steps(result, centre, "agents_working"), WORKING),
            Series("paid but unable to work", _steps(result, centre, "agents_idle_paid"), IDLE, area=True),
        ],
        title="Agents through the outage day: able to take calls, and paid but unable to work",
        x_domain=_day(result),
        y_label="agents",
        bands=[_outage_band(result)],
        whole_numbers=True,
        width=WIDE,
        height=260,
    )


def cost_chart(result: ImpactResult, labels: Labels) -> str:
    """The outage's cost as one bar: idle wages, a partner's agents, the value lost on each queue."""
    parts = [BarPart("idle wages", result.cost.idle_wages.mean, IDLE)]
    if round(result.cost.partner_wages.mean):
        parts.append(BarPart("partner's agents", result.cost.partner_wages.mean, PARTNER))
    for index, (queue, value) in enumerate(lost_value_by_queue(result, labels).items()):
        if round(value):  # a queue that lost nothing (no value per call) is in the table, not the bar
            colour = QUEUE_COLOURS[index % len(QUEUE_COLOURS)]
            parts.append(BarPart(f"value lost: {labels.queue(queue)}", value, colour))
    return stacked_bar(
        parts,
        title=f"The outage's cost, {money(result.cost.total.mean, result.currency)}, broken down",
        value_format=lambda v: money(v, result.currency),
        width=WIDE,
    )


def _points(
    result: ImpactResult, rows: Sequence[QueueInterval], name: str
) -> list[tuple[float, float | None]]:
    # Calls waiting are counted at each interval's end.
    return [(r.start + result.interval_minutes, getattr(r, name)) for r in rows]


def _steps(
    result: ImpactResult, rows: Sequence[QueueInterval] | Sequence[CentreInterval], name: str
) -> list[tuple[float, float | None]]:
    # A figure for a whole interval is a flat step across it: a line between midpoints
    # would show the outage starting a quarter of an hour before it did.
    points: list[tuple[float, float | None]] = []
    for row in rows:
        value = getattr(row, name)
        points += [(row.start, value), (row.start + result.interval_minutes, value)]
    return points


def _day(result: ImpactResult) -> tuple[float, float]:
    starts = [r.start for rows in result.outage.queues.values() for r in rows]
    starts += [c.start for c in result.outage.centre]
    if not starts:
        return (float(result.scenario.at), float(result.scenario.ends))
    return (float(min(starts)), float(max(starts) + result.interval_minutes))


def _outage_band(result: ImpactResult) -> Band:
    return Band(
        result.scenario.at,
        result.scenario.ends,
        f"outage {clock(result.scenario.at)}{EN_DASH}{clock(result.scenario.ends)}",
    )
