"""The people of the plan: who is on call, who is paged, and who is told."""

from __future__ import annotations

from pydantic import Field

from standby.plan.fields import ClockTime, Email, Id, Phone, PlanDate, PositiveMinutes, Text
from standby.plan.section import Channel, Classification, Section, StakeholderKind, Weekday


class Person(Section):
    """Someone named in rotations, escalations and stakeholder groups."""

    id: Id = Field(description="Unique id of the person.")
    name: Text = Field(description="Full name.")
    role: str | None = Field(None, description="Their job, such as 'platform engineer'.")
    email: Email | None = Field(None, description="Email address.")
    phone: Phone | None = Field(None, description="Mobile number for SMS and calls.")


class Handoff(Section):
    """When an on-call rotation passes to the next person."""

    weekday: Weekday = Field("monday", description="Day of the handoff.")
    time: ClockTime = Field(description='Time of the handoff, "HH:MM", in the plan\'s time zone.')


class Rotation(Section):
    """An on-call rotation."""

    id: Id = Field(description="Unique id of the rotation.")
    members: list[Id] = Field(min_length=1, description="Person ids, in turn.")
    handoff: Handoff = Field(description="When the turn passes.")
    length_days: int = Field(7, gt=0, description="Days each turn lasts.")
    start: PlanDate | None = Field(
        None, description="Date the first member's first turn began; omitted means 2026-01-05."
    )


class EscalationLevel(Section):
    """One level of an escalation policy."""

    notify: list[str] = Field(
        min_length=1,
        description="Who is paged: person ids, 'rotation:ID' or 'stakeholder:ID'.",
    )
    ack_within_minutes: PositiveMinutes = Field(
        description="Minutes to acknowledge before the next level is paged."
    )


class EscalationPolicy(Section):
    """Who is paged, in what order, until someone acknowledges."""

    id: Id = Field(description="Unique id of the policy.")
    levels: list[EscalationLevel] = Field(min_length=1, description="Levels, first paged first.")
    repeat: int = Field(0, ge=0, description="Times the whole policy repeats if nobody acknowledges.")
    default: bool = Field(False, description="The policy used when a component names none.")


class Contact(Section):
    """Someone outside the plan's people, such as a regulator's desk."""

    name: Text = Field(description="Who they are.")
    email: Email | None = Field(None, description="Email address.")
    phone: Phone | None = Field(None, description="Phone number.")


def _partial_and_total() -> list[Classification]:
    return ["partial", "total"]


class Stakeholder(Section):
    """A group told about outages: when, how and how often."""

    id: Id = Field(description="Unique id of the group.")
    kind: StakeholderKind = Field(description="What sort of audience it is.")
    members: list[Id] = Field(default_factory=list, description="Person ids in the group.")
    contacts: list[Contact] = Field(default_factory=list, description="Outside contacts.")
    teams: list[Id] = Field(default_factory=list, description="Team ids whose agents are told.")
    channels: list[Channel] = Field(default_factory=list, description="How they are told.")
    notify_on: list[Classification] = Field(
        default_factory=_partial_and_total,
        description="Classifications of outage they are told about.",
    )
    queues: list[Id] | None = Field(
        None, description="Only outages touching these queues; omitted means all."
    )
    within_minutes: PositiveMinutes | None = Field(
        None, description="Minutes from detection by which they must be told."
    )
    update_every_minutes: PositiveMinutes | None = Field(
        None, description="Minutes between updates while the outage lasts."
    )
