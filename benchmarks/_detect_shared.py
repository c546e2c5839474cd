"""The parts the detection benchmark's runs share: what a run measured, and the probes.

Used by benchmarks/detect_checks.py and its runs (_detect_checker.py, _detect_exporter.py,
_detect_worker.py); not a benchmark of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from _targets import HOST

CONCURRENCY = 256
KEPT_UP = 0.95
"""A worker kept up when it made at least this share of its due checks on time."""


@dataclass
class Run:
    """One measured run: who, which protocol, how many checks in how long for how much CPU."""

    tool: str
    protocol: str
    checks: int
    ok: int
    wall_s: float
    cpu_s: float
    targets_cpu_s: float
    driver_cpu_s: float | None = None
    note: str = ""
    failures: dict[str, int] = field(default_factory=dict)
    due_done: float | None = None
    """The worker: the share of due checks started on time (see `CountingChecker.due_done`)."""
    max_gap_s: float | None = None
    """The worker: the longest time between two checks of one probe."""

    @property
    def per_s(self) -> float:
        """Checks per second of wall time."""
        return self.checks / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_per_1000(self) -> float:
        """CPU seconds per 1,000 checks."""
        return 1000 * self.cpu_s / self.checks if self.checks else float("nan")

    @property
    def per_cpu_s(self) -> float:
        """Checks per CPU second."""
        return self.checks / self.cpu_s if self.cpu_s else float("inf")


def standby_probe(protocol: str, port: int, **timing: Any) -> Any:
    """The plan probe for target `port` over `protocol`, as a plan author would write it."""
    from standby.plan.probes import HttpProbe, SipOptionsProbe, TcpProbe

    if protocol == "tcp":
        return TcpProbe(type="tcp", target=f"{HOST}:{port}", **timing)
    if protocol == "http":
        return HttpProbe(type="http", target=f"http://{HOST}:{port}/", **timing)
    return SipOptionsProbe(type="sip_options", target=f"sip:ping@{HOST}:{port}", **timing)


def median_run(runs: list[Run]) -> Run:
    """The run with the median checks per CPU second, noting the range of all of them."""
    ordered = sorted(runs, key=lambda r: r.per_cpu_s)
    chosen = ordered[len(ordered) // 2]
    if len(runs) > 1:
        low, high = ordered[0].per_cpu_s, ordered[-1].per_cpu_s
        chosen.note = f"median of {len(runs)} runs; checks per CPU s from {low:,.0f} to {high:,.0f}" + (
            f"; {chosen.note}" if chosen.note else ""
        )
    return chosen
