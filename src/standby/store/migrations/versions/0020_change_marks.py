"""The change mark: counters bumped by triggers in the same transaction as every change to
what the overview and GET /api/v1/components show.

A request to those routes reads one number (the sum of the counters) with its login check
instead of the tables themselves, and serves what it built for that number before. No
writer can forget to move the mark: the database moves it.

Covered: plan_versions, plan_set_aside, component_states, outages, incidents,
communications (deadlines), refused_alerts, plan_reviews, vendor_reviews, exercises (the
audit's review log), and of `messages` the rows the overview counts or reads (a parked
message, one that failed, or one of an incident: its deadlines' deliveries). A page that
starts showing another table needs a trigger here (a later migration).

SQLite: one counter, bumped by a row trigger (SQLite has one writer at a time anyway).
PostgreSQL: sixteen counters, the one of the backend's pid modulo 16, bumped once per
transaction by a deferred constraint trigger, at commit: the row lock is the last one a
transaction takes, so two writers never deadlock over it, and servers committing at the
same moment seldom share a counter.

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-07 07:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0018"
branch_labels: str | None = None
depends_on: str | None = None

TABLES = (
    "plan_versions",
    "plan_set_aside",
    "component_states",
    "outages",
    "incidents",
    "communications",
    "refused_alerts",
    "plan_reviews",
    "vendor_reviews",
    "exercises",
)
SLOTS = 16
# The messages a page shows: a parked one, one that failed (the overview's counts), and
# those of an incident (its deadlines). The bulk of the outbox (a status notice to ten
# thousand subscribers, sent and done) moves no mark.
MESSAGE_SHOWN = "({row}.incident_id IS NOT NULL OR {row}.state = 'parked' OR {row}.last_error IS NOT NULL)"
EVENTS = {"insert": ("NEW",), "update": ("OLD", "NEW"), "delete": ("OLD",)}

PG_FUNCTION = f"""
CREATE FUNCTION standby_mark_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('standby.change_marked', true) IS DISTINCT FROM '1' THEN
        PERFORM set_config('standby.change_marked', '1', true);
        UPDATE change_marks SET changes = changes + 1 WHERE slot = pg_backend_pid() % {SLOTS};
    END IF;
    RETURN NULL;
END
$$
"""


def _message_condition(event: str) -> str:
    return " OR ".join(MESSAGE_SHOWN.format(row=row) for row in EVENTS[event])


def upgrade() -> None:
    op.create_table(
        "change_marks",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_change_marks")),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    marks = sa.table("change_marks", sa.column("slot", sa.Integer), sa.column("changes", sa.BigInteger))
    op.bulk_insert(marks, [{"slot": slot, "changes": 0} for slot in range(SLOTS if postgres else 1)])
    if postgres:
        op.execute(PG_FUNCTION)
        for table in TABLES:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER mark_{table} AFTER INSERT OR UPDATE OR DELETE ON {table}"
                " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION standby_mark_change()"
            )
        for event in EVENTS:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER mark_messages_{event} AFTER {event.upper()} ON messages"
                " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
                f" WHEN ({_message_condition(event)}) EXECUTE FUNCTION standby_mark_change()"
            )
        return
    bump = "BEGIN UPDATE change_marks SET changes = changes + 1 WHERE slot = 0; END"
    for table in TABLES:
        for event in EVENTS:
            op.execute(f"CREATE TRIGGER mark_{table}_{event} AFTER {event.upper()} ON {table} {bump}")
    for event in EVENTS:
        op.execute(
            f"CREATE TRIGGER mark_messages_{event} AFTER {event.upper()} ON messages"
            f" WHEN {_message_condition(event)} {bump}"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS mark_{table} ON {table}")
        for event in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS mark_messages_{event} ON messages")
        op.execute("DROP FUNCTION IF EXISTS standby_mark_change()")
    else:
        for table in (*TABLES, "messages"):
            for event in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS mark_{table}_{event}")
    op.drop_table("change_marks")
