"""/api/v1/plan-reviews and /api/v1/vendor-reviews: the plan's yearly review (who, when, what
changed since the last, sign-off) and the reviews of vendors' own contingency plans (evidence
and next due). The audit reads them; the worker reminds the leadership before they fall due.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from standby.errors import Conflict
from standby.exercise.reviews_service import (
    PlanReviewRecord,
    VendorReviewRecord,
    list_plan_reviews,
    list_vendor_reviews,
    record_plan_review,
    record_vendor_review,
    vendor_evidence,
)
from standby.plan.versions import current_plan
from standby.store.engine import unit_of_work
from standby.web.auth import LoadPlan, ReadPlan
from standby.web.context import Context
from standby.web.contract import RowId

plan_router = APIRouter(prefix="/api/v1/plan-reviews", tags=["reviews"])
vendor_router = APIRouter(prefix="/api/v1/vendor-reviews", tags=["reviews"])




class NewPlanReview(BaseModel):
    """A review of the plan in force."""

    model_config = ConfigDict(extra="forbid")

    reviewed_on: date
    reviewed_by: str = Field(max_length=200)
    notes: str | None = Field(None, max_length=10_000)
    signed_off_by: str | None = Field(
        None, max_length=200, description="Who signed it off; only a signed-off review counts in the audit."
    )


class PlanReviewOut(BaseModel):
    """A recorded plan review."""

    id: int
    reviewed_on: date
    reviewed_by: str
    plan_version_id: int | None
    changes: list[str] = Field(description="What changed in the plan since the last review, in sentences.")
    notes: str | None
    signed_off_by: str | None
    signed_off_at: datetime | None
    recorded_at: datetime
    recorded_by: str

    @classmethod
    def of(cls, r: PlanReviewRecord) -> PlanReviewOut:
        """The API shape."""
        return cls(**{**r.__dict__, "changes": list(r.changes)})


class PlanReviewList(BaseModel):
    """Plan reviews, newest first."""

    reviews: list[PlanReviewOut]


class EvidenceFile(BaseModel):
    """A file of evidence, its content in base64 (at most 5 MB)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=300)
    type: str | None = Field(None, max_length=200)
    content_base64: str = Field(max_length=7_000_000)


class Evidence(BaseModel):
    """A note, a link or a file (at least one)."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=10_000)
    link: str | None = Field(None, max_length=2000)
    file: EvidenceFile | None = None


class NewVendorReview(BaseModel):
    """A review of a vendor's contingency plan."""

    model_config = ConfigDict(extra="forbid")

    vendor: str = Field(max_length=100)
    reviewed_on: date
    reviewed_by: str = Field(max_length=200)
    evidence: Evidence
    next_due: date | None = Field(None, description="By default, the vendor's review_every_months later.")


class VendorReviewOut(BaseModel):
    """A recorded vendor review."""

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

    @classmethod
    def of(cls, r: VendorReviewRecord) -> VendorReviewOut:
        """The API shape."""
        return cls(**r.__dict__)


class VendorReviewList(BaseModel):
    """Vendor reviews, newest first."""

    reviews: list[VendorReviewOut]


@plan_router.get("", summary="Plan reviews")
def get_plan_reviews(principal: ReadPlan, context: Context) -> PlanReviewList:
    """The plan's reviews, newest first."""
    with unit_of_work(context.session_factory) as session:
        return PlanReviewList(reviews=[PlanReviewOut.of(r) for r in list_plan_reviews(session)])


@plan_router.post("", status_code=201, summary="Record a plan review")
def post_plan_review(body: NewPlanReview, principal: LoadPlan, context: Context) -> JSONResponse:
    """Record a review of the plan in force, with what changed since the last one."""
    with unit_of_work(context.session_factory) as session:
        record = record_plan_review(
            session,
            reviewed_on=body.reviewed_on,
            reviewed_by=body.reviewed_by,
            notes=body.notes,
            signed_off_by=body.signed_off_by,
            by=principal.signed,
            now=context.clock.now(),
        )
    return JSONResponse(PlanReviewOut.of(record).model_dump(mode="json"), status_code=201)


@vendor_router.get("", summary="Vendor contingency-plan reviews")
def get_vendor_reviews(
    principal: ReadPlan,
    context: Context,
    vendor: Annotated[str | None, Query(max_length=100, description="Only this vendor's.")] = None,
) -> VendorReviewList:
    """Vendor reviews, newest first."""
    with unit_of_work(context.session_factory) as session:
        records = list_vendor_reviews(session, vendor_id=vendor)
    return VendorReviewList(reviews=[VendorReviewOut.of(r) for r in records])


@vendor_router.post("", status_code=201, summary="Record a vendor review")
def post_vendor_review(body: NewVendorReview, principal: LoadPlan, context: Context) -> JSONResponse:
    """Record the review of a vendor's contingency plan, with its evidence."""
    with unit_of_work(context.session_factory) as session:
        found = current_plan(session)
        if found is None:
            raise Conflict("no plan has been loaded yet: vendors are the plan's; POST the plan first")
        file = body.evidence.file
        record = record_vendor_review(
            session,
            plan=found[1],
            vendor_id=body.vendor,
            reviewed_on=body.reviewed_on,
            reviewed_by=body.reviewed_by,
            note=body.evidence.note,
            link=body.evidence.link,
            file_name=file.name if file else None,
            file_type=file.type if file else None,
            file_base64=file.content_base64 if file else None,
            next_due=body.next_due,
            by=principal.signed,
            now=context.clock.now(),
        )
    return JSONResponse(VendorReviewOut.of(record).model_dump(mode="json"), status_code=201)


@vendor_router.get(
    "/{review_id}/evidence",
    summary="A vendor review's evidence file",
    response_class=Response,
    responses={200: {"description": "The file as uploaded.", "content": {"application/octet-stream": {}}}},
)
def get_evidence(review_id: RowId, principal: ReadPlan, context: Context) -> Response:
    """The evidence file, as an attachment."""
    with unit_of_work(context.session_factory) as session:
        name, _media, content = vendor_evidence(session, review_id)
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:100] or "evidence"
    # Served as bytes to save, never rendered: a file someone uploaded is not Standby's page.
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )
