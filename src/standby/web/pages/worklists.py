"""What the customers' worklists (callbacks, calls cut off, compensation) share.

Their filters are read from the address by hand rather than by FastAPI's query checks, so
that a bad filter is answered with the page itself (400, the reason above the form) and not
with a bare error page. Each form carries `back`, the worklist address it was sent from: on
success the browser goes back there (POST/redirect/GET), and a refusal is shown on that
page with its reason and status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi.responses import Response
from sqlalchemy.orm import Session

from standby.access.service import Principal
from standby.errors import InvalidInput, NotFound
from standby.store.engine import unit_of_work
from standby.web.context import WebContext
from standby.web.pages.centre_clock import CentreClock
from standby.web.pages.refusals import run_form, sentence

PAGE = 50
"""Entries shown at a time: a phone's worth of scrolling, and quick to draw."""
MAX_ROW_ID = 2**31 - 1
TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


# --- filters read from the address -------------------------------------------------------------


def text(params: Mapping[str, str], name: str, *, limit: int = 100) -> str | None:
    """A filter's text, trimmed; None when empty; InvalidInput when longer than `limit`."""
    value = params.get(name, "").strip()
    if len(value) > limit:
        raise InvalidInput(f"{name}: at most {limit} characters, not {len(value)}")
    return value or None


def choice(params: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    """One of `allowed`, or None when empty; InvalidInput naming the choices otherwise."""
    value = text(params, name)
    if value is not None and value not in allowed:
        raise InvalidInput(f"{name}: {value!r} is not one of {', '.join(allowed)}")
    return value


def row_number(params: Mapping[str, str], name: str) -> int | None:
    """A record's number (an outage's, a callback's), or None when empty."""
    value = text(params, name, limit=20)
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_ROW_ID:
        raise InvalidInput(f"{name}: {value!r} is not a number from 1 to {MAX_ROW_ID}")
    return int(value)


def count(params: Mapping[str, str], name: str) -> int:
    """A count such as a page's offset: 0 when empty."""
    value = text(params, name, limit=20)
    if value is None:
        return 0
    if not value.isdigit() or int(value) > 10**9:
        raise InvalidInput(f"{name}: {value!r} is not a count from 0")
    return int(value)


def yes(params: Mapping[str, str], name: str) -> bool | None:
    """A yes/no filter: 1 or 0 (true/false, yes/no, on/off); None when empty."""
    value = text(params, name, limit=10)
    if value is None:
        return None
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise InvalidInput(f"{name}: {value!r} is not yes or no: use 1 or 0")


def local_moment(value: str, zone: ZoneInfo, name: str) -> datetime:
    """A time typed in a form, in the centre's time unless it gives its offset; InvalidInput if not a time."""
    typed = value.strip()
    try:
        parsed = datetime.fromisoformat(typed)
    except ValueError:
        raise InvalidInput(f"{name}: {typed[:40]!r} is not a date and time: use YYYY-MM-DDTHH:MM") from None
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed


def moment(params: Mapping[str, str], name: str, zone: ZoneInfo) -> datetime | None:
    """A time filter in the centre's time, or None when empty."""
    value = text(params, name, limit=40)
    return None if value is None else local_moment(value, zone, name)


def echo(params: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """The filters as typed, for the form to show them again (each cut to a sane length)."""
    return {name: params.get(name, "")[:100] for name in names}


def address(path: str, params: Mapping[str, Any]) -> str:
    """`path` with the non-empty `params` as its query."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "", False)})
    return f"{path}?{query}" if query else path


# --- actions ------------------------------------------------------------------------------------


def back_to(back: str, section: str) -> str:
    """Where a form came from, if it is a page of `section` on this site; else the section's page."""
    parts = urlsplit(back)
    if parts.scheme or parts.netloc or "\\" in back:
        return section
    if parts.path != section and not parts.path.startswith(section + "/"):
        return section
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def query_of(page: str) -> dict[str, str]:
    """An address's query as a mapping (the last of a repeated name wins)."""
    return dict(parse_qsl(urlsplit(page).query))


def done_at(page: str, said: Mapping[str, str | int]) -> str:
    """`page` again, saying what was just done (and dropping what the last action said)."""
    params: dict[str, Any] = {k: v for k, v in query_of(page).items() if k not in ("done", "made")}
    return address(urlsplit(page).path, {**params, **said})


def after_form(
    context: WebContext,
    section: str,
    back: str,
    act: Callable[[Session], None],
    draw: Callable[[str, Notice], Response],
    said: Callable[[], Mapping[str, str | int]],
) -> Response:
    """Run a form's action in a unit of work: on success back to its page (its query saying
    `said()`, such as `done=moved`), else `draw(page, refused)`: that page with the reason."""
    page = back_to(back, section)

    def action() -> None:
        with unit_of_work(context.session_factory) as session:
            act(session)

    return run_form(
        action,
        refused=lambda why: draw(page, Notice(why.reason, why.status)),
        then=lambda: done_at(page, said()),
    )


@dataclass
class Notice:
    """What a worklist says above its list: why the last action or a filter was refused, and the status."""

    error: str = ""
    status: int = 200

    @contextmanager
    def reading_filters(self) -> Iterator[None]:
        """Read the filters: a bad one (400, or 404 for an unknown record) is said above the form,
        unless the refusal of an action already is."""
        try:
            yield
        except (InvalidInput, NotFound) as bad:
            if not self.error:
                self.error, self.status = str(bad), 404 if isinstance(bad, NotFound) else 400


def frame(clock: CentreClock, principal: Principal, notice: Notice, *, done: str) -> dict[str, Any]:
    """What every worklist shows around its list: who, where, the time, and what was done or refused."""
    return {
        **clock.header(principal),
        "now_field": clock.field(clock.now),
        "error": sentence(notice.error),
        "done": "" if notice.error else done,
    }
