"""The form that plans an exercise, read into what the exercise service takes. Pure.

Objectives are typed rows: each row has a kind and every target field (agents, minutes,
group); a row without a kind is left out, and a row keeps only the fields its kind has, so
the form works without a script that hides the others. The service checks the rest (the
plan's groups, the ranges) and says which objective is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from standby.errors import InvalidInput
from standby.web.pages.centre_clock import form_day

ROWS = 4
FIELDS: dict[str, tuple[str, ...]] = {
    "acknowledged_within": ("minutes",),
    "group_told_within": ("group", "minutes"),
    "agents_ready_within": ("agents", "minutes"),
    "tolerances_kept": (),
}
LABELS = {
    "acknowledged_within": "On call acknowledged within (minutes)",
    "group_told_within": "A group told within (group, minutes; blank: its deadline)",
    "agents_ready_within": "Agents told where to work within (agents, minutes)",
    "tolerances_kept": "Every impact tolerance kept",
}


@dataclass
class ObjectiveRow:
    """One row of the form as typed."""

    kind: str = ""
    agents: str = ""
    minutes: str = ""
    group: str = ""


@dataclass
class ExerciseForm:
    """The plan-an-exercise form as typed, kept to show again beside a refusal."""

    title: str = ""
    planned_on: str = ""
    down: list[str] = field(default_factory=list)
    minutes: str = "30"
    tell: list[str] = field(default_factory=list)
    rows: list[ObjectiveRow] = field(default_factory=lambda: [ObjectiveRow() for _ in range(ROWS)])


def form_of(
    *,
    title: str,
    planned_on: str,
    down: Sequence[str],
    minutes: str,
    tell: Sequence[str],
    kinds: Sequence[str],
    agents: Sequence[str],
    row_minutes: Sequence[str],
    groups: Sequence[str],
) -> ExerciseForm:
    """The typed form from its fields (the rows' fields come as parallel lists)."""

    def at(values: Sequence[str], i: int) -> str:
        return values[i].strip() if i < len(values) else ""

    rows = [
        ObjectiveRow(at(kinds, i), at(agents, i), at(row_minutes, i), at(groups, i))
        for i in range(max(ROWS, len(kinds)))
    ]
    return ExerciseForm(title, planned_on.strip(), list(down), minutes.strip(), list(tell), rows)


def _number(text: str, where: str, *, whole: bool) -> float | int:
    try:
        return int(text) if whole else float(text)
    except ValueError:
        what = "a whole number" if whole else "a number of minutes"
        raise InvalidInput(f"{where}: {text!r} is not {what}") from None


def read_form(form: ExerciseForm) -> dict[str, Any]:
    """The fields the exercise service takes; InvalidInput naming the field that is wrong."""
    planned = form_day(form.planned_on, "planned on") if form.planned_on else None
    if not form.minutes:
        raise InvalidInput("scenario minutes: say how long the components stay down")
    objectives: list[dict[str, Any]] = []
    for number, row in enumerate(form.rows, start=1):
        if not row.kind:
            continue
        if row.kind not in FIELDS:
            raise InvalidInput(f"objective {number}: no kind {row.kind!r} (kinds: {', '.join(FIELDS)})")
        where = f"objective {number} ({row.kind})"
        objective: dict[str, Any] = {"kind": row.kind}
        for name in FIELDS[row.kind]:
            value = getattr(row, name)
            if name == "group":
                if not value:
                    raise InvalidInput(f"{where}: choose the group to be told")
                objective["group"] = value
            elif value:
                objective[name] = _number(value, f"{where} {name}", whole=name == "agents")
            elif not (row.kind == "group_told_within" and name == "minutes"):
                raise InvalidInput(f"{where}: give the {name}")
        objectives.append(objective)
    if not objectives:
        raise InvalidInput("objectives: choose the kind of at least one objective")
    return {
        "title": form.title,
        "planned_on": planned,
        "down": form.down,
        "minutes": int(_number(form.minutes, "scenario minutes", whole=True)),
        "tell": form.tell,
        "objectives": objectives,
    }
