"""The impact report as one self-contained HTML file a manager can forward by email.

Inline CSS and inline SVG charts (from `impact.charts`), no scripts, no external
references: it opens the same from an attachment, offline, or printed. The same report,
without its document around it, is shown in Standby's /impact page (`render_report`),
which links its style sheet (`report_css`) rather than inlining it. It fits a phone:
charts take their box's width, wide tables scroll inside their frame. Jinja2 with
autoescape renders it; the charts escape their own text and enter as Markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import jinja2
from markupsafe import Markup

from standby.impact.charts import Band, BarPart, Rule, Series, line_chart, percent, stacked_bar
from standby.impact.report import (
    EN_DASH,
    Labels,
    QueueFigures,
    breach_text,
    clock,
    count,
    first_breaches,
    happening_text,
    headline,
    in_window,
    interval_text,
    lost_value_by_queue,
    method_note,
    money,
    queue_figures,
    recovery_note,
    scenario_title,
    share,
)
from standby.impact.results import CentreInterval, Estimate, ImpactResult, QueueInterval

OUTAGE = "#c62828"
BASELINE = "#7b8698"
WORKING = "#2456c8"
IDLE = "#b45309"
PARTNER = "#d97706"
# Value lost per queue: blues and violets that stay apart from the idle-wages amber.
# Drawing widths: full-width charts scale from about 700px (A4 print) to 1070px (screen), so
# text drawn for 820 stays readable at both; the side-by-side charts are about 520px wide.
WIDE = 820
HALF = 520
QUEUE_COLOURS = ("#2456c8", "#6a4fc4", "#0f7c8c", "#8a3f9e", "#4f7be0", "#3a8f5c", "#a15c2b", "#5d6878")


@dataclass(frozen=True)
class Tile:
    """A headline figure: label, value, and the note under it (confidence interval, context)."""

    label: str
    value: str
    note: str
    tone: str


@dataclass(frozen=True)
class IntervalRow:
    """One interval of one queue, formatted for the detail table."""

    time: str
    in_outage: bool
    offered: str
    answered: str
    abandoned: str
    unreachable: str
    deflected: str
    service_level: str
    baseline_service_level: str
    below_target: bool
    asa: str
    backlog: str
    agents_busy: str


@dataclass(frozen=True)
class QueueSection:
    """A queue's charts, figures and interval table."""

    figures: QueueFigures
    service_level_chart: Markup
    backlog_chart: Markup
    rows: tuple[IntervalRow, ...]
    note: str


@dataclass(frozen=True)
class CostRow:
    """One line of the cost table."""

    label: str
    amount: str
    spread: str
    strong: bool = False


def render_html(
    result: ImpactResult,
    labels: Labels,
    *,
    organisation: str | None = None,
    plan_source: str | None = None,
    generated: str | None = None,
) -> str:
    """The whole report as one HTML document; `plan_source` and `generated` are shown as given."""
    context = _report_context(result, labels, organisation, plan_source, generated)
    return _environment().get_template("impact.html").render(context)


def render_report(
    result: ImpactResult,
    labels: Labels,
    *,
    plan_source: str | None = None,
    generated: str | None = None,
) -> str:
    """The report alone, one `<article class="report">` to place in a page that links `report_css()`."""
    context = _report_context(result, labels, None, plan_source, generated)
    return _environment().get_template("report.html").render(context)


@cache
def report_css() -> str:
    """The report's style sheet: every rule is inside `.report`, so it styles nothing else of a page."""
    source, _, _ = _environment().loader.get_source(_environment(), "report.css")  # type: ignore[union-attr]
    return source


def _report_context(
    result: ImpactResult,
    labels: Labels,
    organisation: str | None,
    plan_source: str | None,
    generated: str | None,
) -> dict[str, object]:
    figures = queue_figures(result, labels)
    return {
        "title": scenario_title(result.scenario, labels),
        "organisation": organisation or result.organisation,
        "headline": headline(result, labels),
        "scenario": result.scenario,
        "down": [(c, labels.component(c)) for c in result.scenario.down],
        "window": f"{clock(result.scenario.at)}{EN_DASH}{clock(result.scenario.ends)}",
        "plan_source": plan_source,
        "generated": generated,
        "tiles": _tiles(result),
        "breaches": [
            {
                "time": clock(b.minute),
                "queue": labels.queue(b.queue),
                "kind": "outage length" if b.kind == "max_outage_minutes" else "unanswered calls",
                "limit": f"{round(b.limit)} minutes"
                if b.kind == "max_outage_minutes"
                else f"{round(b.limit):,} calls",
                "text": breach_text(b, labels),
            }
            for b in first_breaches(result.breaches)
        ],
        "queues": [_queue_section(result, labels, f) for f in figures],
        "agents_chart": Markup(agents_chart(result)),
        "cost_chart": Markup(cost_chart(result, labels)),
        "cost_rows": _cost_rows(result, labels),
        "timeline": _timeline(result),
        "method": method_note(result),
        "result": result,
        "share": share,
        "count": count,
        "clock": clock,
    }


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


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("standby.impact", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt name fails a test, not a report silently
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _tiles(result: ImpactResult) -> list[Tile]:
    def note(estimate: Estimate, extra: str = "") -> str:
        spread = interval_text(estimate)
        return " · ".join(p for p in (spread, extra) if p) or "one simulated day"

    currency = result.currency
    breaches = len(result.breaches)
    first = min((b.minute for b in result.breaches), default=None)
    return [
        Tile(
            "Customers affected",
            count(result.customers_affected.mean),
            note(result.customers_affected),
            "down",
        ),
        Tile(
            "Vulnerable customers",
            count(result.vulnerable_affected.mean),
            note(result.vulnerable_affected),
            "down",
        ),
        Tile("Calls unanswered", count(result.calls_unanswered.mean), note(result.calls_unanswered), "down"),
        Tile(
            "Callbacks missed",
            count(result.callbacks_missed.mean),
            note(result.callbacks_missed, _due(result.outage.callbacks_due.mean)),
            "down" if round(result.callbacks_missed.mean) else "up",
        ),
        Tile(
            "Cost of the outage",
            money(result.cost.total.mean, currency),
            note(result.cost.total).replace("95% CI ", f"95% CI {_symbolless(currency)}"),
            "down",
        ),
        Tile(
            "Tolerances breached",
            str(breaches),
            f"first at {clock(first)}" if first is not None else "none breached",
            "down" if breaches else "up",
        ),
    ]


def _due(due: float) -> str:
    return f"of {count(due)} due" if round(due) else "none were due"


def _symbolless(currency: str) -> str:
    # The CI of a cost reads "95% CI £2,900-3,300": the symbol once, before the range.
    return money(0, currency).removesuffix("0")


def _queue_section(result: ImpactResult, labels: Labels, figures: QueueFigures) -> QueueSection:
    queue = figures.queue
    base = {r.start: r for r in result.baseline.queues.get(queue, ())}
    target = figures.target
    rows: list[IntervalRow] = []
    for row in result.outage.queues[queue]:
        other = base.get(row.start)
        rows.append(
            IntervalRow(
                time=clock(row.start),
                in_outage=in_window(row, result.scenario, result.interval_minutes),
                offered=_amount(row.offered),
                answered=_amount(row.answered),
                abandoned=_amount(row.abandoned),
                unreachable=_amount(row.unreachable),
                deflected=_amount(row.deflected),
                service_level=share(row.service_level),
                baseline_service_level=share(other.service_level) if other else "—",
                below_target=target is not None
                and row.service_level is not None
                and row.service_level < target,
                asa=_seconds(row.asa_s),
                backlog=_amount(row.backlog),
                agents_busy=_amount(row.agents_busy),
            )
        )
    outage_sl, base_sl = figures.window_service_level
    note = (
        f"Service level during the outage window {share(outage_sl)}, against {share(base_sl)} on the same"
        f" day without it (target {share(target)}){recovery_note(figures)}."
    )
    return QueueSection(
        figures=figures,
        service_level_chart=Markup(service_level_chart(result, labels, queue)),
        backlog_chart=Markup(backlog_chart(result, labels, queue)),
        rows=tuple(rows),
        note=note,
    )


def _timeline(result: ImpactResult) -> list[tuple[str, str, bool]]:
    """The happenings by minute, as (time, words, whether it tells of a breach, to show in red)."""
    breached = {b.minute for b in result.breaches}
    return [
        (clock(h.minute), happening_text(h), h.minute in breached and "tolerance" in h.text)
        for h in sorted(result.happenings, key=lambda h: h.minute)
    ]


def _cost_rows(result: ImpactResult, labels: Labels) -> list[CostRow]:
    currency = result.currency

    def spread(estimate: Estimate) -> str:
        if round(estimate.low) == round(estimate.high):
            return ""
        return f"{money(estimate.low, currency)} to {money(estimate.high, currency)}"

    rows = [
        CostRow(
            "Idle wages: agents paid while unable to take calls",
            money(result.cost.idle_wages.mean, currency),
            spread(result.cost.idle_wages),
        )
    ]
    if round(result.cost.partner_wages.mean):
        rows.append(
            CostRow(
                "Overflow partner's agents, while a strategy has them working",
                money(result.cost.partner_wages.mean, currency),
                spread(result.cost.partner_wages),
            )
        )
    rows.append(
        CostRow(
            "Value lost: calls not answered",
            money(result.cost.lost_value.mean, currency),
            spread(result.cost.lost_value),
        )
    )
    for queue, value in lost_value_by_queue(result, labels).items():
        rows.append(CostRow(f"    of which {labels.queue(queue)}", money(value, currency), ""))
    rows.append(
        CostRow("Total", money(result.cost.total.mean, currency), spread(result.cost.total), strong=True)
    )
    return rows


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


def _amount(value: float) -> str:
    if not math.isfinite(value):
        return "—"
    if abs(value) >= 10 or abs(value - round(value)) < 0.05:
        return f"{round(value):,}"
    return f"{value:.1f}"


def _seconds(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    if value < 90:
        return f"{value:.0f} s"
    return f"{value / 60:.1f} min"
