"""Schemathesis hooks for the contract test (loaded by the schemathesis process it runs).

The run is authenticated with one admin token, and DELETE /api/v1/tokens/{name} is among
the operations it drives: revoking its own token would turn every later request into a
401 and test nothing. That one request is pointed at another name instead.

GET /api/v1/stream is an event stream that stays open for `timeout_s` (an hour by
default) with keep-alives, so no read timeout ends it: each call is told to close after
a tenth of a second.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis

PROTECTED_TOKEN = os.environ.get("STANDBY_CONTRACT_TOKEN_NAME", "")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Keep the run's own token: a revocation of it goes to a name that is not it."""
    parameters = case.path_parameters
    if parameters and PROTECTED_TOKEN and parameters.get("name") == PROTECTED_TOKEN:
        parameters["name"] = f"{PROTECTED_TOKEN}-other"
    if case.path == "/api/v1/stream" and case.method == "GET":
        query = case.query if isinstance(case.query, dict) else {}
        if _seconds(query.get("timeout_s", "3600")) > 0.1:
            case.query = {**query, "timeout_s": "0.1"}


def _seconds(value: object) -> float:
    """A valid timeout_s as a number (values come as strings or numbers); 0 for an invalid one."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return 0
    try:
        return float(value)
    except ValueError:
        return 0
