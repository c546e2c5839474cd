"""Property: a dependency cycle, however it is hidden in a plan, is always reported."""

from __future__ import annotations

import itertools

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from standby.errors import PlanInvalid
from standby.plan.loading import load_plan_text


@st.composite
def acyclic_components(draw: st.DrawFn) -> list[dict[str, object]]:
    """Components c0..cN where each depends only on lower numbers, some through any_of groups."""
    count = draw(st.integers(2, 25))
    components: list[dict[str, object]] = []
    for index in range(count):
        lower = [f"c{i}" for i in range(index)]
        depends: list[object] = []
        if lower:
            plain = draw(st.lists(st.sampled_from(lower), max_size=3, unique=True))
            depends.extend(plain)
            if len(lower) >= 2 and draw(st.booleans()):
                depends.append(
                    {"any_of": draw(st.lists(st.sampled_from(lower), min_size=2, max_size=3, unique=True))}
                )
        components.append({"id": f"c{index}", "name": f"C{index}", "depends_on": depends})
    return components


def dump(components: list[dict[str, object]]) -> str:
    return yaml.safe_dump({"organisation": {"name": "Cycles"}, "components": components}, sort_keys=False)


@settings(max_examples=80, deadline=None)
@given(acyclic_components())
def test_a_plan_without_cycles_has_none_reported(components):
    plan = load_plan_text(dump(components))
    assert len(plan.components) == len(components)


@settings(max_examples=150, deadline=None)
@given(acyclic_components(), st.data())
def test_an_edge_back_to_an_ancestor_is_always_reported_as_a_cycle(components, data):
    # Pick a component that (transitively) depends on another, and make the other depend on it.
    needs: dict[str, set[str]] = {}
    for component in components:
        direct: set[str] = set()
        for entry in component["depends_on"]:  # type: ignore[attr-defined]
            direct |= set(entry["any_of"]) if isinstance(entry, dict) else {entry}
        needs[component["id"]] = direct | set().union(*(needs[d] for d in direct))  # type: ignore[index]
    pairs = [(c, a) for c, ancestors in needs.items() for a in ancestors]
    if not pairs:
        pairs = [("c1", "c1")]  # a self-dependency is the smallest cycle
    child, ancestor = data.draw(st.sampled_from(sorted(pairs)))
    target = next(c for c in components if c["id"] == ancestor)
    as_group = data.draw(st.booleans())
    target["depends_on"] = [*target["depends_on"], {"any_of": [child, "c0"]} if as_group else child]  # type: ignore[misc]
    try:
        load_plan_text(dump(components))
    except PlanInvalid as invalid:
        messages = [p.message for p in invalid.problems]
        assert any(m.startswith("dependency cycle: ") for m in messages), messages
        cycle = next(m for m in messages if m.startswith("dependency cycle: "))
        path = cycle.removeprefix("dependency cycle: ").split(";")[0].split(" -> ")
        assert path[0] == path[-1]
        for before, after in itertools.pairwise(path):
            assert after in needs[before] | {child} or before == ancestor
    else:
        raise AssertionError("a plan with a cycle loaded without a problem")
