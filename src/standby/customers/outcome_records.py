"""Outcomes of calls logged while the CRM is down: one entry checked, and the CSV the CRM imports.

Pure: no database, no clock (the time comes in). An agent's page may send an entry
hours after it was typed (the connection dropped mid-shift), so `logged_at` may be old;
it may not be more than a few minutes ahead, which would be a wrong clock. Every entry
carries a `client_id` the page chose, so that a resend after a lost answer finds the
entry already stored. A script may leave it out: the id is then derived from the
entry's content, so the same entry sent twice is still stored once.

The export is the DESIGN.md outcome record (`customer, phone, queue, reason, outcome,
follow_up, agent, logged_at`) with `client_id` and `call_id` after it, guarded against
formula injection: a spreadsheet opening the file must not run a cell an agent typed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from standby.customers.phones import customer_phone
from standby.intake import Cells, Layout, RowProblem
from standby.plan.rules import suggest

COLUMNS = ("customer", "phone", "queue", "reason", "outcome", "follow_up", "agent", "logged_at")
"""The outcome record of DESIGN.md, in its order."""
EXPORT_COLUMNS = (*COLUMNS, "client_id", "call_id")
MAX_BATCH = 500
"""Outcomes one request may carry."""
LAYOUT = Layout(
    plural="outcomes",
    columns=EXPORT_COLUMNS,
    required=("customer", "queue", "reason", "outcome"),
    max_rows=MAX_BATCH,
)
MAX_CUSTOMER = 200
MAX_TEXT = 2000
MAX_AGENT = 100
MAX_CALL_ID = 100
MAX_AHEAD = timedelta(minutes=5)
"""How far ahead of the server's clock `logged_at` may be: a phone's clock a little fast."""
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
DERIVED_PREFIX = "api-"
# A spreadsheet runs a cell starting with one of these as a formula (OWASP's list).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_E164 = re.compile(r"\+[0-9]{1,15}")


@dataclass(frozen=True)
class Outcome:
    """What an agent logged about one call."""

    client_id: str
    customer: str
    phone: str | None
    queue: str
    reason: str
    outcome: str
    follow_up: bool
    agent: str
    logged_at: datetime
    call_id: str | None


@dataclass(frozen=True)
class OutcomeInput(Outcome):
    """One outcome as checked, ready to store: its row, and whether the sender chose `agent` and
    `logged_at` or they were filled in (the user, the time it arrived)."""

    row: int
    agent_given: bool = True
    logged_at_given: bool = True

    def content(self) -> dict[str, Any]:
        """What makes two sendings of the same id the same outcome (filled-in values left out)."""
        fields: dict[str, Any] = {
            "customer": self.customer,
            "phone": self.phone,
            "queue": self.queue,
            "reason": self.reason,
            "outcome": self.outcome,
            "follow_up": self.follow_up,
            "call_id": self.call_id,
        }
        if self.agent_given:
            fields["agent"] = self.agent
        if self.logged_at_given:
            fields["logged_at"] = self.logged_at
        return fields


@dataclass(frozen=True)
class OutcomeRecord(Outcome):
    """An outcome as stored: also the outage it fell in, who sent it and when, and its export."""

    id: int
    outage_id: int | None
    received_at: datetime
    received_by: str
    exported_at: datetime | None

    def matches(self, entry: OutcomeInput) -> bool:
        """Whether `entry` is this outcome sent again (not another one reusing its id)."""
        return all(getattr(self, name) == value for name, value in entry.content().items())


def check_outcome(
    row: int,
    values: Mapping[str, Any],
    *,
    queues: Sequence[str],
    agent: str,
    now: datetime,
    country: str | None = None,
    client_id_required: bool = False,
) -> tuple[OutcomeInput | None, list[RowProblem]]:
    """One outcome checked: the entry, or None and every problem with its column.

    `agent` is who is sending it (the default agent); `queues` the plan's queue ids.
    """
    cells = Cells(row, values)
    customer = cells.text("customer", MAX_CUSTOMER, required=True)
    phone = cells.checked(
        "phone",
        cells.text("phone", 40, numbers=False),
        lambda text: customer_phone(text, country=country),
    )
    queue = cells.text("queue", 100, required=True)
    if queue is not None and queue not in queues:
        shown = ", ".join(queues[:12]) + (" ..." if len(queues) > 12 else "")
        cells.problem("queue", f"unknown queue {queue!r}{suggest(queue, queues)}; the plan's queues: {shown}")
    reason = _required_text(cells, "reason")
    outcome = _required_text(cells, "outcome")
    follow_up = cells.flag("follow_up")
    named_agent = cells.text("agent", MAX_AGENT)
    logged_at = _logged_at(cells, now)
    call_id = cells.text("call_id", MAX_CALL_ID)
    client_id = _client_id(cells, required=client_id_required)
    if not cells.ok or customer is None or queue is None or reason is None or outcome is None:
        return None, cells.problems
    entry = OutcomeInput(
        row=row,
        client_id=client_id or "",
        customer=customer,
        phone=phone,
        queue=queue,
        reason=reason,
        outcome=outcome,
        follow_up=follow_up,
        agent=named_agent or agent,
        logged_at=logged_at or now.astimezone(UTC),
        call_id=call_id,
        agent_given=named_agent is not None,
        logged_at_given=logged_at is not None,
    )
    if client_id is None:
        entry = replace(entry, client_id=derived_client_id(entry))
    return entry, []


def _required_text(cells: Cells, column: str) -> str | None:
    text = cells.long_text(column, MAX_TEXT)
    if text is None and not any(p.column == column for p in cells.problems):
        cells.problem(column, "required: it is empty")
    return text


def _logged_at(cells: Cells, now: datetime) -> datetime | None:
    moment = cells.moment("logged_at")
    if moment is not None and moment > now + MAX_AHEAD:
        ahead = (moment - now).total_seconds() / 60
        cells.problem(
            "logged_at",
            f"{ahead:,.0f} minutes in the future (the server's time is"
            f" {now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}); is the device's clock right?",
        )
        return None
    return moment


def _client_id(cells: Cells, *, required: bool) -> str | None:
    value = cells.values.get("client_id")
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            cells.problem("client_id", "required from the page: the id that makes a resend safe")
        return None
    if not isinstance(value, str) or not CLIENT_ID.fullmatch(value.strip()):
        shown = repr(value)[:80]
        cells.problem("client_id", f"{shown} is not an id: 8 to 64 letters, digits, - or _")
        return None
    return value.strip()


def derived_client_id(entry: OutcomeInput) -> str:
    """An id made from the outcome's content, for a sender that gave none: the same entry, the same id."""
    fields = {**entry.content(), "agent": entry.agent, "logged_at": entry.logged_at.isoformat()}
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
    return DERIVED_PREFIX + digest[:40]


def safe_cell(value: str) -> str:
    """`value` as a spreadsheet shows it rather than runs it: a leading = + - @ gets a '."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def export_csv(records: Iterable[OutcomeRecord]) -> str:
    """The outcomes as CSV for the CRM: a header row of EXPORT_COLUMNS, one line each, times in UTC."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for r in records:
        # A phone Standby normalised (+ and digits) is data, not a formula: it stays as it is,
        # so the CRM matches the customer by number.
        phone = r.phone if r.phone is None or _E164.fullmatch(r.phone) else safe_cell(r.phone)
        writer.writerow(
            [
                safe_cell(r.customer),
                phone or "",
                safe_cell(r.queue),
                safe_cell(r.reason),
                safe_cell(r.outcome),
                "true" if r.follow_up else "false",
                safe_cell(r.agent),
                r.logged_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                safe_cell(r.client_id),
                safe_cell(r.call_id or ""),
            ]
        )
    return out.getvalue()
