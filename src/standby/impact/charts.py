"""Charts as inline SVG text: line charts with axes and a legend, and a stacked bar.

Pure and deterministic: no files, no clock, no scripts. Every chart is one `<svg>`
element with a `viewBox`, so it scales to the page and prints sharply, and carries a
`<title>` for screen readers. Text from the caller is escaped here. A point whose
value is None, NaN or infinite is a gap in its line, never a broken path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

Point = tuple[float, float | None]
Formatter = Callable[[float], str]

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
INK = "#1b2330"
MUTED = "#5d6878"
GRID = "#e6eaf0"
AXIS = "#9aa5b5"
BAND = "#fbe3e3"
BAND_TEXT = "#a32020"
# Rough width of a character at the 11px legend size: SVG text does not measure itself.
CHAR_WIDTH = 6.2


@dataclass(frozen=True)
class Series:
    """One line: its legend label, (x, y) points in x order, colour and style."""

    label: str
    points: Sequence[Point]
    color: str
    dashed: bool = False
    width: float = 2.0
    area: bool = False


@dataclass(frozen=True)
class Band:
    """A shaded stretch of the x axis, such as the outage window, with a label."""

    start: float
    end: float
    label: str


@dataclass(frozen=True)
class Rule:
    """A horizontal reference line, such as the service-level target, drawn dashed."""

    value: float
    label: str
    color: str = "#1a7f37"


@dataclass(frozen=True)
class BarPart:
    """One part of a stacked bar: what it is, how much, and its colour."""

    label: str
    value: float
    color: str


@dataclass(frozen=True)
class Scale:
    """A linear map from a domain (data) to a range (pixels); a zero-width domain maps to its middle."""

    domain: tuple[float, float]
    range: tuple[float, float]

    def __call__(self, value: float) -> float:
        """The pixel position of `value`."""
        (d0, d1), (r0, r1) = self.domain, self.range
        if d1 == d0:
            return (r0 + r1) / 2
        return r0 + (value - d0) * (r1 - r0) / (d1 - d0)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering low..high."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"ticks need finite bounds, got {low!r} and {high!r}")
    if high < low:
        low, high = high, low
    scale = max(abs(low), abs(high), 1.0)
    if high - low <= scale * 1e-12:
        # A flat series (or one flat but for rounding) still needs an axis: open one above it.
        high = low + scale
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = magnitude
    for multiple in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = multiple * magnitude
        if step >= raw * (1 - 1e-12):
            break
    first = math.floor(low / step) * step
    last = math.ceil(high / step) * step
    # A bound a rounding error away from a tick (0.30000000000000004 for 0.3) sits on it.
    if low - first >= step * (1 - 1e-12):
        first += step
    if last - high >= step * (1 - 1e-12):
        last -= step
    n = round((last - first) / step)
    # Rounding keeps 0.30000000000000004 out of the labels.
    return [_tidy(first + i * step, step) for i in range(n + 1)]


def time_ticks(start: float, end: float, most: int = 9) -> list[int]:
    """Times of day (minutes) on whole half hours or hours, at most `most` of them, within start..end."""
    span = max(end - start, 1.0)
    step = 720
    for candidate in (30, 60, 120, 180, 240, 360):
        if span / candidate <= most - 1:
            step = candidate
            break
    first = math.ceil(start / step) * step
    return list(range(int(first), int(end) + 1, step))


def clock(minutes: float) -> str:
    """Minutes since midnight as HH:MM."""
    whole = round(minutes)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def percent(value: float) -> str:
    """A share as a whole percentage."""
    return f"{value * 100:.0f}%"


def plain_number(value: float) -> str:
    """A tick value without needless decimals, with thousands separators."""
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}"
    return f"{value:,.1f}" if abs(value) >= 1 else f"{value:.2g}"


def path_data(points: Sequence[Point], x: Scale, y: Scale) -> str:
    """SVG path data for `points`: a new subpath after every gap (None, NaN or infinite)."""
    parts: list[str] = []
    pen_down = False
    for px, py in points:
        if py is None or not math.isfinite(py) or not math.isfinite(px):
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{_n(x(px))},{_n(y(py))}")
        pen_down = True
    return " ".join(parts)


def runs(points: Sequence[Point]) -> list[list[tuple[float, float]]]:
    """The stretches of `points` without gaps, each as finite (x, y) pairs."""
    stretches: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for px, py in points:
        if py is None or not math.isfinite(py) or not math.isfinite(px):
            if current:
                stretches.append(current)
            current = []
            continue
        current.append((px, py))
    if current:
        stretches.append(current)
    return stretches


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_domain: tuple[float, float],
    y_domain: tuple[float, float] | None = None,
    x_ticks: Sequence[float] | None = None,
    x_format: Formatter = clock,
    y_format: Formatter = plain_number,
    y_label: str = "",
    bands: Sequence[Band] = (),
    rules: Sequence[Rule] = (),
    whole_numbers: bool = False,
    width: int = 640,
    height: int = 240,
) -> str:
    """A line chart as an `<svg>` element: gridlines, labelled axes, shaded bands, dashed rules, legend.

    Without `y_domain` the y axis runs from zero (or the lowest value, if negative) to a
    round number above the highest value and rule; with `whole_numbers` (counts) it spans
    at least 4, so its ticks are whole. The legend lists series then rules.
    """
    if x_domain[1] <= x_domain[0] or not all(math.isfinite(v) for v in x_domain):
        raise ValueError(f"the x domain must be finite and increasing, got {x_domain!r}")
    ticks_y = _y_ticks(series, rules, y_domain, whole_numbers)
    legend_rows = _legend_rows(
        [(s.label, s.color, s.dashed) for s in series] + [(r.label, r.color, True) for r in rules],
        width - 24,
    )
    left, right = 10 + _label_width(ticks_y, y_format), 14
    top, bottom = 14 + 18 * len(legend_rows) + (24 if y_label else 12), 26
    x = Scale(x_domain, (left, width - right))
    y = Scale((ticks_y[0], ticks_y[-1]), (height - bottom, top))
    out: list[str] = [_open_svg(width, height, title)]
    for row_index, row in enumerate(legend_rows):
        out.append(_legend(row, 12, 16 + 18 * row_index))
    for band in bands:
        x0, x1 = x(max(band.start, x_domain[0])), x(min(band.end, x_domain[1]))
        if x1 > x0:
            out.append(
                f'<rect x="{_n(x0)}" y="{_n(top)}" width="{_n(x1 - x0)}" height="{_n(height - bottom - top)}"'
                f' fill="{BAND}"/>'
                f'<text x="{_n(x0)}" y="{_n(top - 5)}" font-size="10" fill="{BAND_TEXT}"'
                f' font-weight="600">{escape(band.label)}</text>'
            )
    for tick in ticks_y:
        ty = y(tick)
        out.append(
            f'<line x1="{_n(left)}" x2="{_n(width - right)}" y1="{_n(ty)}" y2="{_n(ty)}" stroke="{GRID}"/>'
            f'<text x="{_n(left - 6)}" y="{_n(ty + 3.5)}" font-size="10.5" fill="{MUTED}"'
            f' text-anchor="end">{escape(y_format(tick))}</text>'
        )
    if y_label:
        out.append(f'<text x="4" y="{_n(top - 17)}" font-size="10" fill="{MUTED}">{escape(y_label)}</text>')
    base = height - bottom
    out.append(
        f'<line x1="{_n(left)}" x2="{_n(width - right)}" y1="{_n(base)}" y2="{_n(base)}" stroke="{AXIS}"/>'
    )
    for tick in x_ticks if x_ticks is not None else time_ticks(*x_domain):
        if not x_domain[0] <= tick <= x_domain[1]:
            continue
        tx = x(tick)
        out.append(
            f'<line x1="{_n(tx)}" x2="{_n(tx)}" y1="{_n(base)}" y2="{_n(base + 4)}" stroke="{AXIS}"/>'
            f'<text x="{_n(tx)}" y="{_n(base + 16)}" font-size="10.5" fill="{MUTED}"'
            f' text-anchor="middle">{escape(x_format(tick))}</text>'
        )
    for rule in rules:
        ry = y(rule.value)
        out.append(
            f'<line x1="{_n(left)}" x2="{_n(width - right)}" y1="{_n(ry)}" y2="{_n(ry)}"'
            f' stroke="{rule.color}" stroke-width="1.4" stroke-dasharray="6 4"/>'
        )
    floor = y(max(ticks_y[0], 0.0))
    for line in series:
        if line.area:
            for stretch in runs(line.points):
                corners = [
                    (x(stretch[0][0]), floor),
                    *((x(a), y(b)) for a, b in stretch),
                    (x(stretch[-1][0]), floor),
                ]
                out.append(
                    f'<polygon points="{" ".join(f"{_n(a)},{_n(b)}" for a, b in corners)}"'
                    f' fill="{line.color}" fill-opacity="0.14" stroke="none"/>'
                )
        data = path_data(line.points, x, y)
        if data:
            dash = ' stroke-dasharray="5 4"' if line.dashed else ""
            out.append(
                f'<path d="{data}" fill="none" stroke="{line.color}" stroke-width="{_n(line.width)}"'
                f' stroke-linejoin="round" stroke-linecap="round"{dash}/>'
            )
    out.append("</svg>")
    return "".join(out)


def stacked_bar(
    parts: Sequence[BarPart],
    *,
    title: str,
    value_format: Formatter = plain_number,
    width: int = 640,
) -> str:
    """One horizontal bar split into `parts` in proportion, with a legend of values and shares.

    Only positive parts take room in the bar; a zero or negative part (a saving) is listed
    in the legend with its value. With nothing positive the bar is an empty outline.
    """
    positive = [p for p in parts if math.isfinite(p.value) and p.value > 0]
    total = sum(p.value for p in positive)
    left, bar_top, bar_height = 12, 10, 30
    inner = width - 2 * left
    rows = max(1, math.ceil(len(parts) / 2))
    height = bar_top + bar_height + 16 + rows * 20 + 6
    out = [_open_svg(width, height, title)]
    out.append(
        f'<rect x="{left}" y="{bar_top}" width="{inner}" height="{bar_height}" rx="4" fill="#f3f5f8"'
        f' stroke="{GRID}"/>'
    )
    offset = float(left)
    for part in positive:
        share = part.value / total
        span = inner * share
        out.append(
            f'<rect x="{_n(offset)}" y="{bar_top}" width="{_n(span)}" height="{bar_height}"'
            f' fill="{part.color}"><title>{escape(part.label)}:'
            f" {escape(value_format(part.value))}</title></rect>"
        )
        caption = f"{share * 100:.0f}%"
        if span > len(caption) * CHAR_WIDTH + 8:
            out.append(
                f'<text x="{_n(offset + span / 2)}" y="{bar_top + 19}" font-size="11" font-weight="600"'
                f' fill="#fff" text-anchor="middle">{caption}</text>'
            )
        offset += span
    column = inner / 2
    for index, part in enumerate(parts):
        lx = left + (index % 2) * column
        ly = bar_top + bar_height + 20 + (index // 2) * 20
        share_text = (
            f" ({part.value / total * 100:.0f}%)"
            if total > 0 and part.value > 0 and math.isfinite(part.value)
            else ""
        )
        out.append(
            f'<rect x="{_n(lx)}" y="{_n(ly - 9)}" width="11" height="11" rx="2" fill="{part.color}"/>'
            f'<text x="{_n(lx + 17)}" y="{_n(ly)}" font-size="11.5" fill="{INK}">{escape(part.label)}'
            f'<tspan fill="{MUTED}"> · {escape(value_format(part.value))}{share_text}</tspan></text>'
        )
    out.append("</svg>")
    return "".join(out)


def _open_svg(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}"'
        f' height="{height}" role="img" font-family="{FONT}" class="chart">'
        f"<title>{escape(title)}</title>"
    )


def _y_ticks(
    series: Sequence[Series], rules: Sequence[Rule], fixed: tuple[float, float] | None, whole: bool
) -> list[float]:
    if fixed is not None:
        return nice_ticks(fixed[0], fixed[1], 4)
    values = [py for s in series for _, py in s.points if py is not None and math.isfinite(py)]
    values += [r.value for r in rules if math.isfinite(r.value)]
    low = min([0.0, *values])
    high = max([0.0, *values])
    if whole:
        # Counts of calls or people: an axis of 0.25 calls says nothing, so at least 0 to 4.
        high = max(high, low + 4.0)
    return nice_ticks(low, high if high > low else low + 1.0, 4)


def _label_width(ticks: Sequence[float], fmt: Formatter) -> float:
    return max(len(fmt(t)) for t in ticks) * CHAR_WIDTH + 6


def _legend_rows(items: Sequence[tuple[str, str, bool]], room: float) -> list[list[tuple[str, str, bool]]]:
    rows: list[list[tuple[str, str, bool]]] = [[]]
    used = 0.0
    for item in items:
        need = 28 + len(item[0]) * CHAR_WIDTH + 16
        if rows[-1] and used + need > room:
            rows.append([])
            used = 0.0
        rows[-1].append(item)
        used += need
    return rows if rows[0] else []


def _legend(items: Sequence[tuple[str, str, bool]], x0: float, y0: float) -> str:
    out: list[str] = []
    cursor = x0
    for label, color, dashed in items:
        dash = ' stroke-dasharray="5 3"' if dashed else ""
        out.append(
            f'<line x1="{_n(cursor)}" x2="{_n(cursor + 22)}" y1="{_n(y0 - 4)}" y2="{_n(y0 - 4)}"'
            f' stroke="{color}" stroke-width="2.4"{dash}/>'
            f'<text x="{_n(cursor + 28)}" y="{_n(y0)}" font-size="11" fill="{INK}">{escape(label)}</text>'
        )
        cursor += 28 + len(label) * CHAR_WIDTH + 16
    return "".join(out)


def _n(value: float) -> str:
    """A coordinate with at most one decimal; never NaN (callers filter), never '-0'."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _tidy(value: float, step: float) -> float:
    # A few digits finer than the step: enough to keep every tick distinct.
    tidy = round(value, max(0, 3 - math.floor(math.log10(step))))
    return 0.0 if tidy == 0 else tidy
