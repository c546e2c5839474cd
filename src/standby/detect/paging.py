"""Pages of records newest first, by (time, id): a cursor says where the last page ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_


@dataclass(frozen=True)
class PageCursor:
    """Where a page ended: its last record's time (an alert's `updated_at`, ...) and id."""

    at: datetime
    id: int


def after_cursor(at: Any, record_id: Any, cursor: PageCursor) -> Any:
    """Rows after `cursor` in (time, id) descending order."""
    return or_(at < cursor.at, and_(at == cursor.at, record_id < cursor.id))
