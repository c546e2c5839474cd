"""The app factory: `create_app(settings)` builds the web app; importing this builds nothing."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import anyio.to_thread
import jinja2
from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import BaseRoute

from standby.clock import Clock, SystemClock
from standby.config import Settings
from standby.errors import StandbyError
from standby.observe.address import MetricsAddress
from standby.observe.instruments import StandbyMetrics
from standby.plan.diagram_placing import svg_path
from standby.plan.watch import PlanFileWatch
from standby.status.board import StatusBoard
from standby.status.fanout_service import tell_subscribers
from standby.status.snapshot import Snapshot
from standby.store.engine import make_engine, make_session_factory
from standby.web import api, pages
from standby.web.context import WebContext, package_dir
from standby.web.contract import install_contract
from standby.web.errors import install_error_handlers
from standby.web.headers import SecurityHeaders
from standby.web.hot_fast import HotFastPath
from standby.web.metrics import RequestMetrics
from standby.web.metrics import router as metrics_router
from standby.web.pages.navigation import navigation
from standby.web.quick_door import QuickDoor
from standby.web.status_fast import StatusFastPath
from standby.web.status_render import renderer

PLAN_WATCH_EVERY_S = 5.0
log = logging.getLogger("standby.web")


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    session_factory: sessionmaker[Session] | None = None,
    plan_watch: PlanFileWatch | None = None,
    plan_watch_every_s: float = PLAN_WATCH_EVERY_S,
    background: Sequence[Callable[[asyncio.Event], Coroutine[Any, Any, object]]] = (),
    metrics: StandbyMetrics | None = None,
) -> FastAPI:
    """The web app: API, pages and static files, on `session_factory` or settings' database.

    When no session factory is given, the app makes its own engine from
    `settings.database_url` and disposes of it at shutdown. Migrations are the caller's
    business (`standby serve` runs them first). `metrics` is shared with a worker in the
    same process (its checks); else the app makes its own registry.
    """
    owned_engine = None
    if session_factory is None:
        owned_engine = make_engine(settings.database_url)
        session_factory = make_session_factory(owned_engine)
    if clock is None:
        clock = SystemClock()
    if metrics is None:
        lease_s = settings.worker_lease_s
        metrics = StandbyMetrics(session_factory=session_factory, clock=clock, lease_s=lease_s)
    registry = metrics.registry

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        address = None
        if settings.metrics_address is not None:
            # First: an address that cannot be had stops the start before anything runs.
            address = MetricsAddress(registry, *settings.metrics_address).start()
        watching = None
        if plan_watch is not None:
            watching = asyncio.create_task(_watch_plan(plan_watch, plan_watch_every_s))
        # Work beside the web app (the worker): told to stop, then awaited, at shutdown.
        stop = asyncio.Event()
        beside = [asyncio.create_task(job(stop)) for job in (*background, status_board.run)]
        try:
            yield
        finally:
            if address is not None:
                address.stop()
            stop.set()
            if beside:
                await asyncio.gather(*beside, return_exceptions=True)
            if watching is not None:
                watching.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watching
            await quick_door.close()
            if owned_engine is not None:
                owned_engine.dispose()

    app = FastAPI(
        title="Standby",
        version=_version(),
        summary="Keeps a contact centre answering when its systems fail.",
        # FastAPI's Swagger UI and ReDoc load scripts from a CDN, which a closed network
        # cannot reach: /docs is Standby's own page (pages/reference.py).
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        routes=list(_routes()),
    )
    templates = _templates()
    app.state.standby = WebContext(
        settings=settings,
        clock=clock,
        session_factory=session_factory,
        templates=templates,
        plan_watch=plan_watch,
    )
    app.state.metrics = metrics
    # Who asks and the change mark, in one statement, for the overview and the components list.
    quick_door = QuickDoor(session_factory)
    app.state.quick_door = quick_door
    # The public status page's documents, rendered once per change by a task beside the app.
    render = renderer(templates, settings.base_url.rstrip("/"))
    base_url = settings.base_url.rstrip("/")

    def tell(session: Session, snapshot: Snapshot, now: datetime) -> int:
        return tell_subscribers(session, snapshot, base_url=base_url, now=now)

    status_board = StatusBoard(session_factory, clock, render, write_to=settings.status_dir, tell=tell)
    app.state.status_board = status_board
    install_error_handlers(app)
    app.add_middleware(HotFastPath, web=app)  # inside the headers and the metrics: counted, dressed
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestMetrics, metrics=metrics)
    app.add_middleware(StatusFastPath, board=status_board)  # outermost of ours: a surge skips the rest
    install_contract(app)
    app.mount("/static", StaticFiles(directory=package_dir("static")), name="static")
    return app


@functools.cache
def _routes() -> tuple[BaseRoute, ...]:
    """The API's and the pages' routes, built once per process and shared by every app built in it.

    FastAPI reads each endpoint's signature and builds its validators the first time a request
    walks its router: about 0.3 s of CPU for Standby's routes. A server builds one app, but the
    tests and the benchmarks build hundreds in one process. What a route needs of its app
    (settings, database, clock) it takes from `request.app.state`, so one table serves all;
    only `app.dependency_overrides` would not reach it, and Standby sets none.
    """
    table = APIRouter(strict_content_type=True)  # as FastAPI's own router has it
    for router in [*pages.front(), *api.routers(), *pages.routers(), metrics_router]:
        table.include_router(router)
    return tuple(table.routes)


async def _watch_plan(watch: PlanFileWatch, every_s: float) -> None:
    """Look at the plan file now and then, off the event loop (it reads a file and the database)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await anyio.to_thread.run_sync(watch.look)
        except StandbyError as exc:  # the database may be briefly away: look again next time
            log.warning("could not load the plan file: %s", exc)


def _templates() -> Jinja2Templates:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(package_dir("templates")),
        autoescape=True,  # every template is HTML or inline SVG
        undefined=jinja2.StrictUndefined,  # a misspelt name fails a test, not a page silently
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["svg_path"] = svg_path
    environment.globals["navigation"] = navigation
    return Jinja2Templates(env=environment)


def _version() -> str:
    try:
        return version("standby")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"
