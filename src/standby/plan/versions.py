"""Plan versions: which plan was in force, and since when.

A service: it takes a Session and the time, and never commits (the unit of work does).
A new version is recorded whenever the loaded text differs from the version in force,
including a switch back to an earlier text, so the history answers "which plan was in
force at 03:12 last Tuesday" truthfully.

The server's own plan file and uploads through the API can disagree; `read_plan_file`
holds the rule of which wins (docs/operations.md, "Plan versions"): an edit of the file
seen while the server runs wins, as does a file changed after the version in force was
loaded; a file older than an upload in force, or holding a text already stored, does not
replace it, and a text not stored yet is set aside (kept, not in force).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from standby.errors import StorageError
from standby.plan.schema import Plan
from standby.store.tables import PlanSetAsideRow, PlanVersionRow

# Any fixed number will do: the same in every process, different from other locks.
_RECORD_LOCK_KEY = 0x5742_0002
_CACHE_SIZE = 8
_CACHE_LOCK = threading.Lock()
_PLAN_CACHE: OrderedDict[tuple[int, str], Plan] = OrderedDict()

FROM_PLAN_FILE = frozenset({"standby serve", "plan file"})
"""`loaded_by` of the versions read from the server's plan file (no username has a space)."""


@dataclass(frozen=True)
class PlanVersionInfo:
    """One stored version of the plan; `created` is False when the text was already in force."""

    id: int
    sha256: str
    loaded_at: datetime
    created: bool
    organisation: str = ""
    loaded_by: str | None = None
    counts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


def source_sha256(source: str) -> str:
    """The hex SHA-256 of the plan text, as UTF-8: the version's identity."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def record_plan(
    session: Session, *, plan: Plan, source: str, now: datetime, loaded_by: str | None = None
) -> PlanVersionInfo:
    """Store `plan` as the version in force unless its text already is; return that version.

    Only the latest version is compared: loading an earlier text again makes a new version.
    """
    if session.get_bind().dialect.name == "postgresql":
        # Two servers starting with the same plan must not both record it.
        session.execute(select(func.pg_advisory_xact_lock(_RECORD_LOCK_KEY)))
    digest = source_sha256(source)
    latest = _latest(session)
    if latest is not None and latest.sha256 == digest:
        return _info(latest, created=False)
    row = PlanVersionRow(
        sha256=digest,
        source=source,
        document=plan.model_dump(mode="json", by_alias=True),
        organisation=plan.organisation.name[:200],
        component_count=len(plan.components),
        site_count=len(plan.sites),
        queue_count=len(plan.queues),
        team_count=len(plan.teams),
        agent_count=sum(team.agents for team in plan.teams),
        loaded_at=now,
        loaded_by=loaded_by,
    )
    session.add(row)
    session.flush()
    return _info(row, created=True)


Outcome = Literal["in force", "loaded", "known", "set aside"]


@dataclass(frozen=True)
class PlanFileReading:
    """What reading the server's plan file did, and the version in force after it.

    `outcome`: "in force" (the file's text already is), "loaded" (a new version),
    "known" (an earlier version or set-aside text holds it: not loaded again), or
    "set aside" (older than the upload in force: kept, not in force).
    """

    outcome: Outcome
    in_force: PlanVersionInfo
    path: str
    changed_at: datetime
    file_version: int | None = None
    set_aside: int | None = None

    @property
    def note(self) -> str | None:
        """Why the file is not the version in force, in a sentence; None when it is."""
        if self.outcome in ("in force", "loaded"):
            return None
        force = self.in_force
        who = f" by {force.loaded_by}" if force.loaded_by else ""
        where = (
            f"its text is version {self.file_version}"
            if self.file_version is not None
            else f"its text is kept, set aside as #{self.set_aside}"
        )
        why = (
            "holds a text already stored, so it was not loaded again"
            if self.outcome == "known"
            else f"last changed at {self.changed_at.isoformat(timespec='seconds')}, before that version"
            " was loaded, so it was not put in force"
        )
        return (
            f"The plan file {self.path} differs from version {force.id} in force (loaded at"
            f" {force.loaded_at.isoformat(timespec='seconds')}{who}): it {why}; {where}."
            " POST it to /api/v1/plan, or save a change to the file while Standby runs, to put it in force."
        )


def read_plan_file(
    session: Session,
    *,
    plan: Plan,
    source: str,
    path: str,
    changed_at: datetime,
    seen_changing: bool,
    now: datetime,
    loaded_by: str = "plan file",
) -> PlanFileReading:
    """Put the server's plan file in force, or keep it aside, by the rule of which wins.

    `changed_at` is when the file last changed (its modification time); `seen_changing`
    says the server saw its bytes change while running, which makes it the newest word.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_RECORD_LOCK_KEY)))
    digest = source_sha256(source)
    latest = _latest(session)

    def reading(outcome: Outcome, in_force: PlanVersionInfo, **where: int | None) -> PlanFileReading:
        return PlanFileReading(outcome, in_force, path, changed_at, **where)

    if (
        latest is None
        or latest.sha256 == digest
        or seen_changing
        # The file is the plan's source while no upload stands between it and now.
        or latest.loaded_by in FROM_PLAN_FILE
    ):
        info = record_plan(session, plan=plan, source=source, now=now, loaded_by=loaded_by)
        return reading("loaded" if info.created else "in force", info, file_version=info.id)
    in_force = _info(latest, created=False)
    # A text stored before (a restart, a container or a deployment writing the same file
    # again) never undoes an upload, however new the file's modification time.
    stored = session.scalar(select(func.max(PlanVersionRow.id)).where(PlanVersionRow.sha256 == digest))
    kept = session.scalar(select(func.max(PlanSetAsideRow.id)).where(PlanSetAsideRow.sha256 == digest))
    if stored is not None or kept is not None:
        return reading("known", in_force, file_version=stored, set_aside=kept)
    if changed_at > latest.loaded_at:
        info = record_plan(session, plan=plan, source=source, now=now, loaded_by=loaded_by)
        return reading("loaded", info, file_version=info.id)
    row = PlanSetAsideRow(
        sha256=digest,
        source=source,
        path=path[:1000],
        changed_at=changed_at,
        read_at=now,
        in_force_version=latest.id,
    )
    session.add(row)
    session.flush()
    return reading("set aside", in_force, set_aside=row.id)


@dataclass(frozen=True)
class SetAsideInfo:
    """A plan file's text kept but not put in force."""

    id: int
    sha256: str
    path: str
    changed_at: datetime
    read_at: datetime
    in_force_version: int


def list_set_aside(session: Session) -> list[SetAsideInfo]:
    """Every plan file text set aside, newest first."""
    rows = session.scalars(select(PlanSetAsideRow).order_by(PlanSetAsideRow.id.desc()))
    return [SetAsideInfo(r.id, r.sha256, r.path, r.changed_at, r.read_at, r.in_force_version) for r in rows]


def current_plan(session: Session) -> tuple[PlanVersionInfo, Plan] | None:
    """The version in force and its plan, or None when no plan was ever loaded."""
    latest = _latest(session)
    if latest is None:
        return None
    return _info(latest, created=False), _rebuild(latest)


def plan_of_version(session: Session, version_id: int) -> tuple[PlanVersionInfo, Plan] | None:
    """A stored version and its plan by id, or None when there is no such version."""
    row = session.get(PlanVersionRow, version_id)
    if row is None:
        return None
    return _info(row, created=False), _rebuild(row)


def source_of_version(session: Session, version_id: int) -> str | None:
    """The plan text exactly as it was loaded, or None when there is no such version."""
    return session.scalar(select(PlanVersionRow.source).where(PlanVersionRow.id == version_id))


def list_versions(
    session: Session, *, before: int | None = None, limit: int | None = None
) -> list[PlanVersionInfo]:
    """Stored versions, newest first: every one, or a page of `limit` older than version `before`."""
    query = select(PlanVersionRow).order_by(PlanVersionRow.id.desc())
    if before is not None:
        query = query.where(PlanVersionRow.id < before)
    if limit is not None:
        query = query.limit(limit)
    return [_info(row, created=False) for row in session.scalars(query)]


def version_in_force(session: Session, at: datetime) -> PlanVersionInfo | None:
    """The version that was in force at `at`: the last loaded at or before it, or None."""
    row = session.scalars(
        select(PlanVersionRow)
        .where(PlanVersionRow.loaded_at <= at)
        .order_by(PlanVersionRow.loaded_at.desc(), PlanVersionRow.id.desc())
        .limit(1)
    ).first()
    return None if row is None else _info(row, created=False)


def _latest(session: Session) -> PlanVersionRow | None:
    # By id, not loaded_at: the order of recording is the order of loading, even when a
    # clock was set back between two loads.
    return session.scalars(select(PlanVersionRow).order_by(PlanVersionRow.id.desc()).limit(1)).first()


def _rebuild(row: PlanVersionRow) -> Plan:
    # Every API request asks for the plan in force; plans are immutable and the same text
    # always validates to the same plan, so a few are kept rather than rebuilt each time
    # (the document column is deferred, so a hit does not even read it).
    key = (row.id, row.sha256)
    with _CACHE_LOCK:
        cached = _PLAN_CACHE.get(key)
        if cached is not None:
            _PLAN_CACHE.move_to_end(key)
            return cached
    try:
        plan = Plan.model_validate(row.document)
    except ValidationError as exc:
        raise StorageError(
            f"plan version {row.id} no longer validates with this version of Standby"
            f" ({exc.error_count()} problem(s)); load the plan again"
        ) from None
    with _CACHE_LOCK:
        _PLAN_CACHE[key] = plan
        while len(_PLAN_CACHE) > _CACHE_SIZE:
            _PLAN_CACHE.popitem(last=False)
    return plan


def _info(row: PlanVersionRow, *, created: bool) -> PlanVersionInfo:
    return PlanVersionInfo(
        id=row.id,
        sha256=row.sha256,
        loaded_at=row.loaded_at,
        created=created,
        organisation=row.organisation,
        loaded_by=row.loaded_by,
        counts=MappingProxyType(
            {
                "components": row.component_count,
                "sites": row.site_count,
                "queues": row.queue_count,
                "teams": row.team_count,
                "agents": row.agent_count,
            }
        ),
    )
