"""The review as one self-contained HTML file: inline styles (the impact report's sheet, reused),
inline SVG charts, no script; printable on A4 and readable on a phone. Pure: review in, text out.
"""

from __future__ import annotations

from functools import cache

import jinja2
from markupsafe import Markup

from standby.customers.compensation import money_text
from standby.impact.charts import BarPart, stacked_bar
from standby.impact.html import render_report, report_css
from standby.impact.report import Labels
from standby.impact.results import ImpactResult
from standby.review.draft import Review
from standby.review.markdown import WRITTEN_HEADINGS, when
from standby.review.measures import duration_words

PHASES = (
    ("started", "detected", "until detected", "#c62828"),
    ("detected", "acknowledged", "until acknowledged", "#e07b00"),
    ("acknowledged", "mitigated", "until mitigated", "#b45309"),
    ("mitigated", "recovered", "until recovered", "#2456c8"),
    ("recovered", "resolved", "until resolved", "#6a4bc4"),
    ("resolved", "callbacks_cleared", "until callbacks cleared", "#1a7f37"),
)


def phases_chart(review: Review) -> str:
    """The incident's phases one after another, as one bar: where the time went."""
    times = {t.name: t.at for t in review.times}
    parts = []
    for start, end, label, colour in PHASES:
        a, b = times.get(start), times.get(end)
        if a is not None and b is not None and b >= a:
            parts.append(BarPart(label, (b - a).total_seconds(), colour))
    return stacked_bar(parts, title="Where the time went", value_format=duration_words)


def render_review_html(
    review: Review, result: ImpactResult | None, labels: Labels | None, *, generated: str
) -> str:
    """The whole review as one HTML document; the simulated outage is the impact report itself."""
    return _render("review.html", review, result, labels, generated)


def render_review_body(
    review: Review, result: ImpactResult | None, labels: Labels | None, *, generated: str
) -> str:
    """The review alone, one `<article class="report review">` for a page linking both style sheets."""
    return _render("review_body.html", review, result, labels, generated)


def review_css() -> str:
    """The review's own style sheet (beside the impact report's `report_css()`)."""
    return _review_css()


def _render(
    template: str, review: Review, result: ImpactResult | None, labels: Labels | None, generated: str
) -> str:
    impact = render_report(result, labels) if result is not None and labels is not None else ""
    return (
        _environment()
        .get_template(template)
        .render(
            review=review,
            when=lambda at: when(at, review.timezone),
            written=[(heading, getattr(review.written, name)) for name, heading in WRITTEN_HEADINGS],
            phases=Markup(phases_chart(review)),
            impact_report=Markup(impact),
            report_css=Markup(report_css()),
            review_css=Markup(_review_css()),
            generated=generated,
            duration=duration_words,
            money=money_text,
        )
    )


@cache
def _review_css() -> str:
    source, _, _ = _environment().loader.get_source(_environment(), "review.css")  # type: ignore[union-attr]
    return source


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("standby.review", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
