"""The terminal summary and the headline, on a hand-built ImpactResult for the reference plan.

`sample_result()` is also the fixture of the HTML report's tests: three queues,
30-minute intervals from 08:00 to 20:00, the ACD down 10:00-11:00.
"""

from __future__ import annotations

import dataclasses
import io
import re

import pytest
from rich.console import Console

from standby.impact.report import (
    Labels,
    currency_symbol,
    due_minute,
    duration,
    headline,
    lost_value_by_queue,
    money,
    parse_clock,
    queue_figures,
    summary,
)
from standby.impact.results import (
    CentreInterval,
    Cost,
    DayOutcome,
    Estimate,
    Happening,
    ImpactResult,
    QueueInterval,
    Scenario,
    ToleranceBreach,
)
from standby.plan.loading import load_plan_text, reference_plan_text

START, INTERVAL, COUNT = 8 * 60, 30, 24
AT, MINUTES = 10 * 60, 60
# Forecast calls per interval of the reference plan.
FORECAST = {
    "emergency": [
        40,
        44,
        48,
        52,
        50,
        48,
        46,
        44,
        42,
        44,
        46,
        48,
        50,
        52,
        50,
        48,
        46,
        44,
        42,
        40,
        38,
        36,
        34,
        32,
    ],
    "billing": [
        120,
        180,
        240,
        260,
        250,
        230,
        210,
        200,
        190,
        200,
        210,
        220,
        215,
        205,
        190,
        175,
        160,
        150,
        130,
        110,
        90,
        70,
        55,
        40,
    ],
    "moving": [
        20,
        30,
        40,
        45,
        45,
        40,
        38,
        36,
        35,
        36,
        38,
        40,
        40,
        38,
        36,
        34,
        30,
        28,
        25,
        22,
        18,
        15,
        12,
        10,
    ],
}
BASE_SL = {"emergency": 0.93, "billing": 0.84, "moving": 0.86}
RECOVERY = {"emergency": 11 * 60 + 30, "billing": 12 * 60, "moving": 12 * 60 + 30}


def reference_labels() -> Labels:
    return Labels.of(load_plan_text(reference_plan_text()))


def _day(outage: bool) -> tuple[dict[str, tuple[QueueInterval, ...]], tuple[CentreInterval, ...]]:
    queues: dict[str, tuple[QueueInterval, ...]] = {}
    for queue, calls in FORECAST.items():
        rows = []
        for i, offered in enumerate(calls):
            start = START + i * INTERVAL
            down = outage and AT <= start < AT + MINUTES
            after = outage and AT + MINUTES <= start < RECOVERY[queue]
            if queue == "moving" and i == COUNT - 1:
                offered = 0  # nobody called: the service level is None, a gap in the chart
            retries = offered * 0.35 if after else 0.0
            total = offered + retries
            if down:
                rows.append(QueueInterval(start, total, 0, 0, 0, total * 0.9, total * 0.1, 0.0, None, 0, 0))
                continue
            sl = BASE_SL[queue] * (0.55 if after else 1.0)
            answered = total * (0.8 if after else 0.97)
            rows.append(
                QueueInterval(
                    start=start,
                    offered=total,
                    answered=answered,
                    answered_in_target=total * sl,
                    abandoned=total - answered,
                    unreachable=0,
                    deflected=0,
                    service_level=sl if total else None,
                    asa_s=95.0 if after else 6.5,
                    backlog=total * (0.3 if after else 0.02),
                    agents_busy=answered * 0.2,
                )
            )
        queues[queue] = tuple(rows)
    centre = []
    for i in range(COUNT):
        start = START + i * INTERVAL
        down = outage and AT <= start < AT + MINUTES
        centre.append(CentreInterval(start, 122, 0 if down else 122, 122 if down else 0))
    return queues, tuple(centre)


def _outcome(outage: bool) -> DayOutcome:
    queues, centre = _day(outage)
    zero = Estimate.exact(0)
    cost = Cost(
        Estimate(1480, 1480, 1480) if outage else zero,
        Estimate(1640, 1500, 1790) if outage else Estimate(210, 180, 240),
        Estimate(3120, 2950, 3300) if outage else Estimate(210, 180, 240),
    )
    return DayOutcome(
        queues=queues,
        centre=centre,
        customers_affected=Estimate(640, 600, 680) if outage else Estimate(228, 210, 246),
        vulnerable_affected=Estimate(131, 120, 142) if outage else Estimate(28, 25, 31),
        calls_unanswered=Estimate(655, 610, 700) if outage else Estimate(120, 110, 130),
        callbacks_due=Estimate(24, 24, 24),
        callbacks_missed=Estimate(7, 5, 9) if outage else zero,
        cost=cost,
    )


def sample_result(**changes: object) -> ImpactResult:
    """A realistic result for `standby impact reference.yaml --down acd --at 10:00 --minutes 60`."""
    result = ImpactResult(
        organisation="Northwind Energy Customer Care",
        currency="GBP",
        scenario=Scenario(("acd",), AT, MINUTES),
        interval_minutes=INTERVAL,
        replications=20,
        seed=1,
        baseline=_outcome(False),
        outage=_outcome(True),
        customers_affected=Estimate(412, 380, 440),
        vulnerable_affected=Estimate(103, 95, 111),
        calls_unanswered=Estimate(535, 500, 570),
        callbacks_missed=Estimate(7, 5, 9),
        cost=Cost(Estimate(1480, 1480, 1480), Estimate(1640, 1500, 1790), Estimate(3120, 2950, 3300)),
        recovery=dict(RECOVERY),
        breaches=(
            ToleranceBreach("emergency", "max_unanswered_calls", 50, 10 * 60 + 40),
            ToleranceBreach("emergency", "max_outage_minutes", 15, 10 * 60 + 15),
        ),
        happenings=(
            Happening(11 * 60, "11:00 CloudCX routing (ACD) back"),
            Happening(10 * 60 + 15, "10:15 Gas emergency line out for 15 minutes: impact tolerance breached"),
            Happening(
                10 * 60,
                "10:00 CloudCX routing (ACD) down (and with it CloudCX IVR): Gas emergency line, Billing and"
                " payments and Moving home (sales) unreachable; a total outage",
            ),
            Happening(10 * 60, "10:00 outage-message: the outage message cannot play: CloudCX IVR down"),
        ),
    )
    return dataclasses.replace(result, **changes)  # type: ignore[arg-type]


def render(result: ImpactResult, width: int = 160) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(summary(result, reference_labels()))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(text, str)
    return text


def test_headline_reads_aloud_with_names_figures_and_currency():
    line = headline(sample_result(), reference_labels())
    assert line == (
        "An hour without CloudCX routing (ACD) from 10:00: 412 customers affected (95% CI 380\u2013440),"
        " 103 of them vulnerable; 7 callbacks missed; service level back on target at 11:30 (emergency),"
        " 12:00 (billing), 12:30 (moving); the Gas emergency line's 15-minute tolerance is breached at 10:15;"
        " the Gas emergency line's limit of 50 unanswered calls is breached at 10:40;"
        " cost £3,120 (idle wages £1,480, value lost £1,640)"
    )


def test_headline_with_one_replication_has_no_interval_and_names_several_components():
    result = sample_result(
        replications=1,
        customers_affected=Estimate.exact(12),
        callbacks_missed=Estimate.exact(1),
        scenario=Scenario(("acd", "crm"), 9 * 60 + 30, 90),
        breaches=(),
        recovery={"billing": None},
    )
    line = headline(result, reference_labels())
    assert line.startswith(
        "90 minutes without CloudCX routing (ACD) and Customer records (CRM) from 09:30:"
        " 12 customers affected,"
    )
    assert "1 callback missed;" in line
    assert "not by the end of the day (billing)" in line
    assert "tolerance" not in line


def test_currency_symbols():
    assert [currency_symbol(c) for c in ("GBP", "EUR", "USD", "CHF")] == ["£", "€", "$", "CHF"]
    assert money(3120.4, "EUR") == "€3,120"
    assert money(-40, "USD") == "-$40"
    assert money(1200, "CHF") == "CHF 1,200"
    line = headline(sample_result(currency="EUR"), reference_labels())
    assert "cost €3,120 (idle wages €1,480, value lost €1,640)" in line


def test_partner_wages_join_the_cost_when_there_are_any():
    cost = Cost(
        Estimate.exact(1480), Estimate(1640, 1500, 1790), Estimate(3620, 3480, 3770), Estimate.exact(500)
    )
    line = headline(sample_result(cost=cost), reference_labels())
    assert line.endswith("cost £3,620 (idle wages £1,480, value lost £1,640, partner's agents £500)")


def test_times_people_write():
    assert parse_clock("10:00") == 600 and parse_clock(" 7:05 ") == 425 and parse_clock("23:59") == 1439
    for bad in ("24:00", "10am", "10:60", ""):
        with pytest.raises(ValueError, match="not a time of day"):
            parse_clock(bad)
    assert due_minute("10:15", "Europe/London") == 615
    assert due_minute("2026-06-15T09:30:00Z", "Europe/London") == 630  # summer time
    assert due_minute("2026-01-15T09:30:00+00:00", "Europe/London") == 570
    assert due_minute("2026-06-15T10:30:00+02:00", "Europe/London") == 570
    with pytest.raises(ValueError, match="has no offset"):
        due_minute("2026-06-15T10:30:00", "Europe/London")
    with pytest.raises(ValueError, match="is not a time"):
        due_minute("soon", "Europe/London")


def test_durations():
    assert [duration(m) for m in (60, 30, 120, 90, 15, 180)] == [
        "An hour",
        "Half an hour",
        "Two hours",
        "90 minutes",
        "15 minutes",
        "Three hours",
    ]


def test_summary_has_every_queue_breaches_and_happenings_in_time_order():
    text = render(sample_result())
    assert "An hour without CloudCX routing (ACD) from 10:00" in text
    header = text[text.index("The day with the outage (and without it)") :].splitlines()[2]
    assert re.search(r"Gas emergency line .* Billing and payments .* Moving home \(sales\)", header)
    for row in ("calls offered", "abandoned", "unreachable", "deflected", "service level in the outage"):
        assert row in text
    assert re.search(r"calls offered +│ +1,080 \(1,064\) │ +4,244 \(4,100\) │ +779 \(741\) │", text)
    assert re.search(r"back on target +│ +11:30 │ +12:00 │ +12:30 │", text)
    tolerance = text.index("Impact tolerances")
    assert text.index("10:15  The Gas emergency line's 15-minute", tolerance) < text.index(
        "10:40  The Gas", tolerance
    )
    down = text.index("10:00  CloudCX routing (ACD) down (and")
    assert down < text.index("11:00  CloudCX routing (ACD) back")
    assert "10:00 10:00" not in text
    assert "20 simulated days (seed 1)" in text


def test_summary_figures_per_queue():
    figures = {f.queue: f for f in queue_figures(sample_result(), reference_labels())}
    emergency = figures["emergency"]
    # During the outage's two intervals nothing was answered: the window's service level is 0.
    assert emergency.window_service_level[0] == 0
    assert emergency.window_service_level[1] == 0.93
    assert emergency.unreachable[0] > 0 and emergency.unreachable[1] == 0
    assert emergency.target == 0.9 and emergency.recovery == 11 * 60 + 30


def test_no_breach_says_so():
    assert "none breached" in render(sample_result(breaches=()))


def test_lost_value_split_adds_up_and_skips_worthless_queues():
    split = lost_value_by_queue(sample_result(), reference_labels())
    assert set(split) == {"emergency", "billing", "moving"}
    assert split["emergency"] == 0  # value_per_call 0 in the reference plan
    assert abs(sum(split.values()) - 1640) < 1e-6
    assert split["moving"] > 0 and split["billing"] > 0


def test_labels_fall_back_to_ids():
    labels = Labels()
    assert labels.queue("q") == "q" and labels.component("c") == "c"
    assert headline(sample_result(), labels).startswith("An hour without acd from 10:00")
