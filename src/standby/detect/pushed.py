"""Pushed probes judged: a heartbeat's silence or a metric's window, read from what was pushed.

Heartbeats and metric samples come to Standby (`detect.receivers`); a worker holding
such a probe "checks" it by reading them. Reads only, in the caller's session.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from standby.detect.health import heartbeat_verdict, metric_ok
from standby.detect.probes.result import CheckResult
from standby.plan.probes import HeartbeatProbe, MetricProbe
from standby.store.tables import HeartbeatRow, MetricSampleRow


def pushed_result(
    session: Session,
    *,
    probe: HeartbeatProbe | MetricProbe,
    component_id: str,
    watched_since: datetime,
    at: datetime,
) -> tuple[CheckResult, datetime | None] | None:
    """A pushed probe's result at `at` and when what it shows began; None when it says nothing yet."""
    if isinstance(probe, HeartbeatProbe):
        last = session.scalar(select(HeartbeatRow.last_at).where(HeartbeatRow.component_id == component_id))
        verdict = heartbeat_verdict(last, every_s=probe.every_s, watched_since=watched_since, now=at)
        if verdict.ok is None:
            return None  # no heartbeat yet, within the grace period: neither up nor down
        if last is None:
            detail = f"no heartbeat in {(at - watched_since).total_seconds():.0f} s"
        else:
            ago = (at - last).total_seconds()
            detail = f"last heartbeat {ago:.0f} s ago (expected every {probe.every_s:g} s)"
        return CheckResult(verdict.ok, detail, None), verdict.evidence_at
    since = at - timedelta(seconds=probe.window_s)
    values = session.scalars(
        select(MetricSampleRow.value).where(
            MetricSampleRow.metric == probe.metric,
            MetricSampleRow.at >= since,
            MetricSampleRow.at <= at,
        )
    )
    ok, detail = metric_ok(values, above=probe.above, below=probe.below)
    return CheckResult(ok, f"{probe.metric}: {detail}", None), None
