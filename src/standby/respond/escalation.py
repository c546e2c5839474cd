"""Escalation: who is paged, in what order, until someone acknowledges.

Pure: the plan, the incident's paging state and the time come in; decisions come out.
The incident orchestration records each step (a PageRow per target, the incident's
escalation_level, escalation_round and next_escalation_at) and asks again when the
step is due.

A policy's levels are paged one after another: level 0 at once, then each next level
when nobody acknowledged within the current level's `ack_within_minutes`. After the
last level, the policy starts again from level 0, `repeat` more times (round 0 is the
first pass, rounds 1 to `repeat` the repeats). When the last level of the last round
times out, escalation is exhausted: nothing more is paged (the orchestration says so
on the timeline). An acknowledgement stops it at once.

One step at a time: a worker that was away while several timeouts passed pages the
next level now, with a full `ack_within_minutes` for it, rather than skipping levels
nobody was given the chance to answer.

Targets: a person id is that person; `rotation:ID` is whoever is on call for the
rotation at the time of the step (overrides included); `stakeholder:ID` is the
group's members (its outside contacts are told by the communication plan, not paged).
A person named twice in one step is paged once. References the plan does not
resolve (a plan changed under a running incident) are listed in `unresolved`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from standby.plan.people import EscalationLevel, EscalationPolicy
from standby.plan.schema import Plan
from standby.respond.oncall import Override, on_call_at

MAX_ACK_WAIT = timedelta(days=30)
"""The longest wait for an acknowledgement (an infinite ack_within_minutes is cut to it)."""

ROTATION_PREFIX = "rotation:"
STAKEHOLDER_PREFIX = "stakeholder:"


@dataclass(frozen=True)
class Target:
    """Someone to page, with how to reach them and the policy entry that named them."""

    person_id: str
    name: str
    email: str | None
    phone: str | None
    via: str


@dataclass(frozen=True)
class EscalationStep:
    """Page these targets now (`at`); unless someone acknowledges, the next step is due at `next_due`.

    `last` is True for the last level of the last round: when `next_due` passes
    without an acknowledgement, escalation is exhausted.
    """

    policy_id: str
    level: int
    round: int
    targets: tuple[Target, ...]
    unresolved: tuple[str, ...]
    at: datetime
    next_due: datetime
    last: bool


@dataclass(frozen=True)
class PagingState:
    """Where an incident's paging stands: the level and round paged last, and when."""

    level: int
    round: int
    paged_at: datetime
    acknowledged: bool = False


def default_policy(plan: Plan) -> EscalationPolicy | None:
    """The plan's default policy, else its first, else None."""
    for policy in plan.escalation_policies:
        if policy.default:
            return policy
    return plan.escalation_policies[0] if plan.escalation_policies else None


def policy_by_id(plan: Plan, policy_id: str | None) -> EscalationPolicy | None:
    """The policy with this id; the default policy when `policy_id` is None; None if there is none."""
    if policy_id is None:
        return default_policy(plan)
    return next((p for p in plan.escalation_policies if p.id == policy_id), None)


def first_pages(
    policy: EscalationPolicy,
    now: datetime,
    *,
    plan: Plan,
    overrides: Mapping[str, Sequence[Override]] | None = None,
) -> EscalationStep:
    """The first step of a new incident: level 0 of round 0, paged at `now`.

    `overrides` are each rotation's active overrides, by rotation id.
    """
    return _step(policy, 0, 0, now, plan, overrides or {})


def next_step(
    policy: EscalationPolicy,
    state: PagingState,
    now: datetime,
    *,
    plan: Plan,
    overrides: Mapping[str, Sequence[Override]] | None = None,
) -> EscalationStep | None:
    """The step to take at `now`, or None: acknowledged, not yet due, or exhausted.

    `is_exhausted` tells the last of these apart.
    """
    if state.acknowledged or now < due_at(policy, state):
        return None
    following = _following(policy, state)
    if following is None:
        return None
    level, round_ = following
    return _step(policy, level, round_, now, plan, overrides or {})


def due_at(policy: EscalationPolicy, state: PagingState) -> datetime:
    """When the level paged last times out without an acknowledgement."""
    return state.paged_at + ack_wait(_level(policy, state.level))


def is_exhausted(policy: EscalationPolicy, state: PagingState, now: datetime) -> bool:
    """Whether escalation is over without an acknowledgement: the last level of the last round timed out."""
    return not state.acknowledged and now >= due_at(policy, state) and _following(policy, state) is None


def rounds(policy: EscalationPolicy) -> int:
    """How many times the levels are paged in all: the first pass and the repeats."""
    return policy.repeat + 1


def ack_wait(level: EscalationLevel) -> timedelta:
    """How long a level has to acknowledge, at most MAX_ACK_WAIT."""
    minutes = level.ack_within_minutes
    if not math.isfinite(minutes) or minutes * 60 > MAX_ACK_WAIT.total_seconds():
        return MAX_ACK_WAIT
    return timedelta(minutes=minutes)


def resolve_targets(
    plan: Plan,
    notify: Sequence[str],
    now: datetime,
    overrides: Mapping[str, Sequence[Override]] | None = None,
) -> tuple[tuple[Target, ...], tuple[str, ...]]:
    """The people `notify` names at `now`, each once, in order; and the entries that name nobody known."""
    people = plan.people_by_id
    rotations = {r.id: r for r in plan.rotations}
    stakeholders = {s.id: s for s in plan.stakeholders}
    targets: dict[str, Target] = {}
    unresolved: list[str] = []
    for entry in notify:
        if entry.startswith(ROTATION_PREFIX):
            rotation = rotations.get(entry.removeprefix(ROTATION_PREFIX))
            if rotation is None:
                unresolved.append(entry)
                continue
            shift = on_call_at(
                rotation, (overrides or {}).get(rotation.id, ()), now, plan.organisation.timezone
            )
            ids = [shift.person_id]
        elif entry.startswith(STAKEHOLDER_PREFIX):
            group = stakeholders.get(entry.removeprefix(STAKEHOLDER_PREFIX))
            if group is None:
                unresolved.append(entry)
                continue
            ids = list(group.members)
        else:
            ids = [entry]
        for person_id in ids:
            person = people.get(person_id)
            if person is None:
                unresolved.append(entry if person_id == entry else f"{entry} ({person_id})")
            elif person_id not in targets:
                targets[person_id] = Target(person.id, person.name, person.email, person.phone, entry)
    return tuple(targets.values()), tuple(unresolved)


def _step(
    policy: EscalationPolicy,
    level: int,
    round_: int,
    now: datetime,
    plan: Plan,
    overrides: Mapping[str, Sequence[Override]],
) -> EscalationStep:
    chosen = policy.levels[level]
    targets, unresolved = resolve_targets(plan, chosen.notify, now, overrides)
    return EscalationStep(
        policy_id=policy.id,
        level=level,
        round=round_,
        targets=targets,
        unresolved=unresolved,
        at=now,
        next_due=now + ack_wait(chosen),
        last=level == len(policy.levels) - 1 and round_ >= policy.repeat,
    )


def _following(policy: EscalationPolicy, state: PagingState) -> tuple[int, int] | None:
    """The level and round after the state's, or None when the last round is done.

    A level past the policy's end (the plan lost levels mid-incident) ends its round.
    """
    if state.level + 1 < len(policy.levels):
        return state.level + 1, state.round
    if state.round + 1 < rounds(policy):
        return 0, state.round + 1
    return None


def _level(policy: EscalationPolicy, index: int) -> EscalationLevel:
    return policy.levels[min(max(index, 0), len(policy.levels) - 1)]


__all__ = [
    "MAX_ACK_WAIT",
    "EscalationStep",
    "PagingState",
    "Target",
    "ack_wait",
    "default_policy",
    "due_at",
    "first_pages",
    "is_exhausted",
    "next_step",
    "policy_by_id",
    "resolve_targets",
    "rounds",
]
