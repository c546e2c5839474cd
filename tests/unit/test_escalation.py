"""Escalation, pure: levels, acknowledgement timeouts, repeat rounds, acknowledgement, exhaustion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from _plans import reference_plan

from standby.plan.people import EscalationPolicy
from standby.plan.schema import Plan
from standby.respond.escalation import (
    MAX_ACK_WAIT,
    EscalationStep,
    PagingState,
    ack_wait,
    default_policy,
    due_at,
    first_pages,
    is_exhausted,
    next_step,
    policy_by_id,
    resolve_targets,
    rounds,
)
from standby.respond.oncall import Override

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)  # lin's week on platform-oncall


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def plan_and_policy() -> tuple[Plan, EscalationPolicy]:
    plan = reference_plan()
    policy = default_policy(plan)
    assert policy is not None and policy.id == "platform"
    return plan, policy


def ids(step: EscalationStep | None) -> list[str]:
    assert step is not None
    return [t.person_id for t in step.targets]


def state_of(step: EscalationStep, **changes: Any) -> PagingState:
    return PagingState(level=step.level, round=step.round, paged_at=step.at, **changes)


def test_the_first_page_goes_to_whoever_is_on_call() -> None:
    plan, policy = plan_and_policy()
    step = first_pages(policy, NOW, plan=plan)
    assert (step.policy_id, step.level, step.round, step.last) == ("platform", 0, 0, False)
    (target,) = step.targets
    assert (target.person_id, target.name, target.via) == ("lin", "Lin Zhou", "rotation:platform-oncall")
    assert (target.email, target.phone) == ("lin@northwind.example", "+44 7700 900003")
    assert step.at == NOW and step.next_due == NOW + minutes(5)
    assert step.unresolved == ()


def test_an_override_decides_who_the_rotation_pages() -> None:
    plan, policy = plan_and_policy()
    cover = Override("dev", NOW - minutes(60), NOW + minutes(60), NOW - minutes(120), 1)
    step = first_pages(policy, NOW, plan=plan, overrides={"platform-oncall": [cover]})
    assert ids(step) == ["dev"]


def test_levels_follow_one_another_when_nobody_acknowledges() -> None:
    plan, policy = plan_and_policy()
    step = first_pages(policy, NOW, plan=plan)
    state = state_of(step)
    assert due_at(policy, state) == NOW + minutes(5)
    assert next_step(policy, state, NOW + minutes(4), plan=plan) is None  # not yet due
    second = next_step(policy, state, NOW + minutes(5), plan=plan)
    assert second is not None and (second.level, second.round) == (1, 0) and ids(second) == ["amara"]
    assert second.next_due == NOW + minutes(15)
    third = next_step(policy, state_of(second), NOW + minutes(15), plan=plan)
    assert third is not None and (third.level, third.round) == (2, 0) and ids(third) == ["sam"]
    assert third.next_due == NOW + minutes(30)


def test_after_the_last_level_the_policy_repeats_then_is_exhausted() -> None:
    plan, policy = plan_and_policy()
    assert policy.repeat == 2 and rounds(policy) == 3
    step: EscalationStep | None = first_pages(policy, NOW, plan=plan)
    seen = []
    while step is not None:
        seen.append((step.level, step.round))
        state = state_of(step)
        at = step.next_due
        assert not is_exhausted(policy, state, at - timedelta(seconds=1))
        step = next_step(policy, state, at, plan=plan)
        if step is None:
            assert is_exhausted(policy, state, at)
            assert (state.level, state.round) == (2, 2)
    assert seen == [(level, round_) for round_ in range(3) for level in range(3)]


def test_the_last_step_says_so() -> None:
    plan, policy = plan_and_policy()
    state = PagingState(level=1, round=2, paged_at=NOW)
    last = next_step(policy, state, NOW + minutes(10), plan=plan)
    assert last is not None and (last.level, last.round, last.last) == (2, 2, True)


def test_an_acknowledgement_stops_escalation() -> None:
    plan, policy = plan_and_policy()
    state = PagingState(level=0, round=0, paged_at=NOW, acknowledged=True)
    assert next_step(policy, state, NOW + timedelta(days=1), plan=plan) is None
    assert not is_exhausted(policy, state, NOW + timedelta(days=1))


def test_a_late_worker_pages_the_next_level_not_the_one_after() -> None:
    plan, policy = plan_and_policy()
    state = PagingState(level=0, round=0, paged_at=NOW)
    late = NOW + timedelta(hours=3)
    step = next_step(policy, state, late, plan=plan)
    assert step is not None and step.level == 1 and step.at == late and step.next_due == late + minutes(10)


def test_a_policy_without_repeats_is_exhausted_after_one_pass() -> None:
    plan = reference_plan()
    policy = EscalationPolicy.model_validate(
        {"id": "once", "levels": [{"notify": ["amara"], "ack_within_minutes": 5}]}
    )
    state = state_of(first_pages(policy, NOW, plan=plan))
    assert next_step(policy, state, NOW + minutes(5), plan=plan) is None
    assert is_exhausted(policy, state, NOW + minutes(5))


def test_stakeholders_are_their_members_and_each_person_is_paged_once() -> None:
    plan = reference_plan()
    targets, unresolved = resolve_targets(
        plan, ["amara", "stakeholder:leadership", "rotation:platform-oncall", "stakeholder:regulator"], NOW
    )
    assert [(t.person_id, t.via) for t in targets] == [
        ("amara", "amara"),
        ("sam", "stakeholder:leadership"),
        ("jo", "stakeholder:leadership"),
        ("lin", "rotation:platform-oncall"),
    ]
    assert unresolved == ()  # the regulator has outside contacts only: told, not paged


def test_references_the_plan_no_longer_has_are_reported() -> None:
    plan = reference_plan()
    targets, unresolved = resolve_targets(plan, ["ghost", "rotation:gone", "stakeholder:gone", "dev"], NOW)
    assert [t.person_id for t in targets] == ["dev"]
    assert unresolved == ("ghost", "rotation:gone", "stakeholder:gone")
    gone = Override("left-the-company", NOW - minutes(1), NOW + minutes(1), NOW, 1)
    overrides = {"platform-oncall": [gone]}
    targets, unresolved = resolve_targets(plan, ["rotation:platform-oncall"], NOW, overrides)
    assert targets == () and unresolved == ("rotation:platform-oncall (left-the-company)",)


def test_a_plan_that_lost_levels_mid_incident_moves_to_the_next_round() -> None:
    plan, policy = plan_and_policy()
    state = PagingState(level=7, round=0, paged_at=NOW)
    step = next_step(policy, state, NOW + minutes(15), plan=plan)  # the last level's wait
    assert step is not None and (step.level, step.round) == (0, 1)


def test_policies_by_id_and_the_default() -> None:
    plan = reference_plan()
    assert policy_by_id(plan, None) is default_policy(plan)
    assert policy_by_id(plan, "platform") is not None
    assert policy_by_id(plan, "nope") is None
    empty = plan.model_copy(update={"escalation_policies": []})
    assert default_policy(empty) is None


def test_an_absurd_wait_is_capped() -> None:
    policy = EscalationPolicy.model_validate(
        {"id": "slow", "levels": [{"notify": ["amara"], "ack_within_minutes": float("inf")}]}
    )
    assert ack_wait(policy.levels[0]) == MAX_ACK_WAIT
    huge = EscalationPolicy.model_validate(
        {"id": "slow", "levels": [{"notify": ["amara"], "ack_within_minutes": 1e300}]}
    )
    assert ack_wait(huge.levels[0]) == MAX_ACK_WAIT
