"""The random numbers of one replication, drawn up front with numpy and shared by both runs.

Common random numbers: the day without the outage and the day with it see the same
callers at the same times, with the same handling times, patience, retry decisions
and callbacks, so their difference is the outage's and not chance's. Numbers are tied
to what they describe, not to the order in which a run asks for them: stream
(replication, 0, queue, attempt) holds every draw of a queue's attempt number
`attempt` (0 for first calls), stream (replication, 1) the callbacks', stream
(replication, 2, queue, attempt) the live forecast's callers joining a queue
(`forecast.live_figures`). A stream is numpy's PCG64 seeded with
`SeedSequence(seed, spawn_key=...)`, which is what `SeedSequence(seed).spawn(...)` hands
out, so a replication's numbers depend only on (seed, replication) and never on the
process that draws them.

- **Arrivals** are a Poisson process whose rate is constant within each forecast
  interval: a Poisson count per interval, placed uniformly within it.
- **Handling times** are exponential with the queue's mean `aht_s`, or lognormal with
  that mean and a given coefficient of variation; the factor of a degraded component
  is applied when the call is answered. **Patience** is exponential with mean
  `patience_s` (infinite when the queue has none).
- **Retries.** Each attempt carries a uniform for "calls again" (below `retry_share`)
  and an exponential delay with mean `retry_delay_s`. Attempt k's draws are made, for
  all of a queue's customers at once, the first time some customer reaches attempt k;
  a customer makes at most MAX_ATTEMPTS attempts a day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from standby.impact.day import DayModel, QueueSpec

MAX_ATTEMPTS = 10

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def stream(seed: int, *key: int) -> np.random.Generator:
    """The generator of one stream of one replication (see the module docstring)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _handling(rng: np.random.Generator, size: int, mean: float, cv: float | None) -> FloatArray:
    if cv is None:
        return rng.exponential(mean, size)
    sigma2 = math.log1p(cv * cv)
    return rng.lognormal(math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2), size)


@dataclass(frozen=True)
class Attempts:
    """The draws of one attempt number for every customer of one queue (seconds)."""

    service: FloatArray
    patience: FloatArray
    deflect: FloatArray
    retry: FloatArray
    delay: FloatArray


def draw_attempts(rng: np.random.Generator, size: int, queue: QueueSpec, cv: float | None) -> Attempts:
    """The draws of one attempt number for `size` customers of a queue, in this order from `rng`."""
    service = _handling(rng, size, queue.aht_s, cv)
    patience = rng.exponential(queue.patience_s, size) if queue.patience_s else np.full(size, math.inf)
    deflect = rng.random(size)
    if queue.retry_share > 0:
        retry = rng.random(size)
        delay = rng.exponential(queue.retry_delay_s, size)
    else:  # nobody calls again: no numbers to draw (the queue's share is the same in both days)
        retry = np.ones(size)
        delay = np.zeros(size)
    return Attempts(service, patience, deflect, retry, delay)


class Draws:
    """One replication's numbers: first calls merged in time order, retries on demand, callbacks."""

    def __init__(self, model: DayModel, seed: int, replication: int, cv: float | None = None) -> None:
        """Draw the replication's first calls and callbacks (`model`: either day; they share queues)."""
        self._seed, self._replication, self._cv = seed, replication, cv
        self.queues = model.queues
        times, queue_of, local, vulnerable = [], [], [], []
        firsts: list[Attempts] = []
        self._counts: list[int] = []
        for q, spec in enumerate(model.queues):
            rng = stream(seed, replication, 0, q, 0)
            calls = np.asarray(spec.calls, dtype=np.float64)
            counts = rng.poisson(calls) if calls.size else np.zeros(0, dtype=np.int64)
            n = int(counts.sum())
            starts = spec.forecast_start_s + spec.interval_s * np.arange(calls.size, dtype=np.float64)
            # Sorting the whole queue sorts within each interval: intervals do not overlap.
            times.append(np.sort(np.repeat(starts, counts) + spec.interval_s * rng.random(n)))
            firsts.append(draw_attempts(rng, n, spec, cv))
            vulnerable.append(
                rng.random(n) < spec.vulnerable_share if spec.vulnerable_share else np.zeros(n, bool)
            )
            queue_of.append(np.full(n, q, dtype=np.int64))
            local.append(np.arange(n, dtype=np.int64))
            self._counts.append(n)
        calling = [q for q, n in enumerate(self._counts) if n]
        # One queue with calls is already in time order; else the queues' calls are merged.
        self._only = calling[0] if len(calling) == 1 else -1
        self._order = None if self._only >= 0 else np.argsort(np.concatenate(times), kind="stable")
        self._firsts, self._vulnerable = firsts, vulnerable
        self.time: FloatArray = self._merged(times)
        self.queue: IntArray = self._merged(queue_of)
        self._local = local
        self.service: FloatArray = self._merged([a.service for a in firsts])
        self.deadline: FloatArray = self.time + self._merged([a.patience for a in firsts])
        self._later: dict[tuple[int, int], Attempts] = {}

        count = len(model.callbacks)
        if not count:  # no callbacks: nothing to draw from their stream
            self.callback_vulnerable: BoolArray = np.zeros(0, dtype=np.bool_)
            self.callback_service: FloatArray = np.zeros(0)
            return
        rng = stream(seed, replication, 1)
        shares = np.array([model.queues[q].vulnerable_share for _, q, _ in model.callbacks])
        ahts = np.array([model.queues[q].aht_s for _, q, _ in model.callbacks])
        drawn = rng.random(count) < shares
        listed = np.array([v is True for _, _, v in model.callbacks], dtype=np.bool_)
        given = np.array([v is not None for _, _, v in model.callbacks], dtype=np.bool_)
        self.callback_vulnerable = np.where(given, listed, drawn)
        self.callback_service = _handling(rng, count, 1.0, cv) * ahts

    def _merged(self, parts: list[npt.NDArray[Any]]) -> npt.NDArray[Any]:
        """The queues' arrays of one draw as one, in the first calls' time order."""
        if self._order is None:
            return parts[self._only]
        return np.concatenate(parts)[self._order]

    # The draws only some days read are merged when first read (the random numbers themselves
    # are drawn up front, in their streams' order, whatever is read).

    @cached_property
    def local(self) -> IntArray:
        """Each first call's number among its queue's customers."""
        return self._merged(self._local)

    @cached_property
    def deflect(self) -> FloatArray:
        """Each first call's uniform for hanging up on hearing the outage message."""
        return self._merged([a.deflect for a in self._firsts])

    @cached_property
    def retry(self) -> FloatArray:
        """Each first call's uniform for calling again."""
        return self._merged([a.retry for a in self._firsts])

    @cached_property
    def delay(self) -> FloatArray:
        """Each first call's delay before calling again (seconds)."""
        return self._merged([a.delay for a in self._firsts])

    # Lists for the engines' hot loops, made once per replication and shared by every day
    # simulated on it: only engines that never append to them (nobody calls again) take them.

    @cached_property
    def time_list(self) -> list[float]:
        """The first calls' times as a list (read only)."""
        return self.time.tolist()  # type: ignore[no-any-return]

    @cached_property
    def queue_list(self) -> list[int]:
        """The first calls' queues as a list (read only)."""
        return self.queue.tolist()  # type: ignore[no-any-return]

    @cached_property
    def end_at_once(self) -> FloatArray:
        """When each first call would end if answered on arrival, no handling factor in force."""
        ends: FloatArray = self.time + self.service
        return ends

    @cached_property
    def end_at_once_list(self) -> list[float]:
        """`end_at_once` as a list (read only)."""
        return self.end_at_once.tolist()  # type: ignore[no-any-return]

    @cached_property
    def vulnerable(self) -> BoolArray:
        """Whether each first call's customer is vulnerable."""
        return self._merged(self._vulnerable)

    def attempt_lists(self, queue: int, number: int) -> tuple[list[float], ...]:
        """`attempt(queue, number)` as lists (service, patience, deflect, retry, delay), made once."""
        lists: dict[tuple[int, int], tuple[list[float], ...]] = self.__dict__.setdefault("_lists", {})
        key = (queue, number)
        found = lists.get(key)
        if found is None:
            a = self.attempt(queue, number)
            found = tuple(x.tolist() for x in (a.service, a.patience, a.deflect, a.retry, a.delay))
            lists[key] = found
        return found

    def attempt(self, queue: int, number: int) -> Attempts:
        """The draws of attempt `number` (1 for the first retry) for every customer of `queue`."""
        key = (queue, number)
        found = self._later.get(key)
        if found is None:
            rng = stream(self._seed, self._replication, 0, queue, number)
            found = draw_attempts(rng, self._counts[queue], self.queues[queue], self._cv)
            self._later[key] = found
        return found
