"""Malformed and hostile plans get one clear problem, never a traceback or a hang."""

from __future__ import annotations

import os

import pytest

from standby.errors import PlanInvalid
from standby.plan.loading import load_plan_file, load_plan_text

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def problem_of(content: str | bytes) -> str:
    with pytest.raises(PlanInvalid) as caught:
        load_plan_text(content)
    problems = caught.value.problems
    assert len(problems) >= 1
    return problems[0].message


def test_anchors_that_expand_without_end_are_refused():
    assert "expands to more than" in problem_of(BILLION_LAUGHS)


def test_a_ten_megabyte_file_is_refused_before_reading(tmp_path):
    big = tmp_path / "plan.yaml"
    with big.open("wb") as handle:
        handle.write(b"organisation: {name: x}\n")
        handle.write(b"# padding\n" * 1_048_576)
    with pytest.raises(PlanInvalid) as caught:
        load_plan_file(big)
    assert "a plan may be at most 5 MB" in caught.value.problems[0].message
    assert "a plan may be at most 5 MB" in problem_of(big.read_bytes())


@pytest.mark.parametrize(
    "content",
    [
        os.urandom(4096),
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
        b"organisation:\n  name: \xff\xfe\n",
    ],
    ids=["random", "png", "latin1"],
)
def test_binary_content_is_refused(content):
    message = problem_of(content)
    assert "binary" in message or "broken YAML" in message or "not UTF-8" in message


def test_nul_byte_in_text():
    assert "NUL" in problem_of("organisation:\n  name: a\x00b\n")


@pytest.mark.parametrize("opener", ["[", "{a: "])
def test_nesting_without_end(opener):
    message = problem_of(opener * 20_000)
    assert "nested" in message or "broken YAML" in message


def test_deep_but_parseable_nesting_is_refused_clearly():
    assert "nested more than" in problem_of("organisation: " + "[" * 60 + "]" * 60 + "\n")


def test_python_object_tags_are_refused():
    message = problem_of("organisation: !!python/object/apply:os.system ['echo hacked']\n")
    assert "unsupported YAML tag" in message


def test_duplicate_keys_are_refused_not_silently_overwritten():
    with pytest.raises(PlanInvalid) as caught:
        load_plan_text("organisation:\n  name: a\n  name: b\n")
    problem = caught.value.problems[0]
    assert (problem.line, problem.column) == (3, 3)
    assert "duplicate key 'name': it is already given at line 2" in problem.message


@pytest.mark.parametrize("content", ["", "   \n", "# only a comment\n"])
def test_empty_plan(content):
    assert problem_of(content) == "the plan is empty"


def test_scalar_plan():
    assert "a plan is a mapping" in problem_of("just words\n")


def test_merge_keys_work_as_yaml_intends():
    plan = load_plan_text(
        """\
organisation: {name: Merged}
x-site: &site {kind: office, seats: 10}
sites:
  - {<<: *site, id: a, name: A}
  - {<<: *site, id: b, name: B, seats: 20}
""".replace("x-site: &site {kind: office, seats: 10}\n", "").replace(
            "sites:\n", "sites:\n  - &site {id: base, name: Base, kind: office, seats: 10}\n"
        )
    )
    assert [(s.id, s.seats) for s in plan.sites] == [("base", 10), ("a", 10), ("b", 20)]


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(PlanInvalid) as caught:
        load_plan_file(tmp_path / "nope.yaml")
    assert "cannot read the plan" in caught.value.problems[0].message
    with pytest.raises(PlanInvalid) as caught:
        load_plan_file(tmp_path)
    assert "directory" in caught.value.problems[0].message
