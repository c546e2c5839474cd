"""Open first, then the rest newest first: the order and the page marks of the incident and outage lists.

Keyset paging over two sections (open rows, then the others), each newest first: a page
mark says where the last page stopped (which section, which id), so the next page starts
right after it whatever was added since. A row that closes between two pages may be
seen twice or not at all; the lists are for people, who reload.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, case, not_, or_
from sqlalchemy.orm import InstrumentedAttribute

from standby.errors import InvalidInput

T = TypeVar("T")
Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])
_MARK = re.compile(r"(open|closed)-([1-9][0-9]{0,9})")
_LARGEST_ID = 2**31 - 1


@dataclass(frozen=True, slots=True)
class PageMark:
    """Where the last page stopped: after the row `id`, in the open section or the other."""

    open: bool
    id: int

    def text(self) -> str:
        """The mark as the `before` query parameter writes it: open-123 or closed-45."""
        return f"{'open' if self.open else 'closed'}-{self.id}"


def parse_mark(text: str, *, name: str = "before") -> PageMark:
    """A page mark read from a link; InvalidInput naming the parameter when it is not one."""
    found = _MARK.fullmatch(text.strip())
    if found is None or int(found.group(2)) > _LARGEST_ID:
        raise InvalidInput(
            f"{name}: {text[:40]!r} is not a page mark: use the list's own 'older' link"
            " (open-ID or closed-ID)"
        )
    return PageMark(found.group(1) == "open", int(found.group(2)))


def open_first(
    query: Q,
    *,
    is_open: ColumnElement[bool],
    row_id: InstrumentedAttribute[int],
    after: PageMark | None,
    limit: int,
) -> Q:
    """The query ordered open first then newest first, from after `after`, one row more than `limit`.

    The extra row only says whether there is an older page (see `cut`).
    """
    query = query.order_by(case((is_open, 0), else_=1), row_id.desc()).limit(limit + 1)
    if after is None:
        return query
    if after.open:
        return query.where(or_(and_(is_open, row_id < after.id), not_(is_open)))
    return query.where(not_(is_open), row_id < after.id)


def cut(rows: Sequence[T], limit: int, mark_of: Callable[[T], PageMark]) -> tuple[list[T], PageMark | None]:
    """The page (at most `limit` rows) and the mark of the next one, None when this is the last."""
    page = list(rows[:limit])
    more = len(rows) > limit and bool(page)
    return page, mark_of(page[-1]) if more else None
