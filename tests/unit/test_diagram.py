"""The dependency map's layout: deterministic, complete, layered by dependency, bounded in size."""

from __future__ import annotations

import math
import random
from itertools import pairwise
from typing import Any

from _plans import any_of, component, plan, queue, reference_plan, site, team

from standby.plan.diagram import dependency_ids, layout_plan
from standby.plan.diagram_parts import Layout
from standby.plan.layering import Box, crossings, layered
from standby.plan.schema import Plan
from standby.plan.topology import Topology


def columns_of(layout: Layout) -> dict[str, int]:
    return {n.id: n.column for n in layout.nodes}


def test_layout_is_deterministic():
    ref = reference_plan()
    states = {"trunk-a": "down", "crm": "degraded"}
    availability = Topology.from_plan(ref).availability(["trunk-a"])
    first = layout_plan(ref, states=states, availability=availability)
    second = layout_plan(reference_plan(), states=dict(states), availability=availability)
    assert first == second


def test_every_component_site_and_queue_is_placed_inside_the_picture():
    ref = reference_plan()
    layout = layout_plan(ref)
    ids = {n.id for n in layout.nodes if n.kind != "junction"}
    assert ids == (
        {f"component:{c.id}" for c in ref.components}
        | {f"site:{s.id}" for s in ref.sites}
        | {f"queue:{q.id}" for q in ref.queues}
    )
    for node in layout.nodes:
        assert all(math.isfinite(v) for v in (node.x, node.y, node.width, node.height))
        assert node.x >= 0 and node.x + node.width <= layout.width
        assert node.y >= 0 and node.y + node.height <= layout.height


def test_boxes_in_a_column_never_overlap():
    layout = layout_plan(reference_plan())
    by_column: dict[int, list[Any]] = {}
    for node in layout.nodes:
        by_column.setdefault(node.column, []).append(node)
    for nodes in by_column.values():
        nodes.sort(key=lambda n: n.y)
        for upper, lower in pairwise(nodes):
            assert upper.y + upper.height <= lower.y


def test_any_of_groups_are_drawn_as_junctions():
    layout = layout_plan(reference_plan())
    junction = layout.node("component:sbc:any-of-0")
    assert junction.kind == "junction"
    assert junction.members == ("trunk-a", "trunk-b")
    sources = {e.source for e in layout.edges if e.target == junction.id}
    assert sources == {"component:trunk-a", "component:trunk-b"}
    assert any(e.source == junction.id and e.target == "component:sbc" for e in layout.edges)
    columns = columns_of(layout)
    assert columns["component:trunk-a"] < columns[junction.id] < columns["component:sbc"]
    # Leeds needs one of its two WAN links.
    leeds = layout.node("site:leeds:any-of-1")
    assert leeds.members == ("leeds-wan-1", "leeds-wan-2")


def test_layers_respect_every_dependency():
    ref = reference_plan()
    layout = layout_plan(ref)
    columns = columns_of(layout)
    for edge in layout.edges:
        assert columns[edge.source] < columns[edge.target]
    for c in ref.components:
        for dep in dependency_ids(c.depends_on):
            assert columns[f"component:{dep}"] < columns[f"component:{c.id}"]
    last_component = max(columns[f"component:{c.id}"] for c in ref.components)
    assert all(columns[f"site:{s.id}"] > last_component for s in ref.sites)
    assert all(columns[f"queue:{q.id}"] > columns["site:leeds"] for q in ref.queues)


def test_dependencies_implied_by_others_are_not_drawn():
    layout = layout_plan(reference_plan())
    drawn = {(e.source, e.target) for e in layout.edges}
    assert ("component:ivr", "queue:billing") in drawn
    # billing needs sbc and acd too, but through ivr; the map says it leaves them out.
    assert ("component:sbc", "queue:billing") not in drawn
    assert ("component:acd", "queue:billing") not in drawn
    assert any("not drawn" in note for note in layout.notes)


def test_colours_follow_states_and_effective_availability():
    ref = reference_plan()
    availability = Topology.from_plan(ref).availability(["trunk-a", "trunk-b"])
    layout = layout_plan(
        ref, states={"trunk-a": "down", "trunk-b": "down", "crm": "up"}, availability=availability
    )
    assert layout.node("component:trunk-a").tone == "down"
    assert layout.node("component:crm").tone == "up"
    assert layout.node("component:identity").tone == "unknown"
    acd = layout.node("component:acd")
    assert (acd.tone, acd.available, acd.impacted) == ("unknown", False, True)
    assert layout.node("component:sbc:any-of-0").available is False
    assert layout.node("queue:billing").tone == "down"
    assert layout.node("site:leeds").tone == "up"
    assert not any(e.live for e in layout.edges if e.source == "component:trunk-a")


def test_barycentre_ordering_removes_avoidable_crossings():
    boxes = [Box(i, r, 10, 10) for i, r in (("a", 0), ("b", 0), ("c", 0), ("x", 1), ("y", 1), ("z", 1))]
    edges = [("a", "z"), ("b", "y"), ("c", "x")]
    placement = layered(boxes, edges)
    order = sorted(["x", "y", "z"], key=lambda v: placement.centres[v][1])
    left = sorted(["a", "b", "c"], key=lambda v: placement.centres[v][1])
    succs = {v: [t for s, t in edges if s == v] for v in "abcxyz"}
    assert crossings([left, order], succs) == 0


def test_long_edges_are_routed_through_the_columns_between():
    boxes = [Box("a", 0, 10, 10), Box("b", 1, 10, 10), Box("c", 2, 10, 10)]
    placement = layered(boxes, [("a", "b"), ("b", "c"), ("a", "c")])
    assert len(placement.routes[("a", "c")]) == 4  # in, across the middle column, out
    assert len(placement.routes[("a", "b")]) == 2


def big_plan(n: int, *, seed: int = 7, chain: bool = False) -> Plan:
    rng = random.Random(seed)
    kinds = ["network", "power", "crm", "acd", "other"]
    components = []
    for i in range(n):
        deps: list[Any] = []
        if chain and i:
            deps = [f"c{i - 1}"]
        elif i > 10:
            picks = sorted({rng.randrange(i) for _ in range(rng.randint(0, 3))})
            deps = [f"c{p}" for p in picks]
            if rng.random() < 0.1:
                deps.append(any_of(f"c{rng.randrange(i)}", f"c{rng.randrange(i)}"))
        components.append(component(f"c{i}", *deps, kind=kinds[i % len(kinds)]))
    sites = [site(f"s{i}", f"c{rng.randrange(n)}") for i in range(40)]
    queues = [queue(f"q{i}", f"c{rng.randrange(n)}") for i in range(60)]
    teams = [team(f"t{i}", f"s{i % 40}", [f"q{i % 60}"]) for i in range(40)]
    return plan(components=components, sites=sites, queues=queues, teams=teams)


def test_five_thousand_components_collapse_into_a_legible_map():
    big = big_plan(5000)
    down = [f"c{i}" for i in range(0, 5000, 97)]
    availability = Topology.from_plan(big).availability(down)
    layout = layout_plan(big, states=dict.fromkeys(down, "down"), availability=availability)
    assert layout.collapsed
    assert len(layout.nodes) <= 200
    grouped = [m for n in layout.nodes if n.id.startswith("group:") and n.kind == "group" for m in n.members]
    assert {f"c{i}" for i in range(5000)} <= set(grouped)
    assert any("5,000 components" in note for note in layout.notes)
    assert any(n.tone == "down" for n in layout.nodes)
    columns = columns_of(layout)
    assert all(columns[e.source] < columns[e.target] for e in layout.edges)


def test_a_five_thousand_long_chain_does_not_recurse_or_sprawl():
    layout = layout_plan(big_plan(5000, chain=True))
    assert layout.collapsed
    assert len(layout.columns) <= 16


def test_a_plan_just_under_the_cap_is_drawn_in_full():
    mid = big_plan(120, seed=3)
    layout = layout_plan(mid)
    assert not layout.collapsed
    columns = columns_of(layout)
    for c in mid.components:
        for dep in dependency_ids(c.depends_on):
            assert columns[f"component:{dep}"] < columns[f"component:{c.id}"]


def test_an_empty_plan_lays_out():
    layout = layout_plan(plan())
    assert layout.nodes == ()
    assert layout.width > 0 and layout.height > 0
