"""The incident room's "Forecast" section: every option for each length, the one recommended, and a
chart of the breach countdown per option.

It reads the latest forecast the forecaster kept (`forecast.service.latest`, as the API does) and
shapes it for the template; the chart is an SVG drawn here, on the server (no script, no inline
style: the page's CSS colours it by class).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from standby.forecast.service import latest
from standby.impact.report import money
from standby.plan.fields import format_clock_time
from standby.plan.schema import Plan

CHART_MINUTES = 120
"""The countdown chart runs from now to this many minutes ahead."""
ROW = 26
LABEL_WIDTH = 150
BAR_WIDTH = 210


def _minute(clock: str | None) -> int | None:
    if not clock:
        return None
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _between(low: str | None, high: str | None) -> str:
    """The 95% interval of a breach time, as the table shows it after the time."""
    if low == high:
        return ""
    return f" ({low or 'now'} to {high or 'maybe never'})"


def _cell(outlook: dict[str, Any], currency: str) -> dict[str, Any]:
    breaches = int(outlook["breaches"])
    between = outlook.get("first_breach_between") or {}
    return {
        "cost": money(float(outlook["cost"]["mean"]), currency),
        "customers": round(float(outlook["customers_affected"]["mean"])),
        "breaches": breaches,
        "first": outlook["first_breach_at"],
        "between": _between(between.get("low"), between.get("high")) if breaches else "",
        "may": outlook.get("may_breach_from"),
        "tone": "down" if breaches else ("degraded" if outlook.get("may_breach_from") else "up"),
    }


def _countdown(rows: list[dict[str, Any]], now: int) -> dict[str, Any]:
    """The chart's bars: minutes from now to each option's first breach (full length when kept)."""
    scale = BAR_WIDTH / CHART_MINUTES
    bars = []
    for n, row in enumerate(rows):
        first = _minute(row["judged"]["first"])
        left = None if first is None else max(0, first - now)
        length = CHART_MINUTES if left is None else min(left, CHART_MINUTES)
        if first is None:
            text = "kept"
        elif left == 0:
            text = f"breached {row['judged']['first']}"
        else:
            text = f"{row['judged']['first']}, in {left} min"
        width = max(2, round(length * scale))
        inside = width >= 110  # the words fit on the bar; else they follow it
        bars.append(
            {
                "y": n * ROW + 4,
                "text_y": n * ROW + 17,
                "label": row["label"][:24],
                "width": width,
                "tone": "kept" if first is None else "breach",
                "text": text,
                "text_x": LABEL_WIDTH + (6 if inside else width + 4),
                "text_tone": "in" if inside else "out",
                "recommended": row["recommended"],
            }
        )
    ticks = [{"x": LABEL_WIDTH + round(m * scale), "text": f"+{m}"} for m in range(0, CHART_MINUTES + 1, 30)]
    height = len(rows) * ROW + 22
    return {
        "bars": bars,
        "ticks": ticks,
        "x": LABEL_WIDTH,
        "width": LABEL_WIDTH + BAR_WIDTH + 10,
        "height": height,
        "axis_y": len(rows) * ROW + 2,
        "tick_y": len(rows) * ROW + 16,
    }


def forecast_section(session: Session, *, incident_id: int, plan: Plan | None) -> dict[str, Any]:
    """What the room's forecast section shows: the table, the chart, the advice, the estimate."""
    found = latest(session, incident_id=incident_id)
    data = found.data or {}
    base: dict[str, Any] = {
        "estimate": found.estimate_minutes,
        "reason": data.get("reason"),
        "rows": [],
        "lengths": [],
    }
    if not data.get("options"):
        pending = "The first forecast is being made: it is ready within seconds."
        return {**base, "as_of": None, "reason": data.get("reason") or pending}
    currency = str(data.get("currency") or (plan.organisation.currency if plan is not None else "GBP"))
    lengths = list(data["options"][0]["lasting"])
    judged = str(data.get("estimate_weighed") or ("60" if "60" in lengths else lengths[0]))
    rows = []
    for option in data["options"]:
        names = option.get("names") or []
        rows.append(
            {
                "id": option["id"],
                "label": " + ".join(names) if names else "Nothing more",
                "recommended": option["id"] == data.get("recommended"),
                "cells": [_cell(option["lasting"][n], currency) for n in lengths],
                "judged": _cell(option["lasting"][judged], currency),
            }
        )
    as_of = data.get("as_of")
    shown = format_clock_time(_minute(str(data.get("now"))) or 0) if as_of else None
    return {
        **base,
        "as_of": shown,
        "lengths": lengths,
        "judged": judged,
        "rows": rows,
        "recommended": next((r["label"] for r in rows if r["recommended"]), None),
        "chart": _countdown(rows, _minute(str(data.get("now"))) or 0),
        "running": len(data.get("running") or []),
    }
