"""`standby forecaster`: keep every open incident's live forecast fresh, in a process of its own."""

from __future__ import annotations

from standby.cli.common import app, fail, out
from standby.errors import StandbyError

PARENT_ENV = "STANDBY_FORECASTER_PARENT"
"""Set by `standby serve` to its process id: the forecaster it starts stops when it is gone."""


@app.command()
def forecaster() -> None:
    """Keep the live forecast of every open incident fresh (`standby serve` starts one by itself)."""
    # Imported here: numpy and the database are needed by this command only.
    import logging
    import os
    import signal
    import threading

    from standby.clock import SystemClock
    from standby.config import Settings
    from standby.forecast.runner import run_forecaster
    from standby.store.engine import make_engine, make_session_factory, mask_password
    from standby.store.migrations import upgrade

    try:
        settings = Settings.from_env()
        engine = make_engine(settings.database_url)
    except StandbyError as exc:
        raise fail(str(exc)) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.forecast_cpu < 1 and hasattr(os, "nice"):
        os.nice(10)  # behind the web app and the worker when the machine is busy; a whole core: as they are
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    parent = os.environ.get(PARENT_ENV, "")
    if parent.isdigit():
        # Started by `standby serve`: stop with it, even when it was killed without a word.
        def watch() -> None:
            while not stop.wait(1.0):
                if os.getppid() != int(parent):
                    stop.set()

        threading.Thread(target=watch, daemon=True).start()
    try:
        upgrade(engine)
        out.print(
            f"Forecaster on {mask_password(settings.database_url)}, using at most"
            f" {settings.forecast_cpu:.0%} of a core. Ctrl+C stops it.",
            markup=False,
            soft_wrap=True,
        )
        run_forecaster(
            make_session_factory(engine), SystemClock(), cpu_share=settings.forecast_cpu, stop=stop
        )
    except StandbyError as exc:
        raise fail(str(exc)) from None
    finally:
        engine.dispose()
