"""The dependency graph: availability, blast radius, single points of failure, the map."""

from __future__ import annotations

from typing import Any

import pytest
from _plans import any_of, component, plan, queue, reference_plan, site, team
from hypothesis import given, settings
from hypothesis import strategies as st

from standby.plan.schema import AnyOf, Plan
from standby.plan.topology import Availability, Edge, Harm, Requirement, Topology


@pytest.fixture(scope="module")
def reference() -> Topology:
    return Topology.from_plan(reference_plan())


# ---- the reference plan ---------------------------------------------------------------


def test_nothing_down_everything_answered(reference: Topology) -> None:
    state = reference.availability([])
    assert state.components == frozenset(reference.ids("component"))
    assert state.sites == {"leeds", "home", "harbour"}
    assert state.queues_reachable == {"emergency", "billing", "moving"}
    assert state.queues_answered == {"emergency", "billing", "moving"}


def test_one_trunk_down_is_covered_by_the_other(reference: Topology) -> None:
    state = reference.availability(["trunk-a"])
    assert "sbc" in state.components
    assert state.queues_answered == {"emergency", "billing", "moving"}


def test_both_trunks_down_take_the_platform_and_every_queue(reference: Topology) -> None:
    state = reference.availability(["trunk-a", "trunk-b"])
    assert not {"sbc", "acd", "ivr"} & state.components
    assert state.queues_reachable == frozenset()
    assert state.queues_answered == frozenset()
    assert state.sites == {"leeds", "home", "harbour"}


def test_ivr_down_leaves_only_the_emergency_line(reference: Topology) -> None:
    state = reference.availability(["ivr"])
    assert state.queues_reachable == {"emergency"}
    assert state.queues_answered == {"emergency"}


def test_identity_down_loses_both_staffed_sites(reference: Topology) -> None:
    state = reference.availability(["identity"])
    assert state.sites == {"harbour"}
    assert "vpn" not in state.components
    assert state.queues_reachable == {"emergency", "billing", "moving"}
    # Harbour has no team of its own: nobody answers until a strategy acts.
    assert state.queues_answered == frozenset()


def test_one_leeds_link_down_keeps_leeds(reference: Topology) -> None:
    assert "leeds" in reference.availability(["leeds-wan-1"]).sites
    assert "leeds" not in reference.availability(["leeds-wan-1", "leeds-wan-2"]).sites


def test_lost_site(reference: Topology) -> None:
    state = reference.availability([], lost_sites=["leeds"])
    assert state.sites == {"home", "harbour"}
    assert state.queues_answered == frozenset()


def test_unknown_ids_raise_key_error(reference: Topology) -> None:
    with pytest.raises(KeyError, match="trunk-c"):
        reference.availability(["trunk-c"])
    with pytest.raises(KeyError, match="paris"):
        reference.availability([], lost_sites=["paris"])
    with pytest.raises(KeyError):
        reference.blast_radius("leeds")  # a site, not a component


def test_blast_radius_of_sbc(reference: Topology) -> None:
    radius = reference.blast_radius("sbc")
    assert radius.components == ("acd", "ivr")
    assert radius.sites == ()
    assert radius.queues_unreachable == ("emergency", "billing", "moving")
    assert radius.queues_unanswered == ()
    assert reference.blast_radius("sbc") == radius


def test_blast_radius_of_identity(reference: Topology) -> None:
    radius = reference.blast_radius("identity")
    assert radius.components == ("vpn",)
    assert radius.sites == ("leeds", "home")
    assert radius.queues_unreachable == ()
    assert radius.queues_unanswered == ("emergency", "billing", "moving")


@pytest.mark.parametrize("cid", ["trunk-a", "trunk-b", "leeds-wan-1", "leeds-wan-2", "queue-stats"])
def test_redundant_or_unused_components_have_no_blast_radius(reference: Topology, cid: str) -> None:
    radius = reference.blast_radius(cid)
    assert not radius.loses_queue_or_site
    assert radius.components == ()


def test_single_points_of_failure_of_the_reference_plan(reference: Topology) -> None:
    spofs = {s.component: s for s in reference.single_points_of_failure()}
    assert {"sbc", "acd", "identity", "ivr", "crm", "leeds-power", "vpn"} == set(spofs)
    assert spofs["identity"].loses_queue
    assert not spofs["vpn"].loses_queue  # it only loses home working, which has no team
    order = [s.component for s in reference.single_points_of_failure()]
    assert order.index("sbc") < order.index("ivr") < order.index("crm") < order.index("vpn")


def test_map_helpers(reference: Topology) -> None:
    assert reference.dependencies_of("sbc") == (Requirement(("trunk-a", "trunk-b"), any_of=True),)
    assert reference.dependencies_of("leeds", "site")[0] == Requirement(("leeds-power",), False)
    assert reference.dependents_of("identity") == (("component", "vpn"), ("site", "leeds"))
    assert reference.sites_answering("emergency") == ("leeds",)
    edges = reference.edges()
    assert Edge("component", "sbc", "trunk-a", 0, True) in edges
    assert Edge("queue", "emergency", "acd", 2, False) in edges
    layers = {(n.kind, n.id): n.layer for n in reference.nodes()}
    assert layers[("component", "trunk-a")] == 0
    assert layers[("component", "ivr")] == 3
    assert layers[("queue", "billing")] == 4
    assert reference.layer("home", "site") == 2


# ---- redundancy ---------------------------------------------------------------------


def test_any_of_members_sharing_a_dependency_do_not_protect_each_other() -> None:
    shared = plan(
        components=[
            component("c"),
            component("a", "c"),
            component("b", "c"),
            component("x", any_of("a", "b")),
        ],
        sites=[site("office")],
        queues=[queue("sales", "x")],
        teams=[team("desk", "office", ["sales"])],
    )
    topology = Topology.from_plan(shared)
    spofs = {s.component for s in topology.single_points_of_failure()}
    assert spofs == {"c", "x"}
    assert topology.blast_radius("c").components == ("a", "b", "x")
    assert topology.blast_radius("c").queues_unreachable == ("sales",)


def test_duplicate_member_in_a_group_counts_once() -> None:
    topology = Topology.from_plan(plan(components=[component("a"), component("x", any_of("a", "a"))]))
    assert "x" not in topology.availability(["a"]).components


def test_site_that_does_not_take_a_queue_does_not_answer_it() -> None:
    topology = Topology.from_plan(
        plan(
            sites=[site("partner", queues=["billing"])],
            queues=[queue("billing"), queue("sales")],
            teams=[
                team("crew", "partner", ["billing", "sales"]),
                team("idle", "partner", ["sales"], agents=0),
            ],
        )
    )
    assert topology.availability([]).queues_answered == {"billing"}
    assert topology.sites_answering("sales") == ()


def test_unknown_reference_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown component 'ghost'"):
        Topology.from_plan(plan(components=[component("a", "ghost")]))


# ---- cycles and scale -----------------------------------------------------------------


def test_a_cycle_stays_up_until_something_on_it_fails() -> None:
    cyclic = plan(
        components=[component("a", "c"), component("b", "a"), component("c", "b"), component("d", "c")],
        sites=[site("office", "d")],
    )
    topology = Topology.from_plan(cyclic)
    assert topology.availability([]).components == {"a", "b", "c", "d"}
    assert topology.availability(["b"]).components == frozenset()
    assert topology.blast_radius("a").components == ("b", "c", "d")
    assert {n.id: n.layer for n in topology.nodes() if n.kind == "component"}["d"] >= 1


def test_a_long_chain_does_not_recurse() -> None:
    n = 5000
    chain = [component("c0", f"c{n - 1}")] + [component(f"c{i}", f"c{i - 1}") for i in range(1, n)]
    topology = Topology.from_plan(
        plan(components=chain, sites=[site("office", f"c{n - 1}")], queues=[queue("q", f"c{n // 2}")])
    )
    radius = topology.blast_radius("c10")
    assert len(radius.components) == n - 1
    assert radius.sites == ("office",)
    layers = [node.layer for node in topology.nodes()]
    assert max(layers) >= 1


# ---- properties -------------------------------------------------------------------------


@st.composite
def plans(draw: st.DrawFn, *, acyclic: bool = True) -> Plan:
    """Random small plans: layered components with any_of groups, sites, queues, teams."""
    count = draw(st.integers(1, 9))
    ids = [f"c{i}" for i in range(count)]

    def dependencies(candidates: list[str]) -> list[Any]:
        if not candidates:
            return []
        entries: list[Any] = []
        for _ in range(draw(st.integers(0, 3))):
            if draw(st.booleans()):
                entries.append(draw(st.sampled_from(candidates)))
            else:
                members = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=3))
                entries.append(any_of(*members))
        return entries

    components = [component(cid, *dependencies(ids[:i] if acyclic else ids)) for i, cid in enumerate(ids)]
    site_ids = [f"s{i}" for i in range(draw(st.integers(1, 3)))]
    queue_ids = [f"q{i}" for i in range(draw(st.integers(1, 3)))]
    sites = [site(sid, *dependencies(ids)) for sid in site_ids]
    queues = [queue(qid, *dependencies(ids)) for qid in queue_ids]
    skills = st.lists(st.sampled_from(queue_ids), min_size=1, max_size=3, unique=True)
    teams = [
        team(f"t{i}", draw(st.sampled_from(site_ids)), draw(skills), agents=draw(st.integers(0, 3)))
        for i in range(draw(st.integers(0, 4)))
    ]
    return plan(components=components, sites=sites, queues=queues, teams=teams)


def naive_availability(p: Plan, down: set[str], lost: frozenset[str] = frozenset()) -> Availability:
    """The definition, evaluated the slow way: the greatest fixpoint, by repeated sweeps."""
    up = {c.id for c in p.components} - down

    def holds(depends_on: list[Any]) -> bool:
        return all(any(m in up for m in d.any_of) if isinstance(d, AnyOf) else d in up for d in depends_on)

    changed = True
    while changed:
        still = {c.id for c in p.components if c.id in up and holds(c.depends_on)}
        changed = still != up
        up = still
    sites = {s.id for s in p.sites if s.id not in lost and holds(s.depends_on)}
    reachable = {q.id for q in p.queues if holds(q.depends_on)}
    answered = {
        q
        for q in reachable
        for t in p.teams
        if t.agents > 0
        and q in t.queues
        and t.site in sites
        and (p.sites_by_id[t.site].queues is None or q in (p.sites_by_id[t.site].queues or []))
    }
    return Availability(frozenset(up), frozenset(sites), frozenset(reachable), frozenset(answered))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_availability_matches_the_definition(data: st.DataObject) -> None:
    p = data.draw(plans(acyclic=data.draw(st.booleans())))
    topology = Topology.from_plan(p)
    ids = [c.id for c in p.components]
    down = data.draw(st.sets(st.sampled_from(ids)))
    lost = data.draw(st.frozensets(st.sampled_from([s.id for s in p.sites])))
    assert topology.availability(down, lost_sites=lost) == naive_availability(p, down, lost)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_blast_radius_matches_the_definition(data: st.DataObject) -> None:
    p = data.draw(plans(acyclic=data.draw(st.booleans())))
    topology = Topology.from_plan(p)
    before = naive_availability(p, set())
    for c in p.components:
        after = naive_availability(p, {c.id})
        radius = topology.blast_radius(c.id)
        assert set(radius.components) == before.components - after.components - {c.id}
        assert set(radius.sites) == before.sites - after.sites
        assert set(radius.queues_unreachable) == before.queues_reachable - after.queues_reachable
        assert set(radius.queues_unanswered) == (
            before.queues_answered - after.queues_answered - set(radius.queues_unreachable)
        )


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_availability_is_monotone(data: st.DataObject) -> None:
    p = data.draw(plans(acyclic=data.draw(st.booleans())))
    topology = Topology.from_plan(p)
    ids = [c.id for c in p.components]
    fewer = data.draw(st.sets(st.sampled_from(ids)))
    more = fewer | data.draw(st.sets(st.sampled_from(ids)))
    a, b = topology.availability(fewer), topology.availability(more)
    assert b.components <= a.components
    assert b.sites <= a.sites
    assert b.queues_reachable <= a.queues_reachable
    assert b.queues_answered <= a.queues_answered


def shuffled(p: Plan, order: list[int]) -> Plan:
    """The same plan with its components listed in another order (dependencies first no more)."""
    data = p.model_dump(by_alias=True, exclude_none=True)
    data["components"] = [data["components"][i] for i in order]
    return Plan.model_validate(data)


def naive_single_points(p: Plan, shown: int) -> list[tuple[str, tuple[int, tuple[str, ...]], ...]]:
    """Each component failed in turn against the definition: what falls, counted and first named."""
    before = naive_availability(p, set())
    positions = {
        kind: {record.id: i for i, record in enumerate(getattr(p, kind))}
        for kind in ("components", "sites", "queues")
    }

    def harm(kind: str, ids: set[str]) -> tuple[int, tuple[str, ...]]:
        ordered = sorted(ids, key=positions[kind].__getitem__)
        return len(ordered), tuple(ordered[:shown])

    found = []
    for c in p.components:
        after = naive_availability(p, {c.id})
        unreachable = before.queues_reachable - after.queues_reachable
        unanswered = before.queues_answered - after.queues_answered - unreachable
        sites = before.sites - after.sites
        if sites or unreachable or unanswered:
            found.append(
                (
                    c.id,
                    harm("components", set(before.components - after.components - {c.id})),
                    harm("sites", set(sites)),
                    harm("queues", set(unreachable)),
                    harm("queues", set(unanswered)),
                )
            )
    found.sort(key=lambda f: (-(f[3][0] + f[4][0]), -f[2][0], -f[1][0], positions["components"][f[0]]))
    return found


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_single_points_counted_and_named_as_the_definition_says(data: st.DataObject) -> None:
    drawn = data.draw(plans())
    order = data.draw(st.permutations(range(len(drawn.components))))
    p = shuffled(drawn, list(order))
    shown = data.draw(st.integers(0, 4))
    found = [
        (
            s.component,
            *((h.count, h.first) for h in (s.components, s.sites, s.queues_unreachable, s.queues_unanswered)),
        )
        for s in Topology.from_plan(p).single_points_of_failure(shown)
    ]
    assert found == naive_single_points(p, shown)


def test_single_points_of_a_cyclic_plan_are_counted_by_failing_each() -> None:
    cyclic = plan(
        components=[component("a", "c"), component("b", "a"), component("c", "b"), component("d", "c")],
        sites=[site("office", "d")],
    )
    spofs = Topology.from_plan(cyclic).single_points_of_failure(2)
    assert [s.component for s in spofs] == ["a", "b", "c", "d"]
    assert spofs[0].components == Harm(3, ("b", "c"))
    assert spofs[3].sites == Harm(1, ("office",))


def test_a_long_chain_counts_without_listing_everything() -> None:
    n = 3000
    chain = [component("c0")] + [component(f"c{i}", f"c{i - 1}") for i in range(1, n)]
    topology = Topology.from_plan(
        plan(components=chain, sites=[site("office", f"c{n - 1}")], queues=[queue("q", f"c{n - 1}")])
    )
    spofs = topology.single_points_of_failure()
    assert [s.component for s in spofs] == [f"c{i}" for i in range(n)]
    assert spofs[0].components == Harm(n - 1, tuple(f"c{i}" for i in range(1, 11)))
    assert spofs[-1].components == Harm(0, ())
    assert all(s.queues_unreachable == Harm(1, ("q",)) and s.sites.count == 1 for s in spofs)
    assert topology.site_falls_with("c5", "office")


def with_redundant_sibling(p: Plan, original: str) -> Plan:
    """`original` gets a twin with the same dependencies, and every use of it accepts either."""
    twin = f"{original}-twin"

    def widen(depends_on: list[Any]) -> list[Any]:
        widened: list[Any] = []
        for d in depends_on:
            if isinstance(d, AnyOf):
                members = list(d.any_of) + ([twin] if original in d.any_of else [])
                widened.append(any_of(*members))
            elif d == original:
                widened.append(any_of(original, twin))
            else:
                widened.append(d)
        return widened

    data = p.model_dump(by_alias=True, exclude_none=True)
    for section in ("components", "sites", "queues"):
        for record, model in zip(data[section], getattr(p, section), strict=True):
            record["depends_on"] = widen(model.depends_on)
    source = p.components_by_id[original]
    data["components"].append(component(twin, *widen(source.depends_on)))
    return Plan.model_validate(data)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_redundant_sibling_never_creates_a_single_point_of_failure(data: st.DataObject) -> None:
    p = data.draw(plans())
    original = data.draw(st.sampled_from([c.id for c in p.components]))
    before = {s.component for s in Topology.from_plan(p).single_points_of_failure()}
    widened = Topology.from_plan(with_redundant_sibling(p, original))
    after = {s.component for s in widened.single_points_of_failure()}
    assert after <= before
    assert original not in after or original in before


@settings(max_examples=100, deadline=None)
@given(p=plans(acyclic=False))
def test_cycles_never_hang(p: Plan) -> None:
    topology = Topology.from_plan(p)
    topology.single_points_of_failure()
    assert len(topology.nodes()) == len(p.components) + len(p.sites) + len(p.queues)
    assert all(node.layer >= 0 for node in topology.nodes())
