"""`standby serve` (migrate, load the plan, make sure an admin exists, serve) and `standby worker`."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from standby.cli.common import app, fail, out, read_plan
from standby.cli.forecaster import PARENT_ENV
from standby.errors import StandbyError

if TYPE_CHECKING:  # asyncio costs every command 20 ms to import; only serving needs it
    import asyncio


@app.command()
def serve(
    plan_option: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            help="The plan to load (YAML).",
            show_default="STANDBY_PLAN, else DATA_DIR/plan.yaml (the reference plan the first time)",
        ),
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on.", show_default="STANDBY_HOST or 127.0.0.1")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port to listen on.", show_default="STANDBY_PORT or 8080"),
    ] = None,
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="Serve only the web app, for several servers behind a load balancer; run"
            " `standby worker` elsewhere (probes, outages). By default the worker runs in this process.",
        ),
    ] = False,
    no_forecaster: Annotated[
        bool,
        typer.Option(
            "--no-forecaster",
            help="Start no forecaster beside the web app; run `standby forecaster` elsewhere."
            " By default one runs in a process of its own (STANDBY_FORECAST_CPU).",
        ),
    ] = False,
    access_log: Annotated[
        bool | None,
        typer.Option(
            "--access-log/--no-access-log",
            help="Log every request (uvicorn's access log). Off when a proxy in front logs them already.",
            show_default="STANDBY_ACCESS_LOG, else on",
        ),
    ] = None,
) -> None:
    """Run the web app (API and pages): migrate, load the plan, make sure an admin exists, serve."""
    # Imported here: the web stack is needed by this command only, and `standby check` stays quick.
    import dataclasses
    import functools
    import gc
    import os
    import sys

    import uvicorn

    from standby.access.service import ADMIN_USERNAME, ensure_admin
    from standby.clock import SystemClock
    from standby.config import Settings, ensure_secret_key
    from standby.detect.runner import run_worker
    from standby.observe.instruments import StandbyMetrics
    from standby.plan.shipped import reference_plan_text
    from standby.plan.watch import PlanFileWatch
    from standby.store.engine import make_engine, make_session_factory, mask_password, unit_of_work
    from standby.store.migrations import upgrade
    from standby.web.app import create_app
    from standby.web.status_wire import status_wire

    try:
        settings = Settings.from_env()
    except StandbyError as exc:
        raise fail(str(exc)) from None
    path = plan_option or settings.plan_path or settings.data_dir / "plan.yaml"
    if plan_option is None and settings.plan_path is None and not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(reference_plan_text(), encoding="utf-8")
        except OSError as exc:
            raise fail(f"cannot write the starter plan {path}: {exc.strerror}") from None
        out.print(
            f"No plan given: wrote the reference plan to {path}. Edit it for your centre"
            " (Standby loads each saved change), or pass --plan PLAN.",
            markup=False,
            soft_wrap=True,
        )
    plan = read_plan(path)  # every problem as PLAN:LINE:COLUMN, then exit 2
    settings = dataclasses.replace(
        settings, plan_path=path, host=host or settings.host, port=port or settings.port
    )
    clock = SystemClock()
    try:
        settings = ensure_secret_key(settings)
        engine = make_engine(settings.database_url)
    except StandbyError as exc:
        raise fail(str(exc)) from None
    forecasting: subprocess.Popen[bytes] | None = None
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        with unit_of_work(factory) as session:
            password = ensure_admin(session, password=settings.admin_password, now=clock.now())
        # The file is read as the watcher reads it, by the rule of which wins: an upload
        # made after the file last changed stays in force (docs/operations.md).
        watch = PlanFileWatch(path, factory, clock)
        reading = watch.look().reading
        if reading is None:
            raise fail(f"cannot read the plan {path}")
        if reading.note is not None:
            out.print(reading.note, markup=False, soft_wrap=True)
        else:
            state = "a new version" if reading.outcome == "loaded" else "unchanged since it was last loaded"
            out.print(
                f"Plan {path}: {plan.organisation.name}, version {reading.in_force.id} ({state}).",
                markup=False,
                soft_wrap=True,
            )
        out.print(f"Database: {mask_password(settings.database_url)}", markup=False, soft_wrap=True)
        if password is not None and settings.admin_password is None:
            out.print(
                f"\n  Log in as {ADMIN_USERNAME} with password {password}\n"
                "  (shown only this once: it is stored hashed; set STANDBY_ADMIN_PASSWORD to"
                " choose it yourself)\n",
                markup=False,
                soft_wrap=True,
            )
        elif password is not None:
            out.print(
                f"Created user {ADMIN_USERNAME} with the password in STANDBY_ADMIN_PASSWORD.",
                markup=False,
            )
        else:
            out.print(
                f"User {ADMIN_USERNAME} exists: use the password printed on the first start"
                f" (lost it? standby user set-password {ADMIN_USERNAME}).",
                markup=False,
                soft_wrap=True,
            )
        listen = dataclasses.replace(settings, public_url=None).base_url
        out.print(
            f"Open {listen}/ and log in as {ADMIN_USERNAME}; scripts use"
            " 'Authorization: Bearer TOKEN' (standby token create). Ctrl+C stops the server.",
            markup=False,
            soft_wrap=True,
        )
        # One registry for the web app and the worker beside it: /metrics shows its checks.
        metrics = StandbyMetrics(session_factory=factory, clock=clock, lease_s=settings.worker_lease_s)
        background: list[Callable[[asyncio.Event], Coroutine[Any, Any, object]]] = []
        if no_worker:
            out.print("--no-worker: no worker runs here; run `standby worker` for probes and outages.")
        else:
            background.append(
                functools.partial(
                    run_worker, settings=settings, session_factory=factory, clock=clock, observer=metrics
                )
            )
            out.print("The worker runs in this process: probes, alerts and outages.")
        web = create_app(
            settings,
            clock=clock,
            session_factory=factory,
            plan_watch=watch,
            background=background,
            metrics=metrics,
        )
        if no_forecaster:
            out.print("--no-forecaster: run `standby forecaster` for the incidents' live forecasts.")
        else:
            # A process of its own: the simulation never holds the web app's or the worker's CPU.
            env = dict(os.environ, STANDBY_DATABASE_URL=settings.database_url)
            env[PARENT_ENV] = str(os.getpid())
            forecasting = subprocess.Popen([sys.executable, "-m", "standby", "forecaster"], env=env)
            out.print(f"The forecaster runs in process {forecasting.pid}: live forecasts of open incidents.")
            background.append(functools.partial(_stop_with_the_app, forecasting))
        # What was made so far (modules, the app, its routes, the plan) lives as long as the
        # process: out of the collector's sight, a full collection of what requests leave
        # behind takes a millisecond instead of some 300 ms of some 190,000 objects, a pause
        # every request in flight would wait out (docs/benchmarks.md, the API under load).
        gc.freeze()
        # proxy_headers off: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1;
        # Standby reads it itself, and only from STANDBY_TRUSTED_PROXIES (the login limits).
        # http: uvicorn's httptools protocol, answering the rendered status documents itself,
        # before any ASGI cycle (web/status_wire.py): a surge on /status costs a fraction.
        uvicorn.run(
            web,
            host=settings.host,
            port=settings.port,
            http=status_wire(web.state.status_board),
            log_level="info",
            access_log=settings.access_log if access_log is None else access_log,
            proxy_headers=False,
        )
    except StandbyError as exc:
        raise fail(str(exc)) from None
    finally:
        if forecasting is not None and forecasting.poll() is None:
            _stop_process(forecasting)  # the app never started: its shutdown did not stop it
        engine.dispose()


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


async def _stop_with_the_app(process: subprocess.Popen[bytes], stop: asyncio.Event) -> None:
    """Stop the forecaster when the web app shuts down (before uvicorn re-raises its signal)."""
    import asyncio

    await stop.wait()
    await asyncio.to_thread(_stop_process, process)


@app.command()
def worker() -> None:
    """Run the worker alone: probes, alerts and outages, sharing the database with other workers."""
    import asyncio
    import logging
    import signal

    from standby.clock import SystemClock
    from standby.config import Settings, ensure_secret_key
    from standby.detect.runner import run_worker
    from standby.observe.address import MetricsAddress
    from standby.observe.instruments import StandbyMetrics
    from standby.store.engine import make_engine, make_session_factory, mask_password
    from standby.store.migrations import upgrade

    try:
        # Every worker and server must share the key (acknowledgement links are signed
        # by one and checked by another): set STANDBY_SECRET_KEY beyond one machine.
        settings = ensure_secret_key(Settings.from_env())
        engine = make_engine(settings.database_url)
    except StandbyError as exc:
        raise fail(str(exc)) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        out.print(
            f"Worker on {mask_password(settings.database_url)}: it checks its share of the probes"
            " of the plan in force. Ctrl+C stops it (its probes go to the other workers).",
            markup=False,
            soft_wrap=True,
        )

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            done = await run_worker(
                stop, settings=settings, session_factory=factory, clock=SystemClock(), observer=metrics
            )
            out.print(
                f"Worker {done.id} stopped after {done.stats.checks} checks and"
                f" {done.stats.correlations} correlations.",
                markup=False,
            )

        # Its own checks only: the database's figures come from the web servers' /metrics.
        metrics = StandbyMetrics()
        if settings.metrics_address is None:
            asyncio.run(main())
        else:
            host, port = settings.metrics_address
            with MetricsAddress(metrics.registry, host, port):
                out.print(f"Metrics on http://{host}:{port}/metrics", markup=False, soft_wrap=True)
                asyncio.run(main())
    except StandbyError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()
