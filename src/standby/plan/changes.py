"""What changed between two versions of the plan, section by section, in the centre's words.

Pure: two plans in, the changes out. Records of a list section are matched by their id
(an impact tolerance by its queue), so a queue moved within the file is not a change; a
changed record names each field that changed, nested fields by a dotted path
(`service_level.target`), with its value before and after.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from standby.plan.schema import Plan

MAX_VALUE_CHARS = 80
"""A value longer than this (a forecast of 48 numbers) is shown cut, ending with an ellipsis."""

# (section, singular, plural) in the order the plan file has them.
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("organisation", "organisation", "organisation"),
    ("vendors", "vendor", "vendors"),
    ("components", "component", "components"),
    ("sites", "site", "sites"),
    ("queues", "queue", "queues"),
    ("teams", "team", "teams"),
    ("people", "person", "people"),
    ("rotations", "rotation", "on-call rotations"),
    ("escalation_policies", "escalation policy", "escalation policies"),
    ("stakeholders", "stakeholder group", "stakeholder groups"),
    ("strategies", "strategy", "strategies"),
    ("impact_tolerances", "impact tolerance", "impact tolerances"),
    ("drills", "drills", "drills"),
    ("compensation", "compensation rule", "compensation rules"),
    ("maintenance", "maintenance window", "maintenance windows"),
    ("readiness", "home readiness", "home readiness"),
)


@dataclass(frozen=True)
class Record:
    """A record of a section: its key (id) and what people call it."""

    key: str
    name: str

    def text(self) -> str:
        """'Billing and payments (billing)', or the key alone when it has no other name."""
        return self.key if not self.name or self.name == self.key else f"{self.name} ({self.key})"


@dataclass(frozen=True)
class FieldChange:
    """One field of a record, its value before and after (shown as text; '' when absent)."""

    field: str
    before: str
    after: str

    def text(self) -> str:
        """'aht_s from 240 to 300', 'vendor set to ...', 'version removed (was 4.2)'."""
        if not self.before:
            return f"{self.field} set to {self.after}"
        if not self.after:
            return f"{self.field} removed (was {self.before})"
        return f"{self.field} from {self.before} to {self.after}"


@dataclass(frozen=True)
class RecordChange:
    """A record present in both versions whose fields differ."""

    record: Record
    fields: tuple[FieldChange, ...]


@dataclass(frozen=True)
class SectionChanges:
    """What was added to, removed from and changed in one section of the plan."""

    section: str
    singular: str
    plural: str
    added: tuple[Record, ...]
    removed: tuple[Record, ...]
    changed: tuple[RecordChange, ...]

    def summary(self) -> str:
        """'2 queues added, 1 changed', in a few words."""
        parts = [
            f"{len(items)} {word}"
            for items, word in ((self.added, "added"), (self.removed, "removed"), (self.changed, "changed"))
            if items
        ]
        return f"{self.plural[:1].upper()}{self.plural[1:]}: {', '.join(parts)}"


@dataclass(frozen=True)
class PlanChanges:
    """Every section that changed, in the plan file's order; none when the plans are the same."""

    sections: tuple[SectionChanges, ...]

    @property
    def unchanged(self) -> bool:
        """Whether nothing a plan says differs (the texts may still: comments, order, spacing)."""
        return not self.sections

    def sentences(self) -> list[str]:
        """Every change as one sentence: 'Queue Billing (billing) changed: aht_s from 240 to 300.'"""
        said: list[str] = []
        for s in self.sections:
            said += [f"{s.singular.capitalize()} {r.text()} added." for r in s.added]
            said += [f"{s.singular.capitalize()} {r.text()} removed." for r in s.removed]
            for c in s.changed:
                what = "; ".join(f.text() for f in c.fields)
                subject = s.singular.capitalize()
                if c.record.key:
                    subject += f" {c.record.text()}"
                said.append(f"{subject} changed: {what}.")
        return said


def plan_changes(before: Plan, after: Plan) -> PlanChanges:
    """What changed from `before` to `after`, section by section."""
    old = before.model_dump(mode="json", by_alias=True)
    new = after.model_dump(mode="json", by_alias=True)
    sections: list[SectionChanges] = []
    for section, singular, plural in SECTIONS:
        found = _section(section, singular, plural, old.get(section), new.get(section))
        if found.added or found.removed or found.changed:
            sections.append(found)
    return PlanChanges(tuple(sections))


def _section(section: str, singular: str, plural: str, old: Any, new: Any) -> SectionChanges:
    if not isinstance(old, list) or not isinstance(new, list):
        # A single record (the organisation, the drills): only ever changed.
        fields = tuple(_fields(_mapping(old), _mapping(new)))
        whole = (RecordChange(Record("", ""), fields),) if fields else ()
        return SectionChanges(section, singular, plural, (), (), whole)
    before = _keyed(old)
    after = _keyed(new)
    added = tuple(after[k][0] for k in after if k not in before)
    removed = tuple(before[k][0] for k in before if k not in after)
    changed: list[RecordChange] = []
    for key, (record, body) in after.items():
        if key in before:
            fields = tuple(_fields(before[key][1], body))
            if fields:
                changed.append(RecordChange(record, fields))
    return SectionChanges(section, singular, plural, added, removed, tuple(changed))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _keyed(items: list[Any]) -> dict[str, tuple[Record, Mapping[str, Any]]]:
    """Records by key: `id`, else `queue` (impact tolerances), else their place in the list."""
    keyed: dict[str, tuple[Record, Mapping[str, Any]]] = {}
    for index, item in enumerate(items):
        body = _mapping(item)
        key = body.get("id") or body.get("queue") or f"#{index + 1}"
        name = body.get("name")
        keyed[str(key)] = (Record(str(key), str(name) if isinstance(name, str) else ""), body)
    return keyed


def _fields(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> Iterator[FieldChange]:
    for name in [*old, *(k for k in new if k not in old)]:
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        path = f"{prefix}{name}"
        if isinstance(a, dict) and isinstance(b, dict):
            yield from _fields(a, b, f"{path}.")
        else:
            yield FieldChange(path, _shown(a), _shown(b))


def _shown(value: Any) -> str:
    """A value as a person reads it: plain scalars, lists joined by commas, the rest as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str | int | float):
        text = _scalar(value)
    elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        text = ", ".join(_scalar(v) for v in value) if value else "none"
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "\u2026"


def _scalar(value: str | int | float) -> str:
    # 420.0 seconds is written 420 in the plan: say it the way it was written.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
