"""What every request handler needs, built once by `create_app` and kept on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from standby.clock import Clock
from standby.config import Settings
from standby.plan.watch import PlanFileWatch
from standby.web.live import TopologyCache
from standby.web.rendered import Body, ReadLane, Rendered

# A shift and a half: a manager signed in at the start of a long day stays signed in.
SESSION_LIFETIME = timedelta(hours=12)
SESSION_COOKIE = "standby_session"


def package_dir(name: str) -> Path:
    """A folder shipped inside standby.web (templates, static)."""
    return Path(str(resources.files("standby.web").joinpath(name)))


@dataclass
class WebContext:
    """Settings, clock, database sessions, templates and caches shared by all requests."""

    settings: Settings
    clock: Clock
    session_factory: sessionmaker[Session]
    templates: Jinja2Templates
    topologies: TopologyCache = field(default_factory=TopologyCache)
    # Answers built once per change of what they show (standby.web.rendered).
    rendered: Rendered[Body] = field(default_factory=Rendered)
    overview_parts: Rendered[str] = field(default_factory=Rendered)
    overview_pages: Rendered[bytes] = field(default_factory=Rendered)
    hot_reads: ReadLane = field(default_factory=ReadLane)
    plan_watch: PlanFileWatch | None = None

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies are marked Secure: when the public address is https."""
        return (self.settings.public_url or "").lower().startswith("https://")


async def get_context(request: Request) -> WebContext:
    """The app's WebContext (a FastAPI dependency; async, so no request waits on a thread for it)."""
    context: WebContext = request.app.state.standby
    return context


Context = Annotated[WebContext, Depends(get_context)]
