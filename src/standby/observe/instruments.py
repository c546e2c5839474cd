"""Standby's metrics: one registry per app (or worker), what happened here and what is true now.

- In-process instruments, counted as things happen: web requests by route template and
  status (never the raw path: the number of series stays bounded), and each check the
  worker made in this process, by protocol, with its duration and how late it began.
- `DatabaseFigures`, a collector that reads the database at each scrape: open outages
  and incidents, the outbox, alerts received and refused, leases held per worker. Every
  server reads the same rows, so several behind a load balancer report the same truth.

A registry of its own per `StandbyMetrics`, not prometheus_client's global one: two
apps in one process (the tests make hundreds) must not share or clash.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from standby.clock import Clock
from standby.errors import StorageError
from standby.observe.figures import Figures, read_figures
from standby.store.engine import unit_of_work

log = logging.getLogger("standby.metrics")

# Checks: a TCP connect on a LAN takes a millisecond, a SIP OPTIONS over the internet a
# second, a timed-out HTTP check up to its timeout (10 s by default).
CHECK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Lag: a healthy worker starts checks within milliseconds of their time; seconds mean it
# is saturated (STANDBY_WORKER_CONCURRENCY) or its event loop is blocked.
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class StandbyMetrics:
    """The registry one process serves, with its in-process instruments.

    With a session factory it also reports the database's figures at each scrape; a
    worker on its own address reports only its checks.
    """

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session] | None = None,
        clock: Clock | None = None,
        lease_s: float = 6.0,
    ) -> None:
        """Make the registry and its instruments; read nothing yet (`lease_s`: STANDBY_WORKER_LEASE_S)."""
        self.registry = CollectorRegistry(auto_describe=True)
        self.checks = Counter(
            "standby_checks",
            "Probe checks this process made, by protocol and result (ok or failed).",
            ["protocol", "result"],
            registry=self.registry,
        )
        self.check_duration = Histogram(
            "standby_check_duration_seconds",
            "How long each probe check took, by protocol.",
            ["protocol"],
            buckets=CHECK_BUCKETS,
            registry=self.registry,
        )
        self.probe_lag = Histogram(
            "standby_probe_lag_seconds",
            "How late each check began after it was due (waiting for its turn, a busy worker).",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "standby_http_requests",
            "Web requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_duration = Histogram(
            "standby_http_request_duration_seconds",
            "How long web requests took to answer, by route template.",
            ["route"],
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        # The children of each (method, route, status), found once: labels() checks and
        # converts its arguments on every call, which a request need not pay for.
        self._answers: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        if session_factory is not None and clock is not None:
            self.registry.register(DatabaseFigures(session_factory, clock, timedelta(seconds=lease_s)))

    def checked(self, *, protocol: str, ok: bool, duration_s: float, lag_s: float) -> None:
        """Count a check (the worker's CheckObserver)."""
        self.checks.labels(protocol, "ok" if ok else "failed").inc()
        self.check_duration.labels(protocol).observe(duration_s)
        self.probe_lag.observe(lag_s)

    def answered(self, *, method: str, route: str, status: int, duration_s: float) -> None:
        """Count a web request by its route template (see web.metrics.RequestMetrics)."""
        key = (method, route, status)
        children = self._answers.get(key)
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.request_duration.labels(route))
            self._answers[key] = children
        children[0].inc()
        children[1].observe(duration_s)


class DatabaseFigures(Collector):
    """Reads `observe.figures` at each scrape; says `standby_database_up 0` when it cannot."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Clock, lease: timedelta) -> None:
        """Remember where to read; nothing is read until a scrape."""
        self.session_factory = session_factory
        self.clock = clock
        self.lease = lease

    def describe(self) -> list[Metric]:
        """Nothing to check against other collectors' names at registration (read at scrape)."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The figures as of now; only `standby_database_up` when the database is away."""
        try:
            with unit_of_work(self.session_factory) as session:
                figures = read_figures(session, now=self.clock.now(), lease=self.lease)
        except (StorageError, SQLAlchemyError, OSError) as exc:
            # A scrape must still answer: the database being away is itself the news.
            log.warning("metrics: cannot read the database (%s)", exc)
            yield database_up(False)
            return
        yield database_up(True)
        yield from figure_metrics(figures)


def database_up(up: bool) -> GaugeMetricFamily:
    """`standby_database_up`: 1 when the figures could be read, else 0."""
    return GaugeMetricFamily(
        "standby_database_up",
        "1 when this process could read its figures from the database, else 0.",
        value=1 if up else 0,
    )


def figure_metrics(figures: Figures) -> Iterator[Metric]:
    """The database's figures as Prometheus metric families."""
    yield _gauge(
        "standby_outages_open", "Outages open now, by classification.", "classification", figures.outages_open
    )
    yield _gauge(
        "standby_incidents_open", "Incidents not yet resolved, by state.", "state", figures.incidents_open
    )
    outbox = GaugeMetricFamily(
        "standby_outbox_messages",
        "Messages in the outbox, by state and channel.",
        labels=["state", "channel"],
    )
    for (state, channel), count in sorted(figures.outbox.items()):
        outbox.add_metric([state, channel], count)
    yield outbox
    yield GaugeMetricFamily(
        "standby_outbox_oldest_waiting_seconds",
        "How long the message due the longest has waited for a sender (0 when none waits).",
        value=figures.oldest_waiting_s,
    )
    yield _counter(
        "standby_alerts_received",
        "Alerts taken from Alertmanager and Events v2 senders, by source.",
        figures.alerts_received,
    )
    yield _counter(
        "standby_alerts_refused",
        "Alerts refused (no component, bad fields), by source.",
        figures.alerts_refused,
    )
    yield _gauge(
        "standby_leases_held", "Probes each worker holds under a live lease.", "worker", figures.leases
    )
    yield _gauge("standby_probes", "Probes in the plan in force, by protocol.", "protocol", figures.probes)


def _gauge(name: str, documentation: str, label: str, values: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def _counter(name: str, documentation: str, values: dict[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=["source"])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family
