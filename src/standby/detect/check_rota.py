"""The check rota: which probes a worker holds, and when each one's turn comes.

Pure bookkeeping, no I/O: the worker (`detect.worker`) hands it each claim, asks it
which probes are due, and tells it when a check ended. Times are the asyncio loop's
(`now_loop`, monotonic seconds) and the clock's (`now`), both passed in.

- A probe taken over is due when its interval since the last check on record has
  passed (at once if overdue); one never checked is spread over the first claim period.
- A failure (or a success after down) is confirmed sooner, every `retry_s` of the probe.
- A probe whose lease ran out before it was renewed waits for the renewal (another
  worker may hold it now), unless the database is away and nobody can take it over.
- A probe a new outage waits for, or that a newly failing dependent depends on, gets
  its turn at once (the quick lane).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from standby.detect.health import ProbeHealth
from standby.detect.leases import Claim, Lease
from standby.plan.probes import HeartbeatProbe, MetricProbe, Probe

_PROBE = TypeAdapter(Probe)
_RENEWAL_WAIT_S = 0.25
"""How long a probe whose lease lapsed waits before it is looked at again."""


@dataclass
class HeldProbe:
    """A probe this worker holds a lease on, with its health and its next turn."""

    lease: Lease
    probe: Any
    health: ProbeHealth
    claimed_at: datetime
    due: float = 0.0
    running: bool = False
    lease_until: float = 0.0
    last_at: datetime | None = None
    """When its latest check began, by this worker or (from the record) the one before."""
    wanted_from: datetime | None = None
    """A new outage waits for a check of it made from then on (see `CheckRota.wake`)."""

    @property
    def pushed(self) -> bool:
        """Whether it judges what was pushed to Standby (heartbeats, metrics) rather than calls out."""
        return isinstance(self.probe, HeartbeatProbe | MetricProbe)


class CheckRota:
    """The probes a worker holds, in the order their checks are due."""

    def __init__(self, *, claim_every_s: float, pushed_every_s: float, retry_s: float | None) -> None:
        """An empty rota; `retry_s` overrides each probe's own when set."""
        self.claim_every_s = claim_every_s
        self.pushed_every_s = pushed_every_s
        self.retry_s = retry_s
        self.held: dict[str, HeldProbe] = {}
        self._queue: list[tuple[float, str, str]] = []

    def take(self, claim: Claim, *, lease_until: float, now: datetime, now_loop: float) -> None:
        """Apply a claim: drop what is no longer ours, renew the rest, and give new probes a turn."""
        for component_id in list(self.held):
            if claim.held.get(component_id) != self.held[component_id].lease.settings_sha:
                del self.held[component_id]
            else:
                self.held[component_id].lease_until = lease_until
        for lease in claim.new:
            try:
                probe = _PROBE.validate_python(lease.settings)
            except ValueError:
                continue  # the plan validated it; a row from a newer Standby is not ours to judge
            held = HeldProbe(lease, probe, lease.health, claimed_at=now, lease_until=lease_until)
            held.last_at = lease.last_checked_at
            every = self.every_s(probe)
            if lease.last_checked_at is None:
                # Never checked: spread the first checks, so 5,000 probes do not start at once.
                held.due = now_loop + random.uniform(0, min(every, self.claim_every_s))
            else:
                # Taken over (from a dead worker, or a share given back): checked when it is
                # due, at once if overdue, so a handover leaves no longer gap than a death.
                wait = every - (now - lease.last_checked_at).total_seconds()
                held.due = now_loop + min(max(wait, 0.0), every)
            self.held[lease.component_id] = held
            self._push(held)

    def due(self, now_loop: float, *, database_ok: bool) -> list[HeldProbe]:
        """The probes whose turn has come, each marked running; the caller checks them."""
        started: list[HeldProbe] = []
        while self._queue and self._queue[0][0] <= now_loop:
            due, component_id, sha = heapq.heappop(self._queue)
            held = self.held.get(component_id)
            if held is None or held.lease.settings_sha != sha or held.due != due or held.running:
                continue
            if self.lapsed(held, now_loop, database_ok=database_ok):
                # The lease ran out before it could be renewed (a busy loop, a slow
                # database): another worker may hold the probe now, so wait for the
                # renewal rather than check it twice. While the database is away nobody
                # can take it over, and checking goes on.
                held.due = now_loop + _RENEWAL_WAIT_S
                self._push(held)
                continue
            held.running = True
            started.append(held)
        return started

    def wait_s(self, now_loop: float) -> float:
        """How long until the next turn, kept between 5 ms and a quarter of a second."""
        delay = self._queue[0][0] - now_loop if self._queue else _RENEWAL_WAIT_S
        return min(max(delay, 0.005), _RENEWAL_WAIT_S)

    @staticmethod
    def lapsed(held: HeldProbe, now_loop: float, *, database_ok: bool) -> bool:
        """Whether its lease ran out before it was renewed, with a database that could renew it."""
        return held.lease_until < now_loop and database_ok

    def holds(self, held: HeldProbe) -> bool:
        """Whether this very probe is still held (not dropped nor claimed again since)."""
        return self.held.get(held.lease.component_id) is held

    def answered(self, held: HeldProbe, at: datetime) -> bool:
        """Note a check made at `at`; True when an outage was waiting for it."""
        if held.wanted_from is not None and at >= held.wanted_from:
            held.wanted_from = None
            return True
        return False

    def checked(
        self, held: HeldProbe, *, started: float, at: datetime | None, lapsed: bool, now_loop: float
    ) -> None:
        """A check ended (or was skipped): give the probe its next turn."""
        held.running = False
        # A check an outage waits for, asked while an older one ran (or before its turn
        # came): again at once. One made since answered it, whatever it said.
        again = held.wanted_from is not None and (at is None or at < held.wanted_from)
        if not again:
            held.wanted_from = None
        if self.holds(held):
            if lapsed:
                # Not checked: due again once the renewal comes, as in `due`, rather than
                # a whole interval later (a slow claim would cost a check per probe).
                held.due = now_loop + _RENEWAL_WAIT_S
            else:
                held.due = now_loop if again else started + self.next_in(held)
            self._push(held)

    def every_s(self, probe: Any) -> float:
        """How often a probe is checked in normal times."""
        if isinstance(probe, HeartbeatProbe | MetricProbe):
            return self.pushed_every_s
        return _interval(probe)

    def next_in(self, held: HeldProbe) -> float:
        """Seconds from the start of its last check to its next: sooner while confirming a change."""
        probe = held.probe
        if held.pushed:
            return self.pushed_every_s
        interval = _interval(probe)
        confirming = (held.health.state != "down" and held.health.failures > 0) or (
            held.health.state == "down" and held.health.successes > 0
        )
        retry = self.retry_s if self.retry_s is not None else float(probe.retry_s)
        return min(interval, retry) if confirming else interval

    def first_check_now(self, component_ids: Iterable[str], now_loop: float) -> None:
        """Bring forward the first check of the held probes among these (what a failure depends on)."""
        for component_id in component_ids:
            held = self.held.get(component_id)
            # Only to get its first check in: once it is confirming a failure it keeps its
            # own pace, or three dependents failing at once would be three failures of its own.
            if held is not None and not held.running and held.due > now_loop and held.health.failures == 0:
                held.due = now_loop
                self._push(held)

    def wake(self, waiting_on: Mapping[str, datetime], now_loop: float) -> None:
        """Check at once the probes held here that a new outage waits for (see `detect.outages`).

        Each needs a check made since the outage would start; one already made or running
        since then is enough. A probe confirming a failure keeps its own quick pace.
        """
        for component_id, needed in waiting_on.items():
            held = self.held.get(component_id)
            if held is None or held.health.failures > 0:
                continue
            if held.last_at is not None and held.last_at >= needed:
                continue  # checked since: its result is on its way
            held.wanted_from = needed if held.wanted_from is None else min(held.wanted_from, needed)
            if not held.running and held.due > now_loop:
                held.due = now_loop
                self._push(held)

    def _push(self, held: HeldProbe) -> None:
        heapq.heappush(self._queue, (held.due, held.lease.component_id, held.lease.settings_sha))


def _interval(probe: Any) -> float:
    return float(getattr(probe, "interval_s", 30.0))
