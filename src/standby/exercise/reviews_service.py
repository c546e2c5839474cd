"""The plan's yearly review and the reviews of vendors' own contingency plans, recorded;
the log the audit reads; and reminders through the outbox before they fall due and when
overdue. Callers own the unit of work.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.errors import InvalidInput, NotFound
from standby.exercise.service import finished_dates
from standby.notify.outbox import enqueue
from standby.plan.audit_reviews import ReviewLog, add_months
from standby.plan.changes import plan_changes
from standby.plan.schema import Plan
from standby.plan.versions import current_plan, plan_of_version
from standby.store.tables import PlanReviewRow, VendorReviewRow

MAX_FILE = 5 * 1024 * 1024
REMIND_BEFORE = timedelta(days=30)


@dataclass(frozen=True)
class PlanReviewRecord:
    """A review of the plan: who, when, the version reviewed, what changed since the last."""

    id: int
    reviewed_on: date
    reviewed_by: str
    plan_version_id: int | None
    changes: tuple[str, ...]
    notes: str | None
    signed_off_by: str | None
    signed_off_at: datetime | None
    recorded_at: datetime
    recorded_by: str


@dataclass(frozen=True)
class VendorReviewRecord:
    """A review of a vendor's contingency plan, its evidence and the next one due."""

    id: int
    vendor_id: str
    reviewed_on: date
    reviewed_by: str
    next_due: date
    evidence_note: str | None
    evidence_link: str | None
    evidence_file_name: str | None
    recorded_at: datetime
    recorded_by: str


def _plan_review(row: PlanReviewRow) -> PlanReviewRecord:
    return PlanReviewRecord(
        row.id, row.reviewed_on, row.reviewed_by, row.plan_version_id, tuple(row.changes), row.notes,
        row.signed_off_by, row.signed_off_at, row.recorded_at, row.recorded_by,
    )  # fmt: skip


def _vendor_review(row: VendorReviewRow) -> VendorReviewRecord:
    return VendorReviewRecord(
        row.id, row.vendor_id, row.reviewed_on, row.reviewed_by, row.next_due, row.evidence_note,
        row.evidence_link, row.evidence_file_name, row.recorded_at, row.recorded_by,
    )  # fmt: skip


def record_plan_review(
    session: Session,
    *,
    reviewed_on: date,
    reviewed_by: str,
    notes: str | None,
    signed_off_by: str | None,
    by: str,
    now: datetime,
) -> PlanReviewRecord:
    """Record a review of the plan in force, with what changed in it since the last review."""
    if not reviewed_by.strip():
        raise InvalidInput("reviewed_by: say who reviewed the plan")
    found = current_plan(session)
    version = found[0].id if found is not None else None
    last = session.scalars(select(PlanReviewRow).order_by(PlanReviewRow.id.desc()).limit(1)).first()
    changes = ["The first review recorded in Standby."]
    if found is not None and last is not None and last.plan_version_id is not None:
        before = plan_of_version(session, last.plan_version_id)
        if before is not None:
            said = plan_changes(before[1], found[1]).sentences()
            changes = said or ["Nothing in the plan changed since the last review."]
    row = PlanReviewRow(
        reviewed_on=reviewed_on,
        reviewed_by=reviewed_by.strip(),
        plan_version_id=version,
        changes=changes,
        notes=(notes or "").strip() or None,
        signed_off_by=(signed_off_by or "").strip() or None,
        signed_off_at=now if (signed_off_by or "").strip() else None,
        recorded_at=now,
        recorded_by=by,
    )
    session.add(row)
    session.flush()
    return _plan_review(row)


def list_plan_reviews(session: Session, *, limit: int = 100) -> list[PlanReviewRecord]:
    """Plan reviews, newest first."""
    rows = session.scalars(
        select(PlanReviewRow).order_by(PlanReviewRow.reviewed_on.desc(), PlanReviewRow.id.desc()).limit(limit)
    )
    return [_plan_review(r) for r in rows]


def record_vendor_review(
    session: Session,
    *,
    plan: Plan,
    vendor_id: str,
    reviewed_on: date,
    reviewed_by: str,
    note: str | None = None,
    link: str | None = None,
    file_name: str | None = None,
    file_type: str | None = None,
    file_base64: str | None = None,
    next_due: date | None = None,
    by: str,
    now: datetime,
) -> VendorReviewRecord:
    """Record a review of a vendor's contingency plan; evidence is a note, a link or a file."""
    vendor = plan.vendors_by_id.get(vendor_id)
    if vendor is None:
        raise InvalidInput(f"vendor: no vendor {vendor_id!r} in the plan")
    if not reviewed_by.strip():
        raise InvalidInput("reviewed_by: say who reviewed it")
    content: bytes | None = None
    if file_base64 is not None:
        try:
            content = base64.b64decode(file_base64, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("evidence.file.content_base64: not base64") from None
        if len(content) > MAX_FILE:
            raise InvalidInput(f"evidence.file: at most {MAX_FILE // (1024 * 1024)} MB")
        if not (file_name or "").strip():
            raise InvalidInput("evidence.file.name: give the file's name")
    if link is not None and not link.startswith(("https://", "http://")):
        raise InvalidInput("evidence.link: an http(s) address")
    if not (note or "").strip() and not link and content is None:
        raise InvalidInput("evidence: give a note, a link or a file showing the review")
    due = next_due or add_months(reviewed_on, vendor.review_every_months)
    if due <= reviewed_on:
        raise InvalidInput("next_due: after the review")
    row = VendorReviewRow(
        vendor_id=vendor_id,
        reviewed_on=reviewed_on,
        reviewed_by=reviewed_by.strip(),
        next_due=due,
        evidence_note=(note or "").strip() or None,
        evidence_link=link,
        evidence_file_name=file_name.strip() if content is not None and file_name else None,
        evidence_file_type=(file_type or "application/octet-stream") if content is not None else None,
        evidence_file=content,
        recorded_at=now,
        recorded_by=by,
    )
    session.add(row)
    session.flush()
    return _vendor_review(row)


def list_vendor_reviews(
    session: Session, *, vendor_id: str | None = None, limit: int = 100
) -> list[VendorReviewRecord]:
    """Vendor reviews, newest first, optionally of one vendor."""
    query = (
        select(VendorReviewRow)
        .order_by(VendorReviewRow.reviewed_on.desc(), VendorReviewRow.id.desc())
        .limit(limit)
    )
    if vendor_id is not None:
        query = query.where(VendorReviewRow.vendor_id == vendor_id)
    return [_vendor_review(r) for r in session.scalars(query)]


def vendor_evidence(session: Session, review_id: int) -> tuple[str, str, bytes]:
    """A review's evidence file: (name, media type, content); NotFound when it has none."""
    row = session.get(VendorReviewRow, review_id)
    if row is None or row.evidence_file is None:
        raise NotFound(f"no evidence file for vendor review {review_id}")
    return (
        row.evidence_file_name or "evidence",
        row.evidence_file_type or "application/octet-stream",
        row.evidence_file,
    )


def review_log(session: Session) -> ReviewLog:
    """What the audit reads beside the plan: exercises finished, signed-off reviews, vendor reviews."""
    signed = session.scalars(
        select(PlanReviewRow.reviewed_on).where(PlanReviewRow.signed_off_by.is_not(None))
    )
    latest: dict[str, tuple[date, date]] = {}
    for vendor_id, reviewed_on, next_due in session.execute(
        select(VendorReviewRow.vendor_id, VendorReviewRow.reviewed_on, VendorReviewRow.next_due)
    ):
        if vendor_id not in latest or reviewed_on >= latest[vendor_id][0]:
            latest[vendor_id] = (reviewed_on, next_due)
    return ReviewLog(
        exercises_held=tuple(finished_dates(session)), plan_reviews=tuple(signed), vendor_reviews=latest
    )


@dataclass(frozen=True)
class ReviewDue:
    """A review the plan asks for: what (`plan` or `vendor:ID`), in words, and the day it falls due."""

    subject: str
    what: str
    due: date


def reviews_due(plan: Plan, log: ReviewLog) -> list[ReviewDue]:
    """When the plan's review and each vendor's next fall due: the plan's dates or the log's, the latest."""
    org = plan.organisation
    due: list[ReviewDue] = []
    reviewed = max([*log.plan_reviews, *([org.plan_reviewed] if org.plan_reviewed else [])], default=None)
    if reviewed is not None:
        due.append(ReviewDue("plan", "The plan's review", add_months(reviewed, org.review_every_months)))
    for vendor in plan.vendors:
        what = f"The review of {vendor.name}'s contingency plan"
        found = log.vendor_reviews.get(vendor.id)
        if found is not None and (
            vendor.contingency_plan_reviewed is None or found[0] >= vendor.contingency_plan_reviewed
        ):
            due.append(ReviewDue(f"vendor:{vendor.id}", what, found[1]))
        elif vendor.contingency_plan_reviewed is not None:
            on = add_months(vendor.contingency_plan_reviewed, vendor.review_every_months)
            due.append(ReviewDue(f"vendor:{vendor.id}", what, on))
    return due


def remind_reviews(session: Session, *, plan: Plan, today: date, now: datetime) -> int:
    """Email the leadership groups when a review falls due within 30 days and when overdue.

    One message per review, due date, stage and person (the outbox key), so a worker pass
    every few seconds sends each reminder once. Returns the messages queued or found.
    """
    due = reviews_due(plan, review_log(session))
    people = [
        plan.people_by_id[m]
        for g in plan.stakeholders
        if g.kind == "leadership"
        for m in g.members
        if m in plan.people_by_id and plan.people_by_id[m].email
    ]
    sent = 0
    for subject, what, on in ((d.subject, d.what, d.due) for d in due):
        if today < on - REMIND_BEFORE:
            continue
        stage = "overdue" if today > on else "soon"
        text = f"{what} was due on {on}: it is overdue." if stage == "overdue" else f"{what} is due on {on}."
        for person in dict.fromkeys(people):
            enqueue(
                session,
                key=f"review-reminder:{subject}:{on}:{stage}:{person.id}",
                channel="email",
                recipient=str(person.email),
                recipient_name=person.name,
                subject=f"[Standby] {what}: {'overdue' if stage == 'overdue' else 'due ' + str(on)}",
                body=f"{text} Record it in Standby (POST /api/v1/plan-reviews or /api/v1/vendor-reviews).",
                purpose="review-reminder",
                now=now,
            )
            sent += 1
    return sent
