"""Exercises, plan reviews and vendor reviews; outages and incidents flagged by exercise.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-08 02:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "exercises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=True),
        sa.Column("down", _json(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("objectives", _json(), nullable=False),
        sa.Column("tell", _json(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_by", sa.String(length=100), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_by", sa.String(length=100), nullable=True),
        sa.Column("results", _json(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('planned', 'running', 'finished')", name=op.f("ck_exercises_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercises")),
    )
    op.create_index(op.f("ix_exercises_state"), "exercises", ["state"])
    op.create_index(op.f("ix_exercises_finished_at"), "exercises", ["finished_at"])
    op.create_index(op.f("ix_exercises_updated_at"), "exercises", ["updated_at"])
    op.create_table(
        "plan_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=200), nullable=False),
        sa.Column("plan_version_id", sa.Integer(), nullable=True),
        sa.Column("changes", _json(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("signed_off_by", sa.String(length=200), nullable=True),
        sa.Column("signed_off_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_reviews")),
    )
    op.create_index(op.f("ix_plan_reviews_reviewed_on"), "plan_reviews", ["reviewed_on"])
    op.create_table(
        "vendor_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.String(length=100), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=200), nullable=False),
        sa.Column("next_due", sa.Date(), nullable=False),
        sa.Column("evidence_note", sa.Text(), nullable=True),
        sa.Column("evidence_link", sa.String(length=2000), nullable=True),
        sa.Column("evidence_file_name", sa.String(length=300), nullable=True),
        sa.Column("evidence_file_type", sa.String(length=200), nullable=True),
        sa.Column("evidence_file", sa.LargeBinary(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_reviews")),
    )
    op.create_index(op.f("ix_vendor_reviews_vendor_id"), "vendor_reviews", ["vendor_id"])
    for table in ("outages", "incidents"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("exercise_id", sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_exercise_id"), ["exercise_id"])


def downgrade() -> None:
    for table in ("incidents", "outages"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_exercise_id"))
            batch_op.drop_column("exercise_id")
    op.drop_index(op.f("ix_vendor_reviews_vendor_id"), table_name="vendor_reviews")
    op.drop_table("vendor_reviews")
    op.drop_index(op.f("ix_plan_reviews_reviewed_on"), table_name="plan_reviews")
    op.drop_table("plan_reviews")
    op.drop_index(op.f("ix_exercises_updated_at"), table_name="exercises")
    op.drop_index(op.f("ix_exercises_finished_at"), table_name="exercises")
    op.drop_index(op.f("ix_exercises_state"), table_name="exercises")
    op.drop_table("exercises")
