"""Incident notices for the public: only what was written for the public, nothing internal.

What is public (see docs/pages.md): the texts the communication plan published for the
status page (its `status_page` channel, after the plan's hold: they are on the incident's
timeline as messages with their text), and the updates the communications lead writes
for the status page (public notes). The incident's own title, notes and component
names stay inside: a notice is named from the public services it touches.

Each update's status is Statuspage's: investigating while the incident is detected,
acknowledged or being diagnosed; identified while recovering; monitoring while verifying;
resolved after.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from standby.status.services import Service

NoticeStatus = Literal["investigating", "identified", "monitoring", "resolved"]
NOTICE_STATUSES: tuple[NoticeStatus, ...] = ("investigating", "identified", "monitoring", "resolved")
NOTICE_WORDS = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
}
_BY_STATE: dict[str, NoticeStatus] = {
    "detected": "investigating",
    "acknowledged": "investigating",
    "diagnosing": "investigating",
    "recovering": "identified",
    "verifying": "monitoring",
    "resolved": "resolved",
    "reviewed": "resolved",
}
Impact = Literal["none", "minor", "major", "critical"]
_IMPACTS: dict[str, Impact] = {
    "total": "critical",
    "partial": "major",
    "degraded": "minor",
    "interruption": "minor",
}
MAX_NAMED = 3


@dataclass(frozen=True)
class TimelineFact:
    """A timeline entry, as much of it as the public side may look at."""

    id: int
    at: datetime
    kind: str
    text: str
    data: dict[str, Any]


@dataclass(frozen=True)
class IncidentFacts:
    """An incident and its outage, as the notice is built from them."""

    id: int
    state: str
    detected_at: datetime
    resolved_at: datetime | None
    started_at: datetime
    classification: str | None
    components: frozenset[str]
    queues: frozenset[str]
    timeline: tuple[TimelineFact, ...]


@dataclass(frozen=True)
class NoticeUpdate:
    """One public update of a notice."""

    id: int
    status: NoticeStatus
    body: str
    at: datetime


@dataclass(frozen=True)
class Notice:
    """An incident as the public sees it."""

    id: int
    name: str
    status: NoticeStatus
    impact: Impact
    started_at: datetime
    created_at: datetime
    updated_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    services: tuple[str, ...]
    updates: tuple[NoticeUpdate, ...]
    """Newest first, as Statuspage lists them."""

    @property
    def resolved(self) -> bool:
        """Whether the notice is over."""
        return self.status == "resolved"


def is_public_update(fact: TimelineFact) -> bool:
    """Whether a timeline entry is a text written for the status page."""
    if fact.kind == "message":
        return fact.data.get("channel") == "status_page" and bool(fact.data.get("text"))
    return fact.kind == "note" and fact.data.get("public") is True


def public_notice(facts: IncidentFacts, services: Sequence[Service]) -> Notice | None:
    """The incident as a public notice, or None when nothing public was ever written for it."""
    updates: list[NoticeUpdate] = []
    state: NoticeStatus = "investigating"
    monitoring_at: datetime | None = None
    for fact in sorted(facts.timeline, key=lambda f: (f.at, f.id)):
        if fact.kind == "state":
            state = _BY_STATE.get(str(fact.data.get("to")), state)
            if state == "monitoring" and monitoring_at is None:
                monitoring_at = fact.at
            continue
        if not is_public_update(fact):
            continue
        if fact.kind == "message":
            status: NoticeStatus = "resolved" if fact.data.get("phase") == "resolved" else state
            body = str(fact.data["text"])
        else:
            wanted = fact.data.get("status")
            status = wanted if wanted in NOTICE_STATUSES else state
            body = fact.text
        updates.append(NoticeUpdate(fact.id, status, body.strip(), fact.at))
    if not updates:
        return None
    over = facts.state in ("resolved", "reviewed")
    status = "resolved" if over else updates[-1].status
    touched = tuple(s.id for s in services if s.touched_by(facts.components, facts.queues))
    impact = _IMPACTS.get(facts.classification or "", "minor")
    resolved_at = (facts.resolved_at or updates[-1].at) if status == "resolved" else None
    return Notice(
        id=facts.id,
        name=notice_name(services, touched, impact),
        status=status,
        impact=impact,
        started_at=facts.started_at,
        created_at=updates[0].at,
        updated_at=max(updates[-1].at, resolved_at or updates[-1].at),
        monitoring_at=monitoring_at,
        resolved_at=resolved_at,
        services=touched,
        updates=tuple(reversed(updates)),
    )


def notice_name(services: Sequence[Service], touched: Iterable[str], impact: Impact) -> str:
    """A public title from the services touched: never an internal name."""
    names = [s.name for s in services if s.id in set(touched)]
    what = "Slower answering" if impact in ("none", "minor") else "Service disruption"
    if not names:
        return what
    shown = ", ".join(names[:MAX_NAMED])
    if len(names) > MAX_NAMED:
        shown += f" and {len(names) - MAX_NAMED} more"
    return f"{what}: {shown}"
