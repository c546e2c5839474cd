"""The plan versions table: every plan text that was in force, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from standby.store.tables.base import Base, json_column


class PlanVersionRow(Base):
    """A plan as it was loaded: one row each time the text in force changed."""

    __tablename__ = "plan_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Not unique: a plan switched back to an earlier text is a new version, so that
    # "which plan was in force when" stays answerable.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # source and document are deferred: listing versions should not read whole plans.
    source: Mapped[str] = mapped_column(Text, deferred=True)
    # The validated plan as the loader produced it (field aliases as keys), so reading
    # it back needs no YAML parsing and no line numbers.
    document: Mapped[dict[str, Any]] = mapped_column(json_column(), deferred=True)
    organisation: Mapped[str] = mapped_column(String(200))
    component_count: Mapped[int] = mapped_column(Integer)
    site_count: Mapped[int] = mapped_column(Integer)
    queue_count: Mapped[int] = mapped_column(Integer)
    team_count: Mapped[int] = mapped_column(Integer)
    agent_count: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime] = mapped_column(index=True)
    loaded_by: Mapped[str | None] = mapped_column(String(100))


class PlanSetAsideRow(Base):
    """A plan file's text read at start but not put in force: a newer upload was in force.

    Kept so that nothing the file said is lost; POST it to /api/v1/plan (or save the
    file again while the server runs) to put it in force.
    """

    __tablename__ = "plan_set_aside"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(Text, deferred=True)
    path: Mapped[str] = mapped_column(String(1000))
    # When the file last changed (its modification time), and when the server read it.
    changed_at: Mapped[datetime]
    read_at: Mapped[datetime]
    # The version that stayed in force, because it was loaded after the file changed.
    in_force_version: Mapped[int] = mapped_column(Integer)
