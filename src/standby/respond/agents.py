"""The agents directory: the plan counts agents per team, this names them and holds their phones.

Imported from the centre's HR or workforce system as CSV (header row
`external_id,name,team,phone,email`) or JSON (a list of objects with the same names),
validated row by row before anything is written: one bad row and nothing changes,
and every bad row is reported with its row and column. Agents are matched by
`external_id`: a known one is updated, a new one added. Agents missing from an import
stay as they are, unless the import replaces the directory (`replace=True`): then
they are deactivated (kept, not deleted, so past messages still name them).

Phone numbers must be in international form (+447700900123): an SMS gateway cannot
guess a country; they are stored normalised.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from standby import intake
from standby.errors import Conflict
from standby.intake import MAX_PROBLEMS, Cells, Layout, Row, RowProblem, RowsInvalid
from standby.notify.validate import email_address, phone_number
from standby.plan.rules import suggest
from standby.plan.schema import Plan
from standby.respond.notice_addresses import AgentContact
from standby.store.tables import AgentRow

LAYOUT = Layout(
    plural="agents",
    columns=("external_id", "name", "team", "phone", "email"),
    required=("external_id", "name", "team"),
    max_rows=50_000,
)
COLUMNS = LAYOUT.columns
MAX_ID = 100
MAX_NAME = 200


@dataclass(frozen=True)
class AgentInput:
    """One valid row of an import."""

    row: int
    external_id: str
    name: str
    team_id: str
    phone: str | None
    email: str | None


@dataclass(frozen=True)
class AgentRecord:
    """An agent in the directory."""

    external_id: str
    name: str
    team_id: str
    phone: str | None
    email: str | None
    active: bool
    updated_at: datetime


@dataclass(frozen=True)
class ImportResult:
    """What an import changed."""

    total: int
    created: int
    updated: int
    unchanged: int
    deactivated: int


def parse_csv(text: str) -> list[Row]:
    """The rows of a CSV import with their line numbers; RowsInvalid when any cannot be read."""
    return intake.parse_csv(text, LAYOUT).all_or_nothing(LAYOUT.plural)


def parse_json(document: Any) -> list[Row]:
    """The items of a JSON import (a list, or {"agents": [...]}) from 1; RowsInvalid for odd ones."""
    return intake.parse_json(document, LAYOUT).all_or_nothing(LAYOUT.plural)


def validate_rows(rows: Sequence[tuple[int, Mapping[str, Any]]], *, teams: Iterable[str]) -> list[AgentInput]:
    """Every row checked against the plan's teams; RowsInvalid with every problem found."""
    team_ids = list(teams)
    known = set(team_ids)
    problems: list[RowProblem] = []
    found: list[AgentInput] = []
    first_row: dict[str, int] = {}
    if not rows:
        raise RowsInvalid([RowProblem(0, None, "no agents in the import")], plural=LAYOUT.plural)
    for number, row in rows:
        cells = Cells(number, row)
        external_id = cells.text("external_id", MAX_ID, required=True)
        name = cells.text("name", MAX_NAME, required=True)
        team = cells.text("team", MAX_ID, required=True)
        if team is not None and team not in known:
            listed = ", ".join(team_ids[:12]) + (" ..." if len(team_ids) > 12 else "")
            hint = suggest(team, team_ids)
            cells.problem("team", f"unknown team {team!r}{hint}; the plan's teams: {listed or 'none'}")
        phone = cells.checked("phone", cells.text("phone", 40, numbers=False), phone_number)
        email = cells.checked("email", cells.text("email", 320), email_address)
        if external_id is not None:
            if external_id in first_row:
                cells.problem("external_id", f"{external_id!r} is also on row {first_row[external_id]}")
            else:
                first_row[external_id] = number
        problems += cells.problems
        if cells.ok and external_id and name and team:
            found.append(AgentInput(number, external_id, name, team, phone, email))
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise RowsInvalid(problems, plural=LAYOUT.plural)
    return found


def import_agents(
    session: Session,
    *,
    plan: Plan,
    rows: Sequence[tuple[int, Mapping[str, Any]]],
    now: datetime,
    replace: bool = False,
) -> ImportResult:
    """Validate every row, then add or update agents by external_id (nothing when a row is bad).

    With `replace`, active agents missing from the import are deactivated.
    """
    agents = validate_rows(rows, teams=[t.id for t in plan.teams])
    existing: dict[str, AgentRow] = {}
    ids = [a.external_id for a in agents]
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        for found in session.scalars(select(AgentRow).where(AgentRow.external_id.in_(chunk))):
            existing[found.external_id] = found
    created = updated = unchanged = deactivated = 0
    for agent in agents:
        row = existing.get(agent.external_id)
        values = {
            "name": agent.name,
            "team_id": agent.team_id,
            "phone": agent.phone,
            "email": agent.email,
            "active": True,
        }
        if row is None:
            session.add(AgentRow(external_id=agent.external_id, updated_at=now, **values))
            created += 1
        elif all(getattr(row, k) == v for k, v in values.items()):
            unchanged += 1
        else:
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = now
            updated += 1
    if replace:
        kept = set(ids)
        for current in session.scalars(select(AgentRow).where(AgentRow.active)):
            if current.external_id not in kept:
                current.active = False
                current.updated_at = now
                deactivated += 1
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("another import of agents ran at the same time; send this one again") from None
    return ImportResult(
        total=len(agents), created=created, updated=updated, unchanged=unchanged, deactivated=deactivated
    )


def _record(row: AgentRow) -> AgentRecord:
    return AgentRecord(
        external_id=row.external_id,
        name=row.name,
        team_id=row.team_id,
        phone=row.phone,
        email=row.email,
        active=row.active,
        updated_at=row.updated_at,
    )


def list_agents(
    session: Session, *, team: str | None = None, include_inactive: bool = False
) -> list[AgentRecord]:
    """Agents by team then name; only active ones unless asked."""
    query = select(AgentRow).order_by(AgentRow.team_id, AgentRow.name, AgentRow.external_id)
    if team is not None:
        query = query.where(AgentRow.team_id == team)
    if not include_inactive:
        query = query.where(AgentRow.active)
    return [_record(r) for r in session.scalars(query)]


def team_contacts(session: Session, teams: Iterable[str]) -> list[AgentContact]:
    """The active agents of these teams, as the communication plan needs them."""
    wanted = sorted(set(teams))
    if not wanted:
        return []
    query = (
        select(AgentRow)
        .where(AgentRow.team_id.in_(wanted), AgentRow.active)
        .order_by(AgentRow.team_id, AgentRow.name, AgentRow.external_id)
    )
    return [AgentContact(r.team_id, r.name, r.phone, r.email) for r in session.scalars(query)]
