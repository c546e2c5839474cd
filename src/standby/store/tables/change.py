"""The change mark: counters that move in the same transaction as every change the hot pages show.

Triggers (migration 0020) bump a row of `change_marks` whenever a row of a table that the
overview or the components list shows is inserted, updated or deleted; a request reads
the sum of the counters (standby.store.change_mark) instead of the tables themselves.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from standby.store.tables.base import Base


class ChangeMarkRow(Base):
    """One counter. SQLite keeps one (slot 0); PostgreSQL sixteen, one per backend pid modulo 16,
    so that servers committing at the same moment seldom wait for each other's row."""

    __tablename__ = "change_marks"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    changes: Mapped[int] = mapped_column(BigInteger)
