"""The plan file, watched: a changed file becomes a new plan version without a restart.

A plan that no longer validates is not loaded: the version in force stays in force,
and the problems are kept for the overview page to show, because a typo in the plan
must never take Standby's picture of the centre away in the middle of an outage.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from standby.clock import Clock
from standby.errors import PlanInvalid, PlanProblem
from standby.plan.loading import load_plan_text
from standby.plan.versions import PlanVersionInfo, record_plan
from standby.store.engine import unit_of_work

log = logging.getLogger("standby.plan")


@dataclass(frozen=True)
class PlanFileStatus:
    """What the last look at the plan file found."""

    path: Path
    problems: tuple[PlanProblem, ...] = ()
    version: PlanVersionInfo | None = None

    @property
    def rendered_problems(self) -> list[str]:
        """The problems as `PLAN:LINE:COLUMN: message`."""
        return [problem.render(str(self.path)) for problem in self.problems]


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

    @property
    def status(self) -> PlanFileStatus:
        """The outcome of the last look (no problems before the first)."""
        return self._status or PlanFileStatus(self.path)

    def look(self) -> PlanFileStatus:
        """Read the file; when its bytes changed, validate and record it as a new version."""
        with self._lock:
            try:
                raw = self.path.read_bytes()
                digest = hashlib.sha256(raw).hexdigest()
            except OSError as exc:
                # A file being replaced by an editor can vanish for a moment: keep what is in force.
                problem = PlanProblem(1, 1, f"cannot read the plan: {exc.strerror}")
                self._status = PlanFileStatus(self.path, (problem,))
                return self._status
            if digest == self._seen and self._status is not None:
                return self._status
            self._seen = digest
            self._status = self._load(raw)
            return self._status

    def _load(self, raw: bytes) -> PlanFileStatus:
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
            info = record_plan(
                session, plan=plan, source=source, now=self.clock.now(), loaded_by=self.loaded_by
            )
        if info.created:
            log.info("loaded plan version %d from %s", info.id, self.path)
        return PlanFileStatus(self.path, (), info)
