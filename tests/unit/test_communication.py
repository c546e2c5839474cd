"""The communication plan's core: who is told what and when, with the reference plan."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from _plans import REFERENCE

from standby.plan.schema import Plan
from standby.respond.communication import Evaluation, GroupState, OutageFacts, evaluate, what_to_send
from standby.respond.notice_addresses import (
    CUSTOMERS_ONE_BY_ONE,
    AgentContact,
    Notice,
    lead_candidates,
    message_key,
)

T0 = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
AGENTS = (
    AgentContact("emergency-desk", "Ada Agent", "+44 7700 900101", "ada@northwind.example"),
    AgentContact("billing-team", "Bo Agent", "+447700900102", None),
    AgentContact("billing-team", "Cy Agent", None, "cy@northwind.example"),
)


def plan_with(**changes: Any) -> Plan:
    """The reference plan, with stakeholder groups changed by id: {id: {field: value}}."""
    data = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    for group in data["stakeholders"]:
        group.update(changes.get(group["id"].replace("-", "_"), {}))
    return Plan.model_validate(data)


PLAN = plan_with()
EVERY_GROUP = {"leadership", "regulator", "agents", "customers", "suppliers"}


def total(**changes: Any) -> OutageFacts:
    """Both trunks down: a total outage of every queue, started at T0, detected 30 s later."""
    facts = OutageFacts(
        incident_id=7,
        outage_id=3,
        summary="Total: SIP trunk, Carrier A, SIP trunk, Carrier B down",
        classification="total",
        peak_classification="total",
        causes=("trunk-a", "trunk-b"),
        components=("trunk-a", "trunk-b", "sbc", "acd", "ivr"),
        sites=(),
        queues=("emergency", "billing", "moving"),
        degraded_queues=(),
        started_at=T0,
        detected_at=T0 + timedelta(seconds=30),
    )
    return replace(facts, **changes)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Run:
    """Evaluations one after another, each from the state the last one returned."""

    def __init__(self, plan: Plan = PLAN, **options: Any) -> None:
        self.plan = plan
        self.options = {"agents": AGENTS, **options}
        self.states: dict[str, GroupState] = {}

    def at(self, minutes: float, facts: OutageFacts) -> Evaluation:
        result = evaluate(self.plan, facts, self.states, at(minutes), **self.options)
        self.states = dict(result.states)
        return result


def by(notices: tuple[Notice, ...] | list[Notice], group: str) -> dict[str, Notice]:
    found = [n for n in notices if n.group == group]
    return {n.channel + (f":{n.vendor}" if n.vendor else ""): n for n in found}


def addresses(notice: Notice) -> list[str]:
    return [r.address for r in notice.recipients]


# ---- who is told: notify_on, queues, the hold ---------------------------------------------------


def test_nobody_is_told_during_the_hold_and_everyone_concerned_after_it() -> None:
    run = Run()
    first = run.at(1, total())
    assert first.notices == ()
    assert set(first.held) == {"leadership", "regulator", "agents", "customers", "suppliers"}
    assert first.hold_until == at(5)
    assert run.at(4.9, total()).notices == ()
    told = run.at(5.5, total())
    leadership = by(told.notices, "leadership")
    assert set(leadership) == {"email", "sms"}
    assert addresses(leadership["email"]) == [
        "sam@northwind.example",
        "amara@northwind.example",
        "jo@northwind.example",
    ]
    assert addresses(leadership["sms"]) == ["+447700900004", "+447700900001", "+447700900005"]
    assert all(n.phase == "detected" and n.number == 0 for n in told.notices)
    assert addresses(by(told.notices, "regulator")["email"]) == ["incidents@regulator.example"]
    assert told.held == ()


def test_an_outage_over_within_the_hold_tells_those_without_interruption_nothing() -> None:
    run = Run()
    assert run.at(1, total()).notices == ()
    ended = total(ended_at=at(4), classification="interruption")
    over = run.at(4.5, ended)
    assert over.notices == ()
    assert set(over.held_out) == {"leadership", "regulator", "agents", "customers", "suppliers"}
    # Later evaluations of the ended outage still tell nobody, and no deadline is missed.
    later = run.at(120, ended)
    assert later.notices == ()


def test_a_group_with_interruption_is_told_at_once_and_of_the_end() -> None:
    plan = plan_with(leadership={"notify_on": ["interruption", "partial", "total"]})
    run = Run(plan)
    first = run.at(1, total())
    assert set(by(first.notices, "leadership")) == {"email", "sms"}
    assert "leadership" not in first.held
    ended = run.at(4.5, total(ended_at=at(4), classification="interruption"))
    assert {n.group for n in ended.notices} == {"leadership"}
    assert {n.phase for n in ended.notices} == {"resolved"}


def test_interruption_alone_means_every_outage_without_the_hold() -> None:
    plan = plan_with(leadership={"notify_on": ["interruption"]})
    first = Run(plan).at(1, total(classification="degraded", peak_classification="degraded"))
    assert by(first.notices, "leadership")


def test_notify_on_filters_by_the_classification_the_outage_has_had() -> None:
    degraded = total(
        classification="degraded",
        peak_classification="degraded",
        causes=("crm",),
        components=("crm",),
        queues=(),
        degraded_queues=("emergency", "billing"),
    )
    told = Run().at(10, degraded)
    # degraded: customers and suppliers want it (suppliers: but the CRM has no vendor).
    assert {n.group for n in told.notices} == {"customers"}
    # A total outage that narrowed to partial still concerns the regulator (it was total).
    narrowed = Run().at(10, total(classification="partial", queues=("emergency",)))
    assert by(narrowed.notices, "regulator")


def test_a_group_with_queues_is_told_only_of_outages_touching_them() -> None:
    plan = plan_with(regulator={"notify_on": ["partial", "total"]})
    moving_only = total(classification="partial", peak_classification="partial", queues=("moving",))
    assert not by(Run(plan).at(10, moving_only).notices, "regulator")
    slowed = replace(moving_only, degraded_queues=("emergency",))
    assert by(Run(plan).at(10, slowed).notices, "regulator")
    once_lost = replace(moving_only, queues_ever=("moving", "emergency"))
    assert by(Run(plan).at(10, once_lost).notices, "regulator")


def test_in_maintenance_nobody_is_told() -> None:
    result = Run().at(30, total(in_maintenance=True))
    assert result.notices == () and result.reminders == ()


# ---- channels and recipients ----------------------------------------------------------------------


def test_employees_are_texted_through_the_agents_directory() -> None:
    agents = by(Run().at(6, total()).notices, "agents")["sms"]
    assert addresses(agents) == ["+447700900101", "+447700900102"]
    assert agents.unreachable == 1  # Cy has no phone
    assert [r.name for r in agents.recipients] == ["Ada Agent", "Bo Agent"]
    nobody = by(Run(agents=()).at(6, total()).notices, "agents")["sms"]
    assert nobody.recipients == () and nobody.skipped is not None
    assert "POST /api/v1/agents" in nobody.skipped


def test_customers_get_publications_and_their_sms_waits_for_issue_6() -> None:
    customers = by(Run().at(6, total()).notices, "customers")
    assert customers["status_page"].publication and customers["status_page"].deliverable
    assert customers["ivr_message"].publication
    assert customers["sms"].skipped == CUSTOMERS_ONE_BY_ONE and not customers["sms"].deliverable


def test_the_vendor_of_each_failing_component_is_told() -> None:
    acd = total(causes=("acd",), components=("acd", "ivr"), queues=("emergency", "billing", "moving"))
    suppliers = by(Run().at(6, acd).notices, "suppliers")
    assert set(suppliers) == {"email:cloudcx"}
    assert addresses(suppliers["email:cloudcx"]) == ["support@cloudcx.example"]
    # The trunks' carriers have no support email: nothing to send, and how to reach them.
    trunks = by(Run().at(6, total()).notices, "suppliers")
    assert set(trunks) == {"email:carrier-a", "email:carrier-b"}
    assert trunks["email:carrier-a"].skipped is not None
    assert "call +44 20 7946 0200" in trunks["email:carrier-a"].skipped
    # An impacted component's vendor (CloudCX's ACD behind the trunks) is not told.
    assert "email:cloudcx" not in trunks


def test_a_vendor_that_joins_the_outage_is_told_when_it_does() -> None:
    run = Run()
    run.at(6, total(causes=("acd",), components=("acd", "ivr")))
    assert run.states["suppliers"].told_vendors == {"cloudcx"}
    widened = total(causes=("acd", "trunk-a"), components=("acd", "ivr", "trunk-a"))
    later = by(run.at(10, widened).notices, "suppliers")
    assert set(later) == {"email:carrier-a"}
    assert run.at(11, widened).notices == ()
    ended = run.at(40, replace(widened, ended_at=at(39)))
    resolved = by(ended.notices, "suppliers")
    assert set(resolved) == {"email:carrier-a", "email:cloudcx"}
    assert {n.phase for n in resolved.values()} == {"resolved"}


def test_vendors_with_no_vendor_to_tell_are_not_concerned() -> None:
    crm = total(
        classification="partial",
        peak_classification="partial",
        causes=("crm",),
        components=("crm",),
        queues=("moving",),
    )
    assert not by(Run().at(10, crm).notices, "suppliers")


# ---- updates and the end ------------------------------------------------------------------------


def test_updates_follow_the_cadence_while_the_outage_lasts() -> None:
    run = Run()
    run.at(6, total())
    assert run.states["leadership"].next_update_at == at(36)
    assert not by(run.at(35, total()).notices, "leadership")
    first = by(run.at(36, total()).notices, "leadership")
    assert {n.phase for n in first.values()} == {"update"} and {n.number for n in first.values()} == {1}
    assert first["email"].next_update_at == at(66)
    assert not by(run.at(50, total()).notices, "leadership")
    second = by(run.at(66.2, total()).notices, "leadership")
    assert {n.number for n in second.values()} == {2}
    assert run.states["leadership"].updates_sent == 2
    # Groups without update_every_minutes get no updates.
    late = run.at(200, total()).notices
    assert not by(late, "regulator")
    assert by(late, "customers")["status_page"].phase == "update"


def test_every_group_told_gets_a_resolved_notice_once() -> None:
    run = Run()
    run.at(6, total())
    ended = total(ended_at=at(40))
    resolved = run.at(41, ended)
    assert {n.group for n in resolved.notices} == EVERY_GROUP
    assert {n.phase for n in resolved.notices} == {"resolved"}
    assert all(n.next_update_at is None for n in resolved.notices)
    assert run.states["leadership"].resolved_told_at == at(41)
    assert run.states["leadership"].next_update_at is None
    assert run.at(42, ended).notices == ()


def test_an_outage_first_seen_ended_past_the_hold_gets_only_the_resolved_notice() -> None:
    run = Run()
    result = run.at(30, total(ended_at=at(20)))
    assert {n.phase for n in result.notices} == {"resolved"}
    assert {n.group for n in result.notices} == EVERY_GROUP
    assert run.states["leadership"].first_told_at == at(30)


def test_groups_never_told_get_no_resolved_notice() -> None:
    run = Run()
    run.at(6, total(classification="partial", peak_classification="partial", queues=("moving",)))
    ended = run.at(
        30,
        total(classification="partial", peak_classification="partial", queues=("moving",), ended_at=at(29)),
    )
    assert "regulator" not in {n.group for n in ended.notices}


# ---- deadlines --------------------------------------------------------------------------------------


def test_the_regulator_deadline_runs_from_detection_and_queueing_decides_nothing() -> None:
    # Whether it is met is for the deliveries to say (respond.deadlines), not the queueing.
    run = Run()
    run.at(1, total())
    assert run.states["regulator"].due_by == at(60.5)
    told = run.at(6, total())
    assert {n.group for n in told.notices} >= {"regulator"}
    assert run.states["regulator"].due_by == at(60.5) and run.states["regulator"].first_told_at == at(6)
    assert not hasattr(told, "deadlines")


def test_a_deadline_beats_the_hold() -> None:
    plan = plan_with(regulator={"within_minutes": 2})
    run = Run(plan)
    assert run.at(1, total()).notices == ()
    assert run.states["regulator"].due_by == at(2.5)
    early = run.at(1.6, total())  # released one minute before the deadline, not at the hold's end
    assert {n.group for n in early.notices} == {"regulator"}
    # The others still wait for the hold; ended within it, they hear nothing, the regulator the end.
    ended = run.at(4.5, total(ended_at=at(4), classification="interruption"))
    assert {n.group for n in ended.notices} == {"regulator"}
    assert "leadership" in ended.held_out


def test_a_group_concerned_only_later_has_its_deadline_from_then() -> None:
    run = Run()
    run.at(1, total(classification="partial", peak_classification="partial", queues=("moving",)))
    assert run.states["regulator"].due_by is None
    run.at(90, total())
    assert run.states["regulator"].due_by == at(150)


# ---- reminders --------------------------------------------------------------------------------------


def test_a_reminder_goes_to_the_communications_people_before_each_update() -> None:
    run = Run()
    run.at(6, total())
    assert run.at(30, total()).reminders == ()
    reminders = {r.group: r for r in run.at(31, total()).reminders}
    assert set(reminders) == {"leadership", "customers"}
    leadership = reminders["leadership"]
    assert leadership.update_number == 1 and leadership.due_at == at(36) and not leadership.overdue
    assert [(r.name, r.channel, r.address) for r in leadership.recipients] == [
        ("Jo Mensah", "sms", "+447700900005")
    ]
    assert run.at(32, total()).reminders == ()
    run.at(36, total())
    assert run.states["leadership"].reminded_at is None
    assert {r.update_number for r in run.at(61, total()).reminders} == {2}


def test_the_lead_then_the_commander_is_reminded() -> None:
    assert [p.id for p in lead_candidates(PLAN, communications_lead="amara", commander="sam")] == ["amara"]
    assert [p.id for p in lead_candidates(PLAN, communications_lead=None, commander="Sam Reid")] == ["sam"]
    assert [p.id for p in lead_candidates(PLAN, communications_lead="nobody", commander=None)] == ["jo"]
    run = Run(communications_lead="amara")
    run.at(6, total())
    (reminder, _) = run.at(33, total()).reminders
    assert [r.name for r in reminder.recipients] == ["Amara Okafor"]


def test_an_update_past_due_is_sent_at_once_rather_than_reminded() -> None:
    run = Run()
    run.at(6, total())
    states = dict(run.states)
    states["leadership"] = replace(states["leadership"], next_update_at=at(20))
    result = evaluate(PLAN, total(), states, at(19), agents=AGENTS)
    (reminder,) = [r for r in result.reminders if r.group == "leadership"]
    assert not reminder.overdue and reminder.due_at == at(20)
    # Standby was stopped past the due time: the update goes now, nothing left to remind of.
    result = evaluate(PLAN, total(), states, at(25), agents=AGENTS)
    assert {n.phase for n in by(result.notices, "leadership").values()} == {"update"}
    assert not [r for r in result.reminders if r.group == "leadership"]


# ---- idempotency ----------------------------------------------------------------------------------


def test_keys_are_stable_and_a_repeated_evaluation_sends_nothing_new() -> None:
    run = Run()
    run.at(1, total())
    before = dict(run.states)
    once = what_to_send(PLAN, total(), before, at(6), agents=AGENTS)
    again = what_to_send(PLAN, total(), before, at(6.1), agents=AGENTS)
    keys = [r.key for n in once for r in n.recipients]
    assert keys == [r.key for n in again for r in n.recipients]
    assert len(set(keys)) == len(keys)
    assert "comm:7:leadership:detected:0:email:sam@northwind.example" in keys
    assert "comm:7:suppliers:cloudcx:detected:0:email:support@cloudcx.example" not in keys
    run.at(6, total())
    assert run.at(6.1, total()).notices == ()
    assert run.at(6.1, total()).changed == ()


def test_long_or_odd_keys_are_hashed_within_the_outbox_limit() -> None:
    long_key = message_key("comm:1:" + "g" * 150 + ":detected:0:email", "x" * 100 + "@example.org")
    assert len(long_key) <= 200 and "#" in long_key
    odd = message_key("comm:1:g:detected:0:email", "zoë@example.org")
    assert odd.isascii() and " " not in odd
    assert message_key("comm:1:g:detected:0:email", "a@b.org") == "comm:1:g:detected:0:email:a@b.org"
