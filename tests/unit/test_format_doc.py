"""The plan-format reference in docs/ is the one the models write, and mentions every field."""

from __future__ import annotations

from pathlib import Path

from standby.plan.format_doc import BEGIN, END, field_reference_markdown, plan_models
from standby.plan.schema import LIST_SECTIONS, SINGLE_SECTIONS, Plan

DOC = Path(__file__).resolve().parents[2] / "docs" / "plan-format.md"


def test_docs_carry_the_generated_field_reference():
    text = DOC.read_text(encoding="utf-8")
    documented = text[text.index(BEGIN) : text.index(END) + len(END)] + "\n"
    assert documented == field_reference_markdown(), (
        "docs/plan-format.md is out of date: regenerate the part between the markers"
        " with `standby schema --markdown`"
    )


def test_every_field_of_every_model_is_documented_with_a_meaning():
    reference = field_reference_markdown()
    for model in plan_models(Plan):
        assert f"### {model.__name__}" in reference, model
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"
            assert f"| `{info.alias or name}` |" in reference


def test_every_section_of_the_plan_is_documented():
    reference = field_reference_markdown()
    for section in [*LIST_SECTIONS, *SINGLE_SECTIONS]:
        assert f"| `{section}` |" in reference
