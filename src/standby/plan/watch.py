"""The plan file, watched: a changed file becomes a new plan version without a restart.

A plan that no longer validates is not loaded: the version in force stays in force,
and the problems are kept for the overview page to show, because a typo in the plan
must never take Standby's picture of the centre away in the middle of an outage.

The first look (at start) does not replace a newer upload with an older file: which
wins is `plan.versions.read_plan_file`'s rule. A change seen while running always wins.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from standby.clock import Clock
from standby.errors import PlanInvalid, PlanProblem
from standby.plan.loading import load_plan_text
from standby.plan.versions import PlanFileReading, PlanVersionInfo, read_plan_file, source_sha256
from standby.store.engine import unit_of_work

log = logging.getLogger("standby.plan")


@dataclass(frozen=True)
class PlanFileStatus:
    """What the last look at the plan file found."""

    path: Path
    problems: tuple[PlanProblem, ...] = ()
    version: PlanVersionInfo | None = None
    reading: PlanFileReading | None = None
    sha256: str | None = None
    """Of the file's text as it is stored (the version's identity), once it validated."""

    @property
    def rendered_problems(self) -> list[str]:
        """The problems as `PLAN:LINE:COLUMN: message`."""
        return [problem.render(str(self.path)) for problem in self.problems]

    def differs_from(self, in_force: PlanVersionInfo) -> str | None:
        """A note when the valid file is not the version in force (None when it is, or is broken)."""
        if self.sha256 is None or self.sha256 == in_force.sha256:
            return None
        if self.reading is not None and self.reading.in_force.id == in_force.id and self.reading.note:
            return self.reading.note
        who = f" by {in_force.loaded_by}" if in_force.loaded_by else ""
        return (
            f"The plan file {self.path} differs from version {in_force.id} in force, loaded at"
            f" {in_force.loaded_at.isoformat(timespec='seconds')}{who} after the file last changed."
            " Save a change to the file, or POST it to /api/v1/plan, to put the file in force."
        )


@dataclass
class PlanFileWatch:
    """Loads the plan file again whenever its bytes change; safe to call from several threads."""

    path: Path
    session_factory: sessionmaker[Session]
    clock: Clock
    loaded_by: str = "plan file"
    _seen: str | None = None
    _status: PlanFileStatus | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _unseen: PlanFileStatus = field(init=False)

    def __post_init__(self) -> None:
        # One object until the first look: pages kept per status (by identity) stay valid.
        self._unseen = PlanFileStatus(self.path)

    @property
    def status(self) -> PlanFileStatus:
        """The outcome of the last look (no problems before the first); a new object only when a look
        found something new."""
        return self._status or self._unseen

    def look(self) -> PlanFileStatus:
        """Read the file; when its bytes changed, validate and record it as a new version."""
        with self._lock:
            try:
                raw = self.path.read_bytes()
                changed_at = datetime.fromtimestamp(self.path.stat().st_mtime, UTC)
                digest = hashlib.sha256(raw).hexdigest()
            except OSError as exc:
                # A file being replaced by an editor can vanish for a moment: keep what is in force.
                problem = PlanProblem(1, 1, f"cannot read the plan: {exc.strerror}")
                self._status = PlanFileStatus(self.path, (problem,))
                return self._status
            if digest == self._seen and self._status is not None:
                return self._status
            # Bytes this process saw change are an edit made now: the newest word.
            seen_changing = self._seen is not None
            self._seen = digest
            self._status = self._load(raw, changed_at, seen_changing)
            return self._status

    def _load(self, raw: bytes, changed_at: datetime, seen_changing: bool) -> PlanFileStatus:
        try:
            plan = load_plan_text(raw)
        except PlanInvalid as invalid:
            log.warning(
                "the plan file %s has %d problem(s); the version in force stays in force",
                self.path,
                len(invalid.problems),
            )
            return PlanFileStatus(self.path, tuple(invalid.problems))
        source = raw.decode("utf-8-sig")  # valid: the loader has just read it
        with unit_of_work(self.session_factory) as session:
            reading = read_plan_file(
                session,
                plan=plan,
                source=source,
                path=str(self.path),
                changed_at=changed_at,
                seen_changing=seen_changing,
                now=self.clock.now(),
                loaded_by=self.loaded_by,
            )
        if reading.outcome == "loaded":
            log.info("loaded plan version %d from %s", reading.in_force.id, self.path)
        elif reading.note is not None:
            log.warning("%s", reading.note)
        in_force = reading.in_force if reading.outcome in ("in force", "loaded") else None
        return PlanFileStatus(self.path, (), in_force, reading, source_sha256(source))
