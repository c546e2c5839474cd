"""The `standby` command: a thin edge that parses, calls the plan and services, and renders.

One module per group of commands (cli.py grew past 800 lines); importing this package
registers them all on `app`, in the order `standby --help` lists them.
"""

# isort: off
# The order of these imports is the order of the commands in `standby --help`.
from standby.cli import plan, impact, queueing, serve, access
from standby.cli import receivers, forecaster
from standby.cli.common import app, main

# isort: on

__all__ = ["access", "app", "forecaster", "impact", "main", "plan", "queueing", "receivers", "serve"]
