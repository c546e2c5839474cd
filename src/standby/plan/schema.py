"""The continuity plan as typed, immutable models: every section of the reference plan.

The models check each value on its own (types, ranges, formats). Checks that need
the whole plan (references between sections, cycles, relocations) live in
`plan.rules`. Field docstrings are the plan-format reference; docs/plan-format.md
is written from the same words.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from standby.plan.countries import is_phone_region
from standby.plan.fields import (
    ClockTime,
    Email,
    Id,
    Minutes,
    Money,
    Phone,
    PlanDate,
    PositiveMinutes,
    Seconds,
    Share,
    Text,
    VersionText,
)
from standby.plan.people import (
    Contact,
    EscalationLevel,
    EscalationPolicy,
    Handoff,
    Person,
    Rotation,
    Stakeholder,
)
from standby.plan.probes import (
    DnsProbe,
    HeartbeatProbe,
    HttpProbe,
    MetricProbe,
    Probe,
    ProbeBase,
    SipOptionsProbe,
    TcpProbe,
)
from standby.plan.readiness import Readiness
from standby.plan.section import (
    Channel,
    Classification,
    ComponentKind,
    DrillOutcome,
    Section,
    SiteKind,
    StakeholderKind,
    Weekday,
)
from standby.plan.status_page import PublicService, StatusPage
from standby.plan.watching import AlertRouting, LocalDateTime, MaintenanceWindow
from standby.time_zones import time_zone

__all__ = [
    "Action",
    "AlertRouting",
    "AnyOf",
    "Channel",
    "Classification",
    "CompensationCondition",
    "CompensationRule",
    "Component",
    "ComponentKind",
    "Contact",
    "Degradation",
    "Dependency",
    "DnsProbe",
    "Drill",
    "DrillOutcome",
    "Drills",
    "EscalationLevel",
    "EscalationPolicy",
    "Forecast",
    "Handoff",
    "HeartbeatProbe",
    "HttpProbe",
    "ImpactTolerance",
    "LocalDateTime",
    "MaintenanceWindow",
    "MetricProbe",
    "Offer",
    "Organisation",
    "Person",
    "Plan",
    "Probe",
    "ProbeBase",
    "PublicService",
    "Queue",
    "Relocation",
    "Rotation",
    "Section",
    "ServiceLevel",
    "Shift",
    "SipOptionsProbe",
    "Site",
    "SiteKind",
    "Stakeholder",
    "StakeholderKind",
    "StatusPage",
    "Strategy",
    "Support",
    "TcpProbe",
    "Team",
    "Trigger",
    "Vendor",
    "Weekday",
]


class Organisation(Section):
    """Who the plan is for and how often it is reviewed."""

    name: Text = Field(description="The contact centre's name, as people say it.")
    timezone: str = Field("UTC", description="IANA time zone of the centre (forecasts, shifts, rotations).")
    currency: str = Field("GBP", pattern=r"^[A-Z]{3}$", description="ISO 4217 currency of costs.")
    plan_reviewed: PlanDate | None = Field(None, description="When the plan was last reviewed.")
    review_every_months: int = Field(12, gt=0, description="How often the plan must be reviewed.")
    interruption_max_minutes: Minutes = Field(
        5, description="An outage over within this many minutes is an interruption."
    )
    country: str | None = Field(
        None,
        description="ISO 3166-1 alpha-2 country of the centre, such as 'GB': used to read customers'"
        " national phone numbers (07700 900123). Without it only international numbers are accepted.",
    )

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if len(code) != 2 or not is_phone_region(code):
            raise ValueError(
                f"{value!r} is not a country code: use ISO 3166-1 alpha-2, such as 'GB', 'IE' or 'US'"
            )
        return code

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        time_zone(value)
        return value


class Support(Section):
    """How to reach a vendor's support desk."""

    phone: Phone | None = Field(None, description="Support phone number.")
    email: Email | None = Field(None, description="Support email address.")
    hours: str | None = Field(None, description="When support answers, such as '24x7' or 'business'.")


class Vendor(Section):
    """A supplier whose service the centre depends on."""

    id: Id = Field(description="Unique id of the vendor.")
    name: Text = Field(description="The vendor's name and what it supplies.")
    support: Support = Field(default_factory=Support, description="How to reach their support.")
    contingency_plan_reviewed: PlanDate | None = Field(
        None, description="When the centre last reviewed the vendor's own contingency plan."
    )
    review_every_months: int = Field(
        12, gt=0, description="How often the vendor's contingency plan must be reviewed."
    )


class AnyOf(Section):
    """A redundancy group: the dependency holds while at least one member is available."""

    any_of: list[Id] = Field(min_length=1, description="Component ids, any one of which is enough.")


def _dependency_tag(value: Any) -> str:
    return "any-of-group" if isinstance(value, dict | AnyOf) else "component-id"


Dependency = Annotated[
    Annotated[Id, Tag("component-id")] | Annotated[AnyOf, Tag("any-of-group")],
    Discriminator(_dependency_tag),
]
"""A component id that must be available, or an {any_of: [...]} group."""


class Component(Section):
    """Something the contact centre runs on: a trunk, the ACD, the CRM, a WAN link."""

    id: Id = Field(description="Unique id of the component.")
    name: Text = Field(description="What people call it.")
    kind: ComponentKind = Field("other", description="What sort of component it is.")
    vendor: Id | None = Field(None, description="Vendor id of who supplies it.")
    version: VersionText | None = Field(None, description="The version running.")
    end_of_life: PlanDate | None = Field(None, description="When the version stops being supported.")
    depends_on: list[Dependency] = Field(
        default_factory=list, description="What it needs: component ids and {any_of: [...]} groups."
    )
    probe: Probe | None = Field(None, description="How Standby checks it.")
    alerts: AlertRouting | None = Field(
        None, description="Which alerts from Alertmanager or Events v2 sources are about it."
    )
    notes: str | None = Field(None, description="Anything the on-call engineer should know.")


class Site(Section):
    """Where agents work: an office, home working, or an overflow partner."""

    id: Id = Field(description="Unique id of the site.")
    name: Text = Field(description="The site's name.")
    kind: SiteKind = Field("office", description="office, home or partner.")
    seats: int = Field(ge=0, description="How many agents can work there at once.")
    activation_minutes: Minutes = Field(
        0, description="Minutes before a standby site can take agents or calls."
    )
    vendor: Id | None = Field(None, description="Vendor id, for a partner site.")
    depends_on: list[Dependency] = Field(default_factory=list, description="What the site needs.")
    queues: list[Id] | None = Field(None, description="Queues the site is able to take; omitted means any.")


class Degradation(Section):
    """A component whose loss slows a queue's handling without stopping it."""

    component: Id = Field(description="Component id.")
    aht_factor: float = Field(gt=0, description="Handling time is multiplied by this while it is down.")


class ServiceLevel(Section):
    """The queue's service-level target: a share of calls answered within a time."""

    answer_within_s: Seconds = Field(description="The threshold in seconds.")
    target: Share = Field(description="The share of calls to answer within it.")


class Forecast(Section):
    """Calls offered per interval through the day, from a start time."""

    interval_minutes: int = Field(30, description="Length of each interval: 5, 10, 15, 20, 30 or 60 minutes.")
    start: ClockTime = Field(description='Start of the first interval, "HH:MM".')
    calls: list[Annotated[float, Field(ge=0)]] = Field(
        min_length=1, description="Calls offered in each interval."
    )

    @field_validator("interval_minutes")
    @classmethod
    def _divides_hour(cls, value: int) -> int:
        if value not in (5, 10, 15, 20, 30, 60):
            raise ValueError(f"interval_minutes must be 5, 10, 15, 20, 30 or 60, got {value}")
        return value

    @model_validator(mode="after")
    def _fits_day(self) -> Forecast:
        end = self.start + self.interval_minutes * len(self.calls)
        if end > 24 * 60:
            raise ValueError(
                f"the forecast has {len(self.calls)} intervals of {self.interval_minutes} minutes"
                f" from {self.start // 60:02d}:{self.start % 60:02d}, which runs"
                f" {end - 24 * 60} minutes past midnight; at most"
                f" {(24 * 60 - self.start) // self.interval_minutes} fit the day"
            )
        return self


class Queue(Section):
    """What customers call about: its dependencies, service level, demand and value."""

    id: Id = Field(description="Unique id of the queue.")
    name: Text = Field(description="The queue's name.")
    depends_on: list[Dependency] = Field(
        default_factory=list, description="Calls reach the queue only while all of these are up."
    )
    degraded_by: list[Degradation] = Field(
        default_factory=list, description="Components whose loss slows handling."
    )
    service_level: ServiceLevel = Field(description="The service-level target.")
    aht_s: Seconds = Field(description="Average handling time in seconds.")
    patience_s: Seconds | None = Field(
        None, description="Mean seconds a caller waits before hanging up; omitted means no abandonment."
    )
    retry_share: Share = Field(0, description="Share of callers who give up and call again.")
    retry_delay_s: Seconds = Field(300, description="Mean seconds before a caller who gave up calls again.")
    vulnerable_share: Share = Field(0, description="Share of callers who are vulnerable customers.")
    value_per_call: Money = Field(0, description="Cost of a call not answered, in the plan's currency.")
    forecast: Forecast | None = Field(None, description="Calls offered through the day.")
    callbacks_per_hour: Annotated[float, Field(ge=0)] = Field(
        0,
        description="Scheduled callbacks due each hour the forecast covers, made by the queue's agents.",
    )


class Shift(Section):
    """When a team works, in the plan's time zone."""

    start: ClockTime = Field(description='Start, "HH:MM".')
    end: ClockTime = Field(
        description='End, "HH:MM" ("24:00" for midnight). "00:00" to "24:00" is round the clock:'
        " the team is still on after midnight, where a shift ending at 24:00 has ended."
    )

    @model_validator(mode="after")
    def _ends_after_start(self) -> Shift:
        if self.end <= self.start:
            raise ValueError(
                f"the shift ends at {self.end // 60:02d}:{self.end % 60:02d}, not after it starts"
                f" at {self.start // 60:02d}:{self.start % 60:02d}"
            )
        return self

    @property
    def round_the_clock(self) -> bool:
        """Whether the team works every minute of every day, so its shift runs on past midnight."""
        return self.start == 0 and self.end == 24 * 60


class Team(Section):
    """A group of agents at a site, with their skills in priority order."""

    id: Id = Field(description="Unique id of the team.")
    site: Id = Field(description="Site id where the team normally works.")
    queues: list[Id] = Field(min_length=1, description="Queue ids the team answers, in priority order.")
    agents: int = Field(ge=0, description="Agents on shift.")
    shift: Shift = Field(description="When they work.")
    hourly_cost: Money = Field(0, description="Cost of one agent for one hour.")
    home_capable: Share = Field(0, description="Share of the team who can work from home.")


class Trigger(Section):
    """When a continuity strategy applies."""

    site_down: Id | None = Field(None, description="Site id whose loss triggers it.")
    capacity_below: Share | None = Field(
        None, description="Share of planned agents still able to work, below which it triggers."
    )
    outage: list[Classification] | None = Field(None, description="Outage classifications that trigger it.")
    component_down: Id | None = Field(None, description="Component id whose loss triggers it.")

    @model_validator(mode="after")
    def _has_condition(self) -> Trigger:
        if all(v is None for v in (self.site_down, self.capacity_below, self.outage, self.component_down)):
            raise ValueError(
                "a trigger needs a condition: site_down, capacity_below, outage or component_down"
            )
        return self


class Relocation(Section):
    """Moving agents or calls to another site."""

    from_: Id | None = Field(None, alias="from", description="Site id agents move from; omitted means any.")
    to: Id = Field(description="Site id that takes the agents or calls.")
    queues: list[Id] | None = Field(
        None, description="Queues that move; omitted means every queue the target site can take."
    )


class Action(Section):
    """Something a strategy does: call a webhook or set the IVR's outage message."""

    webhook: str | None = Field(None, pattern=r"^https?://\S+$", description="URL to POST to.")
    body: dict[str, Any] | None = Field(None, description="JSON body of the webhook.")
    ivr_message: str | None = Field(None, description="Message the IVR plays to callers.")
    deflect_share: Share | None = Field(
        None,
        description="Share of callers who hear the IVR message and hang up rather than wait;"
        " omitted means 0.1 for an ivr_message.",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Action:
        kinds = [k for k in ("webhook", "ivr_message") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("an action is either {webhook: URL, body: {...}} or {ivr_message: TEXT}")
        if self.body is not None and self.webhook is None:
            raise ValueError("'body' belongs to a webhook action")
        if self.deflect_share is not None and self.ivr_message is None:
            raise ValueError("'deflect_share' belongs to an ivr_message action")
        return self


class Strategy(Section):
    """A continuity strategy: what the centre does to keep answering."""

    id: Id = Field(description="Unique id of the strategy.")
    name: Text = Field(description="What it does, in a few words.")
    when: Trigger = Field(description="When it applies.")
    relocate: Relocation | None = Field(None, description="Agents or calls moved.")
    actions: list[Action] = Field(default_factory=list, description="Webhooks and IVR messages.")
    runbook: list[Text] = Field(default_factory=list, description="Steps a person ticks off.")
    automatic: bool = Field(
        False, description="Run at once when triggered; otherwise proposed to the commander."
    )


class ImpactTolerance(Section):
    """How long a queue may be out before the harm is intolerable."""

    queue: Id = Field(description="Queue id.")
    max_outage_minutes: PositiveMinutes = Field(description="Longest tolerable outage, minutes.")
    max_unanswered_calls: int | None = Field(None, ge=0, description="Most calls that may go unanswered.")


class Drill(Section):
    """One exercise of the plan."""

    date: PlanDate = Field(description="When it was held.")
    kind: Text = Field(description="What was exercised, such as 'home-working'.")
    outcome: DrillOutcome = Field(description="passed, partial or failed.")
    notes: str | None = Field(None, description="What was learnt.")


class Drills(Section):
    """How often the plan is exercised, and the record of exercises."""

    every_months: int = Field(6, gt=0, description="Months between drills.")
    history: list[Drill] = Field(default_factory=list, description="Drills held.")


class CompensationCondition(Section):
    """Which customers a compensation rule covers."""

    outage_minutes_over: Minutes | None = Field(
        None, description="Customers of a queue down longer than this."
    )
    queues: list[Id] | None = Field(None, description="Only these queues; omitted means all.")
    missed_callback: bool | None = Field(None, description="Customers whose callback was missed.")
    vulnerable: bool | None = Field(None, description="Only vulnerable customers.")

    @model_validator(mode="after")
    def _has_condition(self) -> CompensationCondition:
        if self.outage_minutes_over is None and not self.missed_callback:
            raise ValueError("a compensation rule needs outage_minutes_over or missed_callback: true")
        return self


class Offer(Section):
    """What a customer is offered."""

    kind: Literal["credit", "refund", "voucher", "gesture"] = Field(description="Kind of offer.")
    amount: Money = Field(description="Amount in the plan's currency.")


class CompensationRule(Section):
    """A rule: customers who meet the condition are offered the offer."""

    id: Id | None = Field(None, description="Optional id of the rule.")
    when: CompensationCondition = Field(description="Who it covers.")
    offer: Offer = Field(description="What they are offered.")


class Plan(Section):
    """A contact centre's continuity plan."""

    organisation: Organisation = Field(description="Who the plan is for.")
    vendors: list[Vendor] = Field(default_factory=list, description="Suppliers.")
    components: list[Component] = Field(default_factory=list, description="What the centre runs on.")
    sites: list[Site] = Field(default_factory=list, description="Where agents work.")
    queues: list[Queue] = Field(default_factory=list, description="What customers call about.")
    teams: list[Team] = Field(default_factory=list, description="Who answers.")
    people: list[Person] = Field(default_factory=list, description="People named in the plan.")
    rotations: list[Rotation] = Field(default_factory=list, description="On-call rotations.")
    escalation_policies: list[EscalationPolicy] = Field(
        default_factory=list, description="Who is paged in what order."
    )
    stakeholders: list[Stakeholder] = Field(default_factory=list, description="Who is told what.")
    strategies: list[Strategy] = Field(default_factory=list, description="Continuity strategies.")
    impact_tolerances: list[ImpactTolerance] = Field(
        default_factory=list, description="How long each queue may be out."
    )
    drills: Drills = Field(default_factory=Drills, description="Exercises of the plan.")
    compensation: list[CompensationRule] = Field(default_factory=list, description="Compensation rules.")
    maintenance: list[MaintenanceWindow] = Field(
        default_factory=list, description="Planned maintenance windows."
    )
    status_page: StatusPage | None = Field(
        None, description="The public status page's services; omitted: the queues under their names."
    )
    readiness: Readiness = Field(
        default_factory=Readiness, description="What agents' home set-ups must meet to count as ready."
    )

    @cached_property
    def components_by_id(self) -> dict[str, Component]:
        """Components keyed by id."""
        return {c.id: c for c in self.components}

    @cached_property
    def sites_by_id(self) -> dict[str, Site]:
        """Sites keyed by id."""
        return {s.id: s for s in self.sites}

    @cached_property
    def queues_by_id(self) -> dict[str, Queue]:
        """Queues keyed by id."""
        return {q.id: q for q in self.queues}

    @cached_property
    def vendors_by_id(self) -> dict[str, Vendor]:
        """Vendors keyed by id."""
        return {v.id: v for v in self.vendors}

    @cached_property
    def teams_by_id(self) -> dict[str, Team]:
        """Teams keyed by id."""
        return {t.id: t for t in self.teams}

    @cached_property
    def people_by_id(self) -> dict[str, Person]:
        """People keyed by id."""
        return {p.id: p for p in self.people}


# Sections that are lists of records with ids, in file order; used by the loader and rules.
LIST_SECTIONS: dict[str, type[Section]] = {
    "vendors": Vendor,
    "components": Component,
    "sites": Site,
    "queues": Queue,
    "teams": Team,
    "people": Person,
    "rotations": Rotation,
    "escalation_policies": EscalationPolicy,
    "stakeholders": Stakeholder,
    "strategies": Strategy,
    "impact_tolerances": ImpactTolerance,
    "compensation": CompensationRule,
    "maintenance": MaintenanceWindow,
}
SINGLE_SECTIONS: dict[str, type[Section]] = {
    "organisation": Organisation,
    "drills": Drills,
    "status_page": StatusPage,
    "readiness": Readiness,
}
