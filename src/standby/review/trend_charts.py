"""The charts of the reviews page, drawn with Impact's chart code (`impact.charts`). Pure: SVG text."""

from __future__ import annotations

from collections.abc import Sequence

from standby.impact.charts import BarPart, Series, line_chart, stacked_bar
from standby.review.measures import Measure
from standby.review.trends import Count, Quarter

MEDIAN, P90 = "#2456c8", "#c62828"
PALETTE = ("#2456c8", "#c62828", "#1a7f37", "#b45309", "#6a4bc4", "#0e7490", "#9d174d", "#4b5563")


def minutes_label(value: float) -> str:
    """A tick of minutes: 0, 15, 90."""
    return f"{value:g}"


def measure_chart(measure: Measure, quarters: Sequence[Quarter]) -> str:
    """One measure's median and 90th percentile per quarter, in minutes; an empty string with no quarter."""
    if not quarters:
        return ""
    labels = [q.quarter for q in quarters]

    def points(which: str) -> list[tuple[float, float]]:
        found = []
        for i, q in enumerate(quarters):
            spread = q.measures[measure.name]
            value = spread.median_s if which == "median" else spread.p90_s
            if value is not None:
                found.append((float(i), value / 60))
        return found

    def quarter_label(x: float) -> str:
        i = round(x)
        return labels[i] if 0 <= i < len(labels) and abs(x - i) < 1e-9 else ""

    span = (-0.5, len(quarters) - 0.5)
    return line_chart(
        [
            Series("median", points("median"), MEDIAN),
            Series("90th percentile", points("p90"), P90, dashed=True),
        ],
        title=f"{measure.name}: median and 90th percentile by quarter",
        x_domain=span,
        x_ticks=[float(i) for i in range(len(quarters))],
        x_format=quarter_label,
        y_format=minutes_label,
        y_label="minutes",
        width=480,
        height=220,
    )


def counts_chart(counts: Sequence[Count], *, title: str) -> str:
    """Outages per component or vendor as one bar split by each, with the counts in its legend."""
    parts = [
        BarPart(f"{c.name}", float(c.outages), PALETTE[i % len(PALETTE)]) for i, c in enumerate(counts[:8])
    ]
    rest = sum(c.outages for c in counts[8:])
    if rest:
        parts.append(BarPart("others", float(rest), "#9aa5b4"))
    return stacked_bar(parts, title=title, value_format=lambda v: f"{v:g}")


def actions_chart(open_: int, overdue: int, closed: int) -> str:
    """The actions as one bar: open on time, overdue, closed."""
    parts = [
        BarPart("open, on time", float(open_ - overdue), "#2456c8"),
        BarPart("overdue", float(overdue), "#c62828"),
        BarPart("closed", float(closed), "#1a7f37"),
    ]
    return stacked_bar(parts, title="Actions", value_format=lambda v: f"{v:g}")
