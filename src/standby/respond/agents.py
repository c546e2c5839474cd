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

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from standby.errors import Conflict, InvalidInput
from standby.notify.validate import email_address, phone_number
from standby.plan.rules import suggest
from standby.plan.schema import Plan
from standby.respond.communication import AgentContact
from standby.store.tables import AgentRow

COLUMNS = ("external_id", "name", "team", "phone", "email")
REQUIRED = ("external_id", "name", "team")
MAX_ROWS = 50_000
MAX_ID = 100
MAX_NAME = 200
EXTRA = "\0extra"
"""Key under which a parsed CSV row says it had more values than columns."""
MAX_PROBLEMS = 1000
"""At most this many problems are reported; a file with more is wrong throughout."""


@dataclass(frozen=True, order=True)
class RowProblem:
    """One thing wrong with an import: its row (CSV: the line; JSON: the item, from 1) and column."""

    row: int
    column: str | None
    message: str


class AgentRowsInvalid(InvalidInput):
    """An import with bad rows: every problem, in row order; nothing was written."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        """Hold every problem; the message names the first."""
        self.problems = sorted(problems)[:MAX_PROBLEMS]
        first = self.problems[0]
        where = f"row {first.row}" + (f", {first.column}" if first.column else "")
        super().__init__(f"{len(problems)} problem(s) in the agents; first: {where}: {first.message}")


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


def parse_csv(text: str) -> list[tuple[int, dict[str, Any]]]:
    """The rows of a CSV import with their line numbers; AgentRowsInvalid for a bad header."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise AgentRowsInvalid([RowProblem(1, None, f"not CSV: {exc}")]) from None
    if header is None or not any(cell.strip() for cell in header):
        raise AgentRowsInvalid(
            [RowProblem(1, None, f"no header row: the first line names the columns, {','.join(COLUMNS)}")]
        )
    names = [cell.strip().lower() for cell in header]
    problems = _header_problems(names)
    if problems:
        raise AgentRowsInvalid(problems)
    rows: list[tuple[int, dict[str, Any]]] = []
    line = reader.line_num
    try:
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            padded = [*cells, *[""] * (len(names) - len(cells))]
            values: dict[str, Any] = dict(zip(names, padded, strict=False))
            if len(cells) > len(names):
                values[EXTRA] = f"{len(cells)} values for {len(names)} columns (a stray comma?)"
            rows.append((start, values))
            if len(rows) > MAX_ROWS:
                too_many = RowProblem(start, None, f"more than {MAX_ROWS} agents in one import")
                raise AgentRowsInvalid([too_many])
    except csv.Error as exc:
        problems.append(RowProblem(reader.line_num, None, f"not CSV: {exc}"))
    if problems:
        raise AgentRowsInvalid(problems)
    return rows


def _header_problems(names: list[str]) -> list[RowProblem]:
    problems: list[RowProblem] = []
    seen: set[str] = set()
    for name in names:
        if name not in COLUMNS:
            problems.append(
                RowProblem(1, name or "(empty)", f"unknown column{suggest(name, COLUMNS)}; the columns are"
                           f" {','.join(COLUMNS)}")
            )
        elif name in seen:
            problems.append(RowProblem(1, name, "the column is named twice"))
        seen.add(name)
    for name in REQUIRED:
        if name not in seen:
            problems.append(RowProblem(1, name, "missing column: it is required"))
    return problems


def parse_json(document: Any) -> list[tuple[int, dict[str, Any]]]:
    """The items of a JSON import (a list, or {"agents": [...]}), numbered from 1."""
    if isinstance(document, dict) and set(document) == {"agents"}:
        document = document["agents"]
    if not isinstance(document, list):
        raise AgentRowsInvalid(
            [RowProblem(0, None, 'expected a JSON list of agents, or {"agents": [...]}')]
        )
    if len(document) > MAX_ROWS:
        raise AgentRowsInvalid([RowProblem(0, None, f"more than {MAX_ROWS} agents in one import")])
    rows: list[tuple[int, dict[str, Any]]] = []
    problems: list[RowProblem] = []
    for number, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            problems.append(RowProblem(number, None, f"expected an object with {', '.join(COLUMNS)}"))
            continue
        unknown = [k for k in item if k not in COLUMNS]
        for key in unknown:
            problems.append(
                RowProblem(number, str(key)[:60], f"unknown field{suggest(str(key), COLUMNS)}")
            )
        if not unknown:
            rows.append((number, dict(item)))
    if problems:
        raise AgentRowsInvalid(problems)
    return rows


def validate_rows(rows: Sequence[tuple[int, Mapping[str, Any]]], *, teams: Iterable[str]) -> list[AgentInput]:
    """Every row checked against the plan's teams; AgentRowsInvalid with every problem found."""
    team_ids = list(teams)
    known = set(team_ids)
    problems: list[RowProblem] = []
    found: list[AgentInput] = []
    first_row: dict[str, int] = {}
    if not rows:
        raise AgentRowsInvalid([RowProblem(0, None, "no agents in the import")])
    for number, row in rows:
        before = len(problems)

        def problem(column: str | None, message: str, number: int = number) -> None:
            problems.append(RowProblem(number, column, message))

        if row.get(EXTRA):
            problem(None, str(row[EXTRA]))
        external_id = _text(row.get("external_id"), "external_id", MAX_ID, problem, required=True)
        name = _text(row.get("name"), "name", MAX_NAME, problem, required=True)
        team = _text(row.get("team"), "team", MAX_ID, problem, required=True)
        if team is not None and team not in known:
            listed = ", ".join(team_ids[:12]) + (" ..." if len(team_ids) > 12 else "")
            hint = suggest(team, team_ids)
            problem("team", f"unknown team {team!r}{hint}; the plan's teams: {listed or 'none'}")
        phone = _text(row.get("phone"), "phone", 40, problem)
        if phone is not None:
            try:
                phone = phone_number(phone)
            except InvalidInput as exc:
                problem("phone", str(exc))
        email = _text(row.get("email"), "email", 320, problem)
        if email is not None:
            try:
                email = email_address(email)
            except InvalidInput as exc:
                problem("email", str(exc))
        if external_id is not None:
            if external_id in first_row:
                problem("external_id", f"{external_id!r} is also on row {first_row[external_id]}")
            else:
                first_row[external_id] = number
        if len(problems) == before and external_id and name and team:
            found.append(AgentInput(number, external_id, name, team, phone, email))
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise AgentRowsInvalid(problems)
    return found


def _text(value: Any, column: str, limit: int, problem: Any, *, required: bool = False) -> str | None:
    if value is None:
        text = ""
    elif isinstance(value, bool) or not isinstance(value, str | int):
        problem(column, f"expected text, got {type(value).__name__}")
        return None
    elif isinstance(value, int) and column == "phone":
        problem(column, "write the phone number as text in quotes, such as \"+447700900123\"")
        return None
    else:
        text = " ".join(str(value).split())
    if not text:
        if required:
            problem(column, "required: it is empty")
        return None
    if len(text) > limit:
        problem(column, f"too long: {len(text)} characters, at most {limit}")
        return None
    return text


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
            "name": agent.name, "team_id": agent.team_id, "phone": agent.phone, "email": agent.email,
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
