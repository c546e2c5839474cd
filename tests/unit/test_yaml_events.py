"""Plans without anchors are read from the parser's events: the same values, places and refusals
as the node tree gives, without holding the tree."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from standby.plan.yamlsource import Located, YamlProblem, _Builder, _EventReader, _Loader, read_yaml


def by_tree(text: str) -> Located | str:
    located = Located(data=None)
    try:
        node = yaml.compose(text, Loader=_Loader)
        if node is None:
            return "1:1: the plan is empty"
        located.data = _Builder(located, node).build(node, (), 0)
    except YamlProblem as problem:
        return f"{problem.problem.line}:{problem.problem.column}: {problem.problem.message}"
    except yaml.MarkedYAMLError as error:  # as read_yaml words it
        mark = error.problem_mark or error.context_mark
        assert mark is not None
        return f"{mark.line + 1}:{mark.column + 1}: broken YAML: {error.problem or error.context}"
    except yaml.YAMLError as error:
        return f"yaml: {type(error).__name__}"
    return located


def by_events(text: str, *, positions: bool = True) -> Located | str:
    located = Located(data=None)
    try:
        located.data = _EventReader(located, positions).read(yaml.parse(text, Loader=_Loader))
    except YamlProblem as problem:
        return f"{problem.problem.line}:{problem.problem.column}: {problem.problem.message}"
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        assert mark is not None
        return f"{mark.line + 1}:{mark.column + 1}: broken YAML: {error.problem or error.context}"
    except yaml.YAMLError as error:
        return f"yaml: {type(error).__name__}"
    return located


def same(text: str) -> None:
    tree, events = by_tree(text), by_events(text)
    if isinstance(tree, Located) and isinstance(events, Located):
        assert (events.data, events.values, events.keys) == (tree.data, tree.values, tree.keys)
    else:
        assert events == tree


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    st.sampled_from(["10:00", "2026-11-22", "2026-13-45", "yes", "~", "0x1F", "1_000", ".inf", "<<", "&a"]),
)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(document=documents, flow=st.sampled_from([None, True, False]))
def test_any_document_reads_the_same_both_ways(document: Any, flow: bool | None) -> None:
    same(yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# nothing\n",
        "a: 1\na: 2\n",
        "a:\n  b: 1\n  c: [1, 2]\n  b: 3\n",
        "1: one\n'1': two\n",
        "a: !!python/object:os.system x\n",
        "a: !custom 1\n",
        "a: !!str 10\nb: ! 12\n",
        "? [1, 2]\n: x\n",
        "? {a: 1}\n: x\n",
        "a: *nothing\n",
        "--- 1\n--- 2\n",
        "<<: {a: 1, b: 2}\nb: 3\n",
        "<<: [{a: 1}, {a: 2, c: 3}]\n",
        "<<: 1\n",
        "a: [1, 2\n",
        "a: 'b\n",
        "times: [10:00, 1:30:00, 2026-11-22, 2026-02-30]\nnumbers: [1e3, 0o17, -0x1A, 1_0]\n",
        "- &a 1\n",
        "\ufeffa: 1\n",
        "a:\n" + "".join("  " * i + "- \n" for i in range(1, 60)),
    ],
)
def test_edge_cases_read_the_same_both_ways(text: str) -> None:
    same(text)


def test_without_positions_the_values_are_the_same_and_no_place_is_kept() -> None:
    text = "organisation:\n  name: X\ncomponents:\n  - {id: a, name: A}\n"
    with_places, without = read_yaml(text), read_yaml(text, positions=False)
    assert without.data == with_places.data
    assert (without.values, without.keys) == ({}, {})
    assert with_places.position(("components", 0, "name")) == (4, 19)


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\nb: *x\n",
        "a: &x [1, {b: 2}]\nc: *x\nd: [*x, *x]\n",
        "base: &base {kind: office, seats: 10}\n"
        "sites:\n  - {<<: *base, id: a}\n  - {<<: *base, id: b, seats: 20}\n",
        "one: &one {a: 1}\ntwo: &two {a: 2, b: 2}\nboth: {<<: [*one, *two], c: 3}\n",
        "a: &x 1\nb: &x 2\n",
        "a: *nowhere\n",
        "key: &k name\n*k : value\n",
        "a: &s !!str 10\nb: *s\n",
        "name: R&D\n",
    ],
)
def test_anchors_read_the_same_values_from_the_events(text: str) -> None:
    tree, events = by_tree(text), by_events(text, positions=False)
    if isinstance(tree, Located) and isinstance(events, Located):
        assert events.data == tree.data
    else:
        assert events == tree


def test_an_anchor_used_inside_itself_is_refused_not_followed_forever() -> None:
    # Seen: this 40-byte plan made the loader loop for ever (the node tree holds a cycle).
    code = (
        "from standby.errors import PlanInvalid\n"
        "from standby.plan.loading import load_plan_text\n"
        "try:\n"
        "    load_plan_text('organisation: {name: x}\\na: &x [*x]\\n')\n"
        "except PlanInvalid as invalid:\n"
        "    print(invalid.problems[0].render('plan.yaml'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "plan.yaml:2:8: broken YAML: found undefined alias"
