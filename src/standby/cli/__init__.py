"""The `standby` command: a thin edge that parses, calls the plan and services, and renders.

One module per group of commands (cli.py grew past 800 lines); importing this package
registers them all on `app`, in the order `standby --help` lists them.
"""

import gc

from standby.garbage_collection import collection_paused

# Importing the commands makes some 30,000 objects that the cyclic collector tracks and
# that live as long as the process. It would walk them again and again while they are
# made, and in every full collection after: it is paused while they are made, and they
# are then frozen out of its sight (gc.freeze, as Python advises for a server's start).
# A tenth of a command's start (25 to 50 ms of 0.3 s, measured by turns).
with collection_paused():
    # isort: off
    # The order of these imports is the order of the commands in `standby --help`.
    from standby.cli import plan, impact, queueing, serve, access
    from standby.cli import receivers, forecaster
    from standby.cli.common import app, main

    # isort: on
    gc.freeze()  # before the collector is back: its first collection would walk them all

__all__ = ["access", "app", "forecaster", "impact", "main", "plan", "queueing", "receivers", "serve"]
