"""The SVG charts: scales, ticks, gaps, escaping, and well-formed SVG whatever the data."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from standby.impact.charts import (
    Band,
    BarPart,
    Rule,
    Scale,
    Series,
    line_chart,
    nice_ticks,
    path_data,
    percent,
    stacked_bar,
    time_ticks,
)

SVG = "{http://www.w3.org/2000/svg}"
DAY = (480.0, 1200.0)


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox")
    return root


def numbers_in(svg: str) -> list[str]:
    """Every coordinate-like attribute value, to check none is NaN or infinite."""
    return re.findall(r'(?:x|y|x1|x2|y1|y2|width|height|d|points)="([^"]*)"', svg)


def test_nice_ticks_are_round_and_cover_the_range():
    assert nice_ticks(0, 1, 4) == [0, 0.25, 0.5, 0.75, 1]
    assert nice_ticks(0, 87, 4) == [0, 25, 50, 75, 100]
    assert nice_ticks(0, 3, 4) == [0, 1, 2, 3]
    assert nice_ticks(-3, 7, 5) == [-4, -2, 0, 2, 4, 6, 8]
    assert nice_ticks(0.1, 0.3, 2) == [0.1, 0.2, 0.3]  # no 0.30000000000000004


@pytest.mark.parametrize(("low", "high"), [(0, 0), (5, 5), (-2, -2)])
def test_nice_ticks_open_a_flat_range(low, high):
    ticks = nice_ticks(low, high)
    assert len(ticks) >= 2 and ticks[0] <= low and ticks[-1] >= high and ticks[-1] > ticks[0]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nice_ticks_refuse_non_finite_bounds(bad):
    with pytest.raises(ValueError, match="finite"):
        nice_ticks(0, bad)


@given(
    st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False),
    st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False),
    st.integers(1, 10),
)
def test_nice_ticks_property(low, high, count):
    ticks = nice_ticks(low, high, count)
    assert all(math.isfinite(t) for t in ticks)
    assert ticks == sorted(ticks) and len(set(ticks)) == len(ticks)
    slack = 1e-9 * max(1.0, abs(low), abs(high))  # rounding noise, invisible on any axis
    assert ticks[0] <= min(low, high) + slack
    assert ticks[-1] >= max(low, high) - slack
    assert 2 <= len(ticks) <= 4 * count + 3


def test_time_ticks_fall_on_whole_hours():
    assert time_ticks(*DAY) == [480, 600, 720, 840, 960, 1080, 1200]
    assert time_ticks(600, 720) == [600, 630, 660, 690, 720]
    assert time_ticks(0, 1440) == [0, 180, 360, 540, 720, 900, 1080, 1260, 1440]
    assert time_ticks(485, 1195)[0] == 600


def test_scale_maps_and_inverts_and_survives_an_empty_domain():
    y = Scale((0, 1), (200, 20))
    assert y(0) == 200 and y(1) == 20 and y(0.5) == 110
    assert Scale((3, 3), (0, 100))(3) == 50


def test_path_data_breaks_at_gaps_and_never_writes_nan():
    x, y = Scale((0, 10), (0, 100)), Scale((0, 1), (100, 0))
    data = path_data([(0, 0.5), (1, None), (2, math.nan), (3, 0.2), (4, math.inf), (5, 1.0), (6, 0.0)], x, y)
    assert data == "M0,50 M30,80 M50,0 L60,100"
    assert path_data([(0, None), (1, None)], x, y) == ""


def test_line_chart_is_wellformed_with_axes_band_rule_and_legend():
    points = [(480.0 + 30 * i, 0.9 if i != 5 else None) for i in range(25)]
    svg = line_chart(
        [Series("with the outage", points, "#c62828"), Series("baseline", points, "#777", dashed=True)],
        title="Billing: service level",
        x_domain=DAY,
        y_domain=(0, 1),
        y_format=percent,
        bands=[Band(600, 660, "outage 10:00-11:00")],
        rules=[Rule(0.8, "target 80%")],
    )
    root = parse(svg)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert root.find(f"{SVG}title").text == "Billing: service level"  # type: ignore[union-attr]
    assert {"with the outage", "baseline", "target 80%", "outage 10:00-11:00"} <= set(texts)
    assert {"0%", "50%", "100%", "08:00", "12:00", "20:00"} <= set(texts)
    paths = root.findall(f"{SVG}path")
    assert len(paths) == 2
    assert paths[0].get("d", "").count("M") == 2  # the None is a gap
    assert paths[1].get("stroke-dasharray")
    assert any(line.get("stroke-dasharray") == "6 4" for line in root.iter(f"{SVG}line"))  # the target
    assert root.find(f"{SVG}rect") is not None  # the outage band
    for value in numbers_in(svg):
        assert "nan" not in value.lower() and "inf" not in value.lower()


def test_line_chart_without_data_or_with_hostile_labels_is_still_valid():
    svg = line_chart(
        [Series('<script>alert("x")</script> & co', [(500, None), (530, math.nan)], "#000", area=True)],
        title="Nothing <here>",
        x_domain=DAY,
    )
    root = parse(svg)
    assert "<script>" not in svg
    assert any("<script>" in (t.text or "") for t in root.iter(f"{SVG}text"))  # escaped, then read back
    assert root.findall(f"{SVG}path") == [] and root.findall(f"{SVG}polygon") == []


def test_line_chart_auto_axis_covers_the_data_and_areas_close_on_zero():
    svg = line_chart(
        [Series("calls waiting", [(500, 3), (530, 87.5), (560, 12)], "#c62828", area=True)],
        title="Backlog",
        x_domain=DAY,
    )
    root = parse(svg)
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "100" in labels and "0" in labels
    polygon = root.find(f"{SVG}polygon")
    assert polygon is not None
    ys = [float(p.split(",")[1]) for p in polygon.get("points", "").split()]
    assert ys[0] == ys[-1] == max(ys)  # both ends on the zero line, the bottom of the plot


def test_line_chart_refuses_an_empty_day():
    with pytest.raises(ValueError, match="x domain"):
        line_chart([], title="t", x_domain=(600, 600))


def test_stacked_bar_splits_in_proportion_and_lists_savings():
    svg = stacked_bar(
        [
            BarPart("idle wages", 300, "#b45309"),
            BarPart("billing", 100, "#2456c8"),
            BarPart("moving", -20, "#555"),
        ],
        title="Cost",
        value_format=lambda v: f"£{v:,.0f}",
        width=440,
    )
    root = parse(svg)
    segments = [r for r in root.findall(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    widths = [float(r.get("width", "0")) for r in segments]
    assert len(segments) == 2 and widths[0] == pytest.approx(3 * widths[1], rel=0.01)
    assert sum(widths) == pytest.approx(440 - 24, abs=0.2)
    text = "".join(root.itertext())
    assert "75%" in text and "£300 (75%)" in text and "£-20" in text


def test_stacked_bar_with_nothing_positive_is_an_empty_outline():
    root = parse(stacked_bar([BarPart("idle wages", 0, "#b45309")], title="No cost"))
    assert [r for r in root.findall(f"{SVG}rect") if r.find(f"{SVG}title") is not None] == []


def test_counts_get_whole_ticks_even_when_nothing_happens():
    svg = line_chart(
        [Series("calls waiting", [(500, 0.0), (530, 0.0)], "#c62828")],
        title="Backlog",
        x_domain=DAY,
        whole_numbers=True,
    )
    labels = {t.text for t in parse(svg).iter(f"{SVG}text")}
    assert {"0", "1", "2", "3", "4"} <= labels and "0.25" not in labels and "0.5" not in labels
