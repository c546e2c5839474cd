"""The figures a benchmark hands to `benchmarks/run`: the one JSON object `--json` prints.

Every benchmark run with `--json` prints on stdout ONE JSON object with a key "ratios": a list
of figures, each {"name", "value", "target", "unit", "better"}: `unit` is "x" for a ratio,
"s" or "ms" for a time (or another unit, such as "MB" or "/s"), `better` is "higher" or
"lower". Other keys are allowed; "skipped" (a list of reasons, such as "PostgreSQL: no
--postgres URL") names the parts a run left out, which the runner shows instead of figures.
"""

from __future__ import annotations

import json
from typing import Any, Literal

Better = Literal["higher", "lower"]


def figure(name: str, value: float, target: float, unit: str, better: Better) -> dict[str, Any]:
    """One figure against its target, in the runner's schema."""
    return {"name": name, "value": float(value), "target": float(target), "unit": unit, "better": better}


def print_json(ratios: list[dict[str, Any]], skipped: list[str] | None = None, **extra: Any) -> None:
    """Print the one JSON object of a `--json` run on stdout: the figures, what was left out, the rest."""
    found: dict[str, Any] = {"ratios": ratios, **extra}
    if skipped:
        found["skipped"] = skipped
    print(json.dumps(found, default=str))
