"""The pure core of Detect: flap damping, component states, correlation and reconciliation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from _plans import any_of, component, plan, queue, reference_plan, site, team
from hypothesis import given, settings
from hypothesis import strategies as st

from standby.detect.correlation import Correlator, OpenOutage, OutageShape, reconcile
from standby.detect.health import (
    AlertEvidence,
    ProbeHealth,
    after_check,
    component_state,
    heartbeat_verdict,
    metric_ok,
    state_since,
)
from standby.detect.leases import CheckRecord
from standby.detect.worker import compact

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def run(results: list[bool], start: ProbeHealth | None = None) -> list[str]:
    health = start or ProbeHealth()
    states = []
    for i, ok in enumerate(results):
        health = after_check(health, ok, at=T0 + timedelta(seconds=i), failures_to_down=3, successes_to_up=2)
        states.append(health.state)
    return states


def test_a_probe_is_down_after_three_failures_and_up_after_two_successes():
    assert run([True, False, False, True, False, False, False, True, True]) == [
        "up",
        "up",
        "up",
        "up",
        "up",
        "up",
        "down",
        "down",
        "up",
    ]


def test_one_good_reply_is_enough_from_unknown_but_not_from_down():
    assert run([True]) == ["up"]
    assert run([True, False, True], ProbeHealth("down", 5, 0, T0)) == ["down", "down", "down"]


def test_since_is_the_first_check_of_the_run_that_changed_the_state():
    health = ProbeHealth("up", 0, 9, T0)

    def check(ok: bool, second: int) -> ProbeHealth:
        return after_check(
            health, ok, at=T0 + timedelta(seconds=second), failures_to_down=3, successes_to_up=2
        )

    # A stray failure, then a good reply: the run of failures starts again.
    for ok, second in [(False, 5), (True, 8), (False, 10), (False, 20), (False, 30)]:
        health = check(ok, second)
    assert health.state == "down"
    # Down from the first failed check of the run that confirmed it, not the third.
    assert health.since == T0 + timedelta(seconds=10)
    for ok, second in [(True, 40), (False, 45), (True, 50), (True, 60)]:
        health = check(ok, second)
    assert health.state == "up"
    assert health.since == T0 + timedelta(seconds=50)


@given(st.lists(st.booleans(), max_size=40))
def test_the_state_changes_only_after_a_full_run(results: list[bool]):
    health = ProbeHealth("up", 0, 2, T0)
    for ok in results:
        after = after_check(health, ok, at=T0, failures_to_down=3, successes_to_up=2)
        if after.state == "down" and health.state == "up":
            assert after.failures == 3
        if after.state == "up" and health.state == "down":
            assert after.successes == 2
        health = after


def test_heartbeats_and_metrics():
    every = 60.0
    beat = T0 + timedelta(seconds=10)

    def verdict(last: datetime | None, second: int) -> tuple[bool | None, datetime]:
        found = heartbeat_verdict(last, every_s=every, watched_since=T0, now=T0 + timedelta(seconds=second))
        return found.ok, found.evidence_at

    assert verdict(beat, 100) == (True, beat)
    # Silent past 1.5 x every_s: down since the next heartbeat was overdue, not since it was read.
    assert verdict(beat, 130) == (False, beat + timedelta(seconds=90))
    # Never a heartbeat: never up. Nothing is known within the grace after watching began,
    # then it is down from the end of the grace.
    assert verdict(None, 60)[0] is None
    assert verdict(None, 120) == (False, T0 + timedelta(seconds=90))
    assert metric_ok([0.1, 0.2], above=0.25, below=None)[0]
    ok, why = metric_ok([0.3, 0.4], above=0.25, below=None)
    assert not ok and "above 0.25" in why and "2 values" in why
    assert not metric_ok([3.0], above=None, below=5.0)[0]
    assert metric_ok([], above=0.25, below=None) == (True, "no values in the window")


def test_component_state_combines_probe_alerts_and_maintenance():
    verdict, failing = component_state("up", "HTTP 200", [], in_maintenance=False)
    assert (verdict.state, failing) == ("up", False)
    verdict, failing = component_state("up", "HTTP 200", [("critical", "ACD down")], in_maintenance=False)
    assert (verdict.state, failing) == ("down", True)
    assert verdict.detail == "alert: ACD down"
    verdict, failing = component_state(None, None, [("warning", "slow")], in_maintenance=False)
    assert (verdict.state, failing) == ("degraded", False)
    verdict, failing = component_state("down", "refused", [], in_maintenance=True)
    assert (verdict.state, failing) == ("maintenance", True)
    verdict, failing = component_state(None, None, [("info", "fyi")], in_maintenance=False)
    assert verdict.state == "unknown" and not failing


def test_reference_plan_outages():
    correlator = Correlator.from_plan(reference_plan())
    (sbc,) = correlator.outages(["sbc", "acd", "ivr"])
    assert sbc.causes == ("sbc",)
    assert sbc.components == ("sbc", "acd", "ivr")
    assert sbc.classification == "total"
    (trunk,) = correlator.outages(["trunk-a"])
    assert (trunk.causes, trunk.classification, trunk.queues) == (("trunk-a",), "degraded", ())
    (both,) = correlator.outages(["trunk-a", "trunk-b"])
    assert both.causes == ("trunk-a", "trunk-b") and "acd" in both.components
    (crm,) = correlator.outages(["crm"])
    assert crm.classification == "partial"
    assert crm.queues == ("moving",) and crm.degraded_queues == ("emergency", "billing")
    (vpn,) = correlator.outages(["vpn"])
    assert (vpn.sites, vpn.classification) == (("home",), "partial")
    assert len(correlator.outages(["leeds-power", "crm"])) == 2
    assert correlator.outages(["not-in-the-plan"]) == []


def test_a_failing_component_beside_a_healthy_twin_is_not_explained_by_it():
    correlator = Correlator.from_plan(reference_plan())
    shapes = correlator.outages(["trunk-a", "sbc"])
    assert [s.causes for s in shapes] == [("trunk-a",), ("sbc",)]


def test_thirty_dependents_make_one_outage_with_one_cause():
    components = [component("root")] + [component(f"app-{i}", "root") for i in range(30)]
    centre = plan(
        components=components,
        sites=[site("main", "root")],
        queues=[queue("general", "app-7")],
        teams=[team("t", "main", ["general"])],
    )
    failing = ["root"] + [f"app-{i}" for i in range(30)]
    (shape,) = Correlator.from_plan(centre).outages(failing)
    assert shape.causes == ("root",)
    assert len(shape.components) == 31
    assert shape.classification == "total"


def test_maintenance_marks_an_outage_only_when_every_cause_is_covered():
    correlator = Correlator.from_plan(reference_plan())
    (crm,) = correlator.outages(["crm"], maintenance=["crm"])
    assert crm.in_maintenance
    (both,) = correlator.outages(["trunk-a", "trunk-b"], maintenance=["trunk-a"])
    assert not both.in_maintenance


def shape(causes: tuple[str, ...], components: tuple[str, ...]) -> OutageShape:
    return OutageShape(causes, components, (), (), (), "partial", False)


def test_an_open_outage_widens_and_narrows_instead_of_reopening():
    open_outage = OpenOutage(1, frozenset({"trunk-a"}), frozenset({"trunk-a"}))
    wider = shape(("trunk-a", "trunk-b"), ("trunk-a", "trunk-b", "sbc"))
    result = reconcile([open_outage], [wider])
    assert result.updated == ((1, wider),) and not result.opened and not result.ended
    narrower = shape(("trunk-b",), ("trunk-b",))
    result = reconcile([OpenOutage(1, frozenset({"trunk-a", "trunk-b"}), frozenset({"sbc"}))], [narrower])
    assert result.updated == ((1, narrower),)


def test_joined_outages_merge_into_the_older_and_new_groups_open():
    older = OpenOutage(3, frozenset({"a"}), frozenset({"a", "c"}))
    younger = OpenOutage(5, frozenset({"b"}), frozenset({"b", "c"}))
    joined = shape(("a", "b"), ("a", "b", "c"))
    fresh = shape(("x",), ("x",))
    result = reconcile([younger, older], [joined, fresh])
    assert result.updated == ((3, joined),)
    assert result.ended == ((5, 3),)
    assert result.opened == (fresh,)


def test_an_outage_whose_failures_are_gone_ends():
    result = reconcile([OpenOutage(2, frozenset({"a"}), frozenset({"a"}))], [])
    assert result.ended == ((2, None),)


@settings(max_examples=200)
@given(
    st.lists(st.frozensets(st.sampled_from("abcdefgh"), min_size=1, max_size=3), max_size=4),
    st.lists(st.frozensets(st.sampled_from("abcdefgh"), min_size=1, max_size=3), max_size=4),
)
def test_reconciliation_accounts_for_every_outage_and_every_group(opens, groups):
    outages = [OpenOutage(i + 1, g, g) for i, g in enumerate(opens)]
    shapes = [shape(tuple(sorted(g)), tuple(sorted(g))) for g in groups]
    result = reconcile(outages, shapes)
    updated_ids = [i for i, _ in result.updated]
    ended_ids = [i for i, _ in result.ended]
    assert sorted(updated_ids + ended_ids) == [o.id for o in outages]
    assert len(result.updated) + len(result.opened) == len(shapes)
    for outage_id, merged in result.ended:
        assert merged is None or merged in updated_ids
        assert merged != outage_id


def record(component_id: str, state: str, second: int) -> CheckRecord:
    return CheckRecord(
        component_id,
        "sha",
        T0 + timedelta(seconds=second),
        state == "up",
        "x",
        None,
        None,
        ProbeHealth(state, 0, 0, T0),  # type: ignore[arg-type]
    )


def test_a_compacted_buffer_keeps_every_change_and_the_latest_result():
    buffer = [
        record("a", "up", 0),
        record("a", "up", 1),
        record("b", "up", 1),
        record("a", "down", 2),
        record("a", "down", 3),
        record("a", "up", 4),
        record("a", "up", 5),
        record("b", "up", 6),
    ]
    kept = compact(buffer)
    assert [(r.component_id, r.health.state, r.checked_at.second) for r in kept] == [
        ("a", "up", 0),
        ("b", "up", 1),
        ("a", "down", 2),
        ("a", "up", 4),
        ("a", "up", 5),
        ("b", "up", 6),
    ]


def test_any_of_groups_are_linked_only_when_every_member_is_gone():
    centre = plan(
        components=[component("a"), component("b"), component("c", any_of("a", "b"))],
        sites=[site("main", "c")],
        queues=[queue("q")],
        teams=[team("t", "main", ["q"])],
    )
    correlator = Correlator.from_plan(centre)
    assert [s.causes for s in correlator.outages(["a"])] == [("a",)]
    (both,) = correlator.outages(["a", "b"])
    assert both.causes == ("a", "b") and both.sites == ("main",)


def test_a_state_begins_at_its_earliest_evidence():
    at = [T0 + timedelta(seconds=s) for s in range(0, 100, 10)]

    def since(state: str, **kwargs: object) -> datetime:
        found = {"probe": "up", "probe_since": at[0], "alerts": (), "last_resolved_at": None}
        found.update(kwargs)
        return state_since(state, previous_since=at[1], now=at[9], **found)  # type: ignore[arg-type]

    critical = AlertEvidence("critical", "down", at[4])
    # Down from the alert's own start, or the probe's first failure, whichever came first.
    assert since("down", alerts=[critical]) == at[4]
    assert since("down", alerts=[critical], probe="down", probe_since=at[3]) == at[3]
    # Up again when the alert cleared, not when the probe last recovered.
    assert since("up", last_resolved_at=at[6]) == at[6]
    assert since("up", probe_since=at[7], last_resolved_at=at[6]) == at[7]
    # A failure told late began when its sender says; a recovery never before what it ends.
    old = T0 - timedelta(hours=1)
    assert since("down", alerts=[AlertEvidence("error", "old", old)]) == old
    assert since("up", last_resolved_at=T0) == at[1]
    assert since("up", last_resolved_at=at[9] + timedelta(seconds=5)) == at[9]
    assert since("maintenance") == at[9]
