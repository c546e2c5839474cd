"""The impact report as one self-contained HTML file a manager can forward by email.

Inline CSS and inline SVG charts (from `impact.report_charts`), no scripts, no external
references: it opens the same from an attachment, offline, or printed. The same report,
without its document around it, is shown in Standby's /impact page (`render_report`),
which links its style sheet (`report_css`) rather than inlining it. It fits a phone:
charts take their box's width, wide tables scroll inside their frame. Jinja2 with
autoescape renders it; the charts escape their own text and enter as Markup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import jinja2
from markupsafe import Markup

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
from standby.impact.report_charts import agents_chart, backlog_chart, cost_chart, service_level_chart
from standby.impact.results import Estimate, ImpactResult


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
