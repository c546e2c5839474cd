"""The structured difference between two plans: records added, removed and changed, in words."""

from __future__ import annotations

from typing import Any

import yaml
from _plans import REFERENCE

from standby.plan.changes import MAX_VALUE_CHARS, FieldChange, plan_changes
from standby.plan.schema import Plan


def document() -> dict[str, Any]:
    loaded = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def plan(doc: dict[str, Any]) -> Plan:
    return Plan.model_validate(doc)


def by_id(items: list[dict[str, Any]], key: str) -> dict[str, Any]:
    (found,) = [item for item in items if item.get("id") == key]
    return found


def test_the_same_plan_has_no_changes_even_reordered() -> None:
    doc = document()
    moved = document()
    moved["queues"].reverse()
    changes = plan_changes(plan(doc), plan(moved))
    assert changes.unchanged
    assert changes.sentences() == []


def test_a_changed_queue_names_its_fields_before_and_after() -> None:
    new = document()
    billing = by_id(new["queues"], "billing")
    billing["aht_s"] = 480
    billing["service_level"]["target"] = 0.85
    changes = plan_changes(plan(document()), plan(new))
    (section,) = changes.sections
    assert (section.section, section.summary()) == ("queues", "Queues: 1 changed")
    (changed,) = section.changed
    assert changed.record.text() == "Billing and payments (billing)"
    assert [(f.field, f.before, f.after) for f in changed.fields] == [
        ("service_level.target", "0.8", "0.85"),
        ("aht_s", "420", "480"),
    ]
    assert changes.sentences() == [
        "Queue Billing and payments (billing) changed: service_level.target from 0.8 to 0.85;"
        " aht_s from 420 to 480."
    ]


def test_added_and_removed_records_in_several_sections_in_file_order() -> None:
    new = document()
    new["strategies"] = [s for s in new["strategies"] if s["id"] != "leeds-to-home"]
    new["components"].append({"id": "wfm", "name": "Workforce management", "kind": "other"})
    new["organisation"]["review_every_months"] = 6
    changes = plan_changes(plan(document()), plan(new))
    assert [s.section for s in changes.sections] == ["organisation", "components", "strategies"]
    sentences = changes.sentences()
    assert "Organisation changed: review_every_months from 12 to 6." in sentences
    assert "Component Workforce management (wfm) added." in sentences
    assert any(s.startswith("Strategy ") and s.endswith("(leeds-to-home) removed.") for s in sentences)


def test_a_record_without_an_id_is_matched_by_its_queue_and_long_values_are_cut() -> None:
    new = document()
    new["impact_tolerances"][0]["max_outage_minutes"] = 5
    queue = by_id(new["queues"], "billing")
    queue["forecast"]["calls"] = [c + 1000 for c in queue["forecast"]["calls"]]
    queue.pop("value_per_call")
    changes = plan_changes(plan(document()), plan(new))
    (tolerances,) = [s for s in changes.sections if s.section == "impact_tolerances"]
    assert tolerances.changed[0].record.key == new["impact_tolerances"][0]["queue"]
    assert not tolerances.added and not tolerances.removed
    fields = {f.field: f for f in changes.sections[0].changed[0].fields}
    calls = fields["forecast.calls"]
    assert calls.after.startswith("1120, 1180") and calls.after.endswith("\u2026")
    assert len(calls.after) == MAX_VALUE_CHARS
    assert fields["value_per_call"].text() == "value_per_call from 6.5 to 0"  # its default, once read


def test_a_field_set_or_removed_says_so() -> None:
    assert FieldChange("version", "", "4.2").text() == "version set to 4.2"
    assert FieldChange("version", "4.2", "").text() == "version removed (was 4.2)"
