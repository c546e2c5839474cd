"""The HTML report on a hand-built result: its figures, its charts, and that it stands alone."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from test_impact_report import reference_labels, sample_result

from standby.impact.html import render_html
from standby.impact.results import Estimate


class Elements(HTMLParser):
    """Every start tag and its attributes, and that the tags close in order."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()


def page(**changes: object) -> str:
    return render_html(
        sample_result(**changes), reference_labels(), plan_source="plan plan.yaml", generated="today"
    )


def test_report_has_the_title_headline_and_figures_with_intervals():
    html = page()
    assert (
        "<title>An hour without CloudCX routing (ACD) from 10:00 · Northwind Energy Customer Care</title>"
        in html
    )
    assert "412 customers affected (95% CI 380\u2013440), 103 of them vulnerable" in html
    assert "cost £3,120 (idle wages £1,480, value lost £1,640)" in html
    assert "95% CI £2,950\u20133,300" in html  # the cost tile
    assert "of 24 due" in html  # callbacks missed, of those due
    assert "plan plan.yaml" in html and "20 simulated days, seed 1" in html


def test_report_lists_every_breach_and_queue_with_its_interval_table():
    html = page()
    assert "the Gas emergency line&#39;s 15-minute tolerance is breached at 10:15" in html
    assert html.count('class="breach"') == 1  # the happening that tells of the breach at 10:15
    for name in ("Gas emergency line", "Billing and payments", "Moving home (sales)"):
        assert html.count(name) >= 4  # card, totals, cost, interval table
    detail = html[html.index('id="detail"') :]
    assert detail.count("<tr class=") == 3 * 24
    assert detail.count('class="in-outage"') == 3 * 2
    assert "back on target at 11:30" in html and "back on target at 12:30" in html


def test_report_is_self_contained():
    html = page()
    parser = Elements()
    parser.feed(html)
    parser.close()
    assert parser.open == []
    for tag, attrs in parser.tags:
        assert tag not in ("script", "link", "img", "iframe", "object", "embed"), tag
        for name in ("src", "href", "xlink:href", "action"):
            assert name not in attrs, f"<{tag} {name}=...>"
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", html)
    assert "url(" not in html and "@import" not in html


def test_report_charts_are_present_and_wellformed():
    html = page()
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.DOTALL)
    # The logo, service level and backlog per queue, agents, cost.
    assert len(svgs) == 1 + 3 * 2 + 2
    titles = []
    for svg in svgs:
        root = ET.fromstring(svg)
        title = root.find("{http://www.w3.org/2000/svg}title")
        titles.append(title.text if title is not None else "")
        assert "nan" not in svg.lower() and "inf" not in re.sub(r"[a-z]inf|inf[a-z]", "", svg.lower())
    assert "Gas emergency line: service level through the day" in titles
    assert "Moving home (sales): calls waiting through the day" in titles
    assert any(t.startswith("Agents through the outage day") for t in titles)
    assert "The outage&#39;s cost, £3,120, broken down" not in titles  # escaped once, not twice
    assert "The outage's cost, £3,120, broken down" in titles


def test_text_from_the_plan_is_escaped():
    html = page(organisation='<script>alert("x")</script>')
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_one_replication_and_no_breach():
    html = page(
        replications=1,
        breaches=(),
        customers_affected=Estimate.exact(3),
        currency="USD",
    )
    assert "No impact tolerance is breached." in html
    assert "1 simulated day, seed 1" in html
    assert "3 customers affected," in html
    assert "cost $3,120" in html
