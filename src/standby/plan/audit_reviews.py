"""The audit's findings about dates: versions at end of life, and reviews and drills overdue.

Pure: the plan, what Standby recorded beside it (`ReviewLog`) and "today" come in. A
date recorded in Standby and the plan's own date both count: the latest wins.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date

from standby.plan.findings import Finding
from standby.plan.schema import Plan

EOL_WARNING_DAYS = 90
"""End of life this many days ahead or fewer is a medium finding; past it, high."""


@dataclass(frozen=True)
class ReviewLog:
    """What Standby recorded beside the plan: exercises held, plan and vendor reviews.

    The audit counts them with the plan's own dates (`drills.history`,
    `organisation.plan_reviewed`, `contingency_plan_reviewed`): the latest of both wins.
    """

    exercises_held: tuple[date, ...] = ()
    plan_reviews: tuple[date, ...] = ()
    """Days of the signed-off plan reviews."""
    vendor_reviews: Mapping[str, tuple[date, date]] = field(default_factory=dict)
    """Each vendor's latest review: (reviewed on, next due)."""


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later, clamped to the month's end (Aug 31 + 6 = Feb 28/29)."""
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def end_of_life(plan: Plan, today: date) -> Iterator[Finding]:
    """Versions past end of life (high) or reaching it within EOL_WARNING_DAYS (medium)."""
    for component in plan.components:
        if component.end_of_life is None:
            continue
        days_left = (component.end_of_life - today).days
        version = f"version {component.version}" if component.version else "the version"
        who = f"{component.name} ({component.id}) runs {version}"
        details = {"version": component.version, "end_of_life": component.end_of_life.isoformat()}
        if days_left <= 0:
            when = "today" if days_left == 0 else f"on {component.end_of_life} ({_days(-days_left)} ago)"
            yield Finding(
                "high",
                "end-of-life",
                component.id,
                "components",
                f"{who}, whose support ended {when}: upgrade or replace it.",
                details,
            )
        elif days_left <= EOL_WARNING_DAYS:
            yield Finding(
                "medium",
                "end-of-life-soon",
                component.id,
                "components",
                f"{who}, whose support ends on {component.end_of_life} (in {_days(days_left)}):"
                " plan the upgrade now.",
                details,
            )


def _overdue(reviewed: date, every_months: int, today: date) -> tuple[date, int] | None:
    """The due date and the days it is overdue, or None while not yet overdue."""
    due = add_months(reviewed, every_months)
    return (due, (today - due).days) if due < today else None


def vendor_reviews(plan: Plan, today: date, log: ReviewLog | None = None) -> Iterator[Finding]:
    """Vendors whose contingency plan was never reviewed or whose review is overdue."""
    recorded = log.vendor_reviews if log is not None else {}
    for vendor in plan.vendors:
        who = f"{vendor.name} ({vendor.id})"
        found = recorded.get(vendor.id)
        planned = vendor.contingency_plan_reviewed
        if found is not None and (planned is None or found[0] >= planned):
            reviewed, due = found
            if due < today:
                days = (today - due).days
                yield Finding(
                    "medium",
                    "vendor-review-overdue",
                    vendor.id,
                    "vendors",
                    f"The contingency plan of {who} was last reviewed on {reviewed} (recorded in"
                    f" Standby) and was due for review on {due} ({_days(days)} overdue).",
                    {
                        "reviewed": reviewed.isoformat(),
                        "due": due.isoformat(),
                        "days_overdue": days,
                        "review_every_months": vendor.review_every_months,
                        "recorded": True,
                    },
                )
            continue
        if vendor.contingency_plan_reviewed is None:
            yield Finding(
                "medium",
                "vendor-review-overdue",
                vendor.id,
                "vendors",
                f"The contingency plan of {who} has never been reviewed: ask for it and review"
                f" it, then every {vendor.review_every_months} months.",
                {"reviewed": None, "review_every_months": vendor.review_every_months},
            )
            continue
        late = _overdue(vendor.contingency_plan_reviewed, vendor.review_every_months, today)
        if late is not None:
            due, days = late
            yield Finding(
                "medium",
                "vendor-review-overdue",
                vendor.id,
                "vendors",
                f"The contingency plan of {who} was last reviewed on"
                f" {vendor.contingency_plan_reviewed} and was due for review on {due}"
                f" ({_days(days)} overdue).",
                {
                    "reviewed": vendor.contingency_plan_reviewed.isoformat(),
                    "due": due.isoformat(),
                    "days_overdue": days,
                    "review_every_months": vendor.review_every_months,
                },
            )


def plan_review(plan: Plan, today: date, log: ReviewLog | None = None) -> Iterator[Finding]:
    """The plan itself never reviewed, or its review overdue (a signed-off review counts)."""
    org = plan.organisation
    reviewed = max(
        [*(log.plan_reviews if log else ()), *([org.plan_reviewed] if org.plan_reviewed else [])],
        default=None,
    )
    if reviewed is None:
        yield Finding(
            "medium",
            "plan-review-overdue",
            "plan",
            "organisation",
            "The plan has no review date: review it and record the date in"
            f" organisation.plan_reviewed (it is due every {org.review_every_months} months).",
            {"reviewed": None, "review_every_months": org.review_every_months},
        )
        return
    late = _overdue(reviewed, org.review_every_months, today)
    if late is not None:
        due, days = late
        yield Finding(
            "medium",
            "plan-review-overdue",
            "plan",
            "organisation",
            f"The plan was last reviewed on {reviewed} and was due for review on {due}"
            f" ({_days(days)} overdue).",
            {
                "reviewed": reviewed.isoformat(),
                "due": due.isoformat(),
                "days_overdue": days,
                "review_every_months": org.review_every_months,
            },
        )


def drills(plan: Plan, today: date, log: ReviewLog | None = None) -> Iterator[Finding]:
    """No drill ever held, or the next one overdue (every drills.every_months since the latest).

    The plan's `drills.history` and the exercises finished in Standby both count.
    """
    every = plan.drills.every_months
    held = [(d.date, d.kind) for d in plan.drills.history]
    held += [(day, "exercise") for day in (log.exercises_held if log else ())]
    if not held:
        yield Finding(
            "medium",
            "drill-overdue",
            "drills",
            "drills",
            f"No drill has ever been held: the plan asks for one every {every} months.",
            {"last": None, "every_months": every},
        )
        return
    last_date, last_kind = max(held)
    late = _overdue(last_date, every, today)
    if late is not None:
        due, days = late
        yield Finding(
            "medium",
            "drill-overdue",
            "drills",
            "drills",
            f"The last drill ({last_kind}) was on {last_date}; with one every {every} months the"
            f" next was due by {due} ({_days(days)} overdue).",
            {
                "last": last_date.isoformat(),
                "due": due.isoformat(),
                "days_overdue": days,
                "every_months": every,
            },
        )
