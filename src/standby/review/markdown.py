"""The review as Markdown, for wikis. Pure: the review in, text out; times in the plan's zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from standby.customers.compensation import money_text
from standby.review.draft import Review
from standby.review.measures import duration_words

WRITTEN_HEADINGS = (
    ("factors", "Contributing factors"),
    ("went_well", "What went well"),
    ("went_wrong", "What went wrong"),
    ("lucky", "Where we were lucky"),
)


def when(at: datetime | None, timezone: str) -> str:
    """A time in the plan's zone to the second, or an em dash."""
    if at is None:
        return "\u2014"
    return at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S %Z")


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(head: tuple[str, ...], rows: list[tuple[object, ...]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _money(amount: dict[str, int] | object, currency: str) -> str:
    if not isinstance(amount, dict):
        return "\u2014"
    return f"{amount.get('count', 0)} ({money_text(int(amount.get('amount_minor', 0)), currency)})"


def render_markdown(review: Review) -> str:
    """The whole review as one Markdown document."""
    tz = review.timezone
    out = [f"# Review of incident {review.incident_id}: {review.title}", ""]
    state = "signed off" if review.state == "reviewed" else ("draft" if review.ready else "not ready")
    out += [f"*{review.severity_text}, {review.classification}; review {state}.*", ""]
    out += ["## Summary", "", review.summary, ""]
    out += ["## Times", ""]
    out += _table(("time", "when", "what it is"), [(t.name, when(t.at, tz), t.meaning) for t in review.times])
    out += ["## Measures", ""]
    out += _table(
        ("measure", "figure", "definition"), [(m.name, m.text, m.definition) for m in review.measures]
    )
    plan = review.plan
    out += ["## The plan", ""]
    if plan.version_id is None:
        out += ["No plan was in force.", ""]
    else:
        out += [f"Version {plan.version_id} was in force (loaded {when(plan.loaded_at, tz)}).", ""]
        if plan.changes_since:
            out += [f"Changed since (version {plan.current_version_id} now):", ""]
            out += [f"- {c}" for c in plan.changes_since] + [""]
        else:
            out += ["It has not changed since.", ""]
    out += _impact(review)
    out += ["## Customers caught", "", review.customers_headline, ""]
    out += _customers(review)
    out += ["## Communications", ""]
    if review.communications:
        out += _table(
            ("group", "deadline", "state", "evidence", "first told", "updates", "all-clear"),
            [
                (
                    c.name,
                    when(c.due_by, tz),
                    c.state or "no deadline",
                    c.reason or "\u2014",
                    when(c.first_told_at, tz),
                    c.updates_sent,
                    when(c.resolved_told_at, tz),
                )
                for c in review.communications
            ],
        )
    else:
        out += ["No stakeholder group was told.", ""]
    out += ["## Strategies", ""]
    if review.strategies:
        out += _table(
            ("strategy", "state", "proposed", "approved", "by", "took"),
            [
                (
                    s.name,
                    s.state,
                    when(s.proposed_at, tz),
                    when(s.decided_at, tz),
                    s.decided_by or "\u2014",
                    duration_words(s.took_s) if s.took_s is not None else "\u2014",
                )
                for s in review.strategies
            ],
        )
    else:
        out += ["No continuity strategy was proposed.", ""]
    for name, heading in WRITTEN_HEADINGS:
        text = getattr(review.written, name)
        out += [f"## {heading}", "", text or "*Not written yet.*", ""]
    out += ["## Actions", ""]
    if review.actions:
        out += _table(
            ("#", "action", "kind", "owner", "due", "state", "about"),
            [
                (
                    a.id,
                    a.title,
                    a.kind,
                    a.owner,
                    when(a.due_at, tz),
                    ("overdue" if a.overdue else a.state) + (f": {a.close_note}" if a.close_note else ""),
                    ", ".join(a.links) or "\u2014",
                )
                for a in review.actions
            ],
        )
    else:
        out += ["No action set yet.", ""]
    out += ["## Timeline", ""]
    out += _table(
        ("when", "kind", "who", "what"), [(when(e.at, tz), e.kind, e.actor, e.text) for e in review.timeline]
    )
    if review.written.signed_off_at is not None:
        out += [
            f"Signed off by {review.written.signed_off_by} at {when(review.written.signed_off_at, tz)}.",
            "",
        ]
    return "\n".join(out)


def _impact(review: Review) -> list[str]:
    impact = review.impact
    out = ["## Impact", ""]
    sim = impact.simulation
    if sim is not None:
        out += [
            f"Simulated as it ran: {', '.join(sim.down)} down at {sim.at} for {sim.minutes} min."
            f" {sim.headline}",
            "",
        ]
        out += [f"- {h}" for h in sim.happenings] + ([""] if sim.happenings else [])
    else:
        out += [f"Not simulated: {impact.not_simulated}.", ""]
    if impact.forecasts:
        out += _table(
            ("as of", "recommended", "why"), [(f.as_of, f.recommended, f.reason) for f in impact.forecasts]
        )
    else:
        out += ["No live forecast was made.", ""]
    if impact.tolerances:
        out += _table(
            ("queue", "tolerance", "verdict"), [(t.queue, t.kind, t.text) for t in impact.tolerances]
        )
    return out


def _customers(review: Review) -> list[str]:
    figures = review.customers
    if not figures:
        return []
    callbacks = figures.get("callbacks", {})
    calls = figures.get("calls", {})
    people = figures.get("customers", {})
    out = _table(
        ("figure", "count"),
        [
            ("customers affected", people.get("affected", 0)),
            ("vulnerable customers", people.get("vulnerable", 0)),
            ("callbacks flagged", callbacks.get("flagged", 0)),
            ("callbacks missed", callbacks.get("missed", 0)),
            ("callbacks rescheduled", callbacks.get("rescheduled", 0)),
            ("callbacks made", callbacks.get("completed", 0)),
            ("calls cut off", calls.get("cut_off", 0)),
            ("calls followed up", calls.get("followed_up", 0)),
        ],
    )
    for totals in figures.get("compensation", []):
        currency = str(totals.get("currency", ""))
        out += _table(
            ("compensation", "count (amount)"),
            [
                (state, _money(totals.get(state), currency))
                for state in ("offered", "accepted", "paid", "total")
            ],
        )
    return out
