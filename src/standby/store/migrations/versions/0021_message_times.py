"""The outbox's times spelled as every other writer spells them (SQLite only).

SQLite keeps a time as text and compares times as text. Until this revision the outbox's
bulk insert left its times to sqlite3's default adapter, which writes a whole second as
`2026-06-15 09:30:00`, where SQLAlchemy writes `2026-06-15 09:30:00.000000`: such a time
sorted below its equal, so `next_attempt_at >= T` missed a message due exactly at T. The
insert now binds as the ORM does; this revision respells the times already stored.
PostgreSQL stores timestamps, not text: nothing to do there.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 20:00:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | None = None
depends_on: str | None = None

TIMES = ("next_attempt_at", "claimed_until", "created_at", "sent_at", "parked_at")
WHOLE_SECOND = 19
"""len("2026-06-15 09:30:00"): a time the default adapter wrote without its microseconds."""


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for column in TIMES:
        op.execute(
            f"UPDATE messages SET {column} = {column} || '.000000'"
            f" WHERE typeof({column}) = 'text' AND length({column}) = {WHOLE_SECOND}"
        )


def downgrade() -> None:
    # The new spelling is the one every other writer uses; there is nothing to undo.
    pass
