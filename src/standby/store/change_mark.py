"""Reading the change mark: one number that moves with every change the hot pages show.

Triggers (migration 0020, tables named there) bump a counter in the same transaction as
the change, so a reader that sees the change's rows sees the new mark, and a reader that
sees the old mark was answered before the change committed. What was built from the
database after reading mark M is therefore at least as new as M, and may be served to
any later request that reads M again. The sum of the counters only grows.
"""

from __future__ import annotations

from sqlalchemy import ScalarSelect, func, literal_column, select
from sqlalchemy.orm import Session

from standby.store.tables import ChangeMarkRow

CHANGE_MARK: ScalarSelect[int] = select(
    func.coalesce(func.sum(ChangeMarkRow.changes), literal_column("0"))
).scalar_subquery()
"""The mark as a column, to be read in the same statement as something else (a login check)."""


def read_change_mark(session: Session) -> int:
    """The change mark now."""
    return int(session.execute(select(CHANGE_MARK)).scalar_one())
