"""The multi-queue day written for SimPy and for Ciw, with the rules of Standby's general engine.

- Arrivals: per queue and interval a Poisson count, placed uniformly within the interval.
- An arriving call goes to an idle agent of the team that ranks its queue highest
  (ties: the first team); otherwise it waits in its queue, first come, first served.
- A free agent takes the longest-waiting call of its highest-priority skill that has one.
- Agents join at their shift's start and take waiting work at once; at its end idle agents
  leave, and an agent on a call leaves when the call ends.
- Callers hang up after an exponential patience; handling times are exponential.

SimPy is written as its documentation writes reneging: a process per caller waiting for an
agent or its patience, whichever comes first, and a process per agent. Ciw has no skills
across queues of its own: one node holds every call (a priority class per queue, so each
queue is its own list in arrival order, and Ciw's own reneging), and a `Node` subclass
routes calls and agents by skill and brings teams on and off shift at Ciw's shift changes.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import numpy as np

from _centre_day import INTERVAL_S, SHAPE, Call, CentreDay, Counted, counted


def _arrivals(rng: np.random.Generator, calls: tuple[float, ...]) -> np.ndarray[Any, Any]:
    counts = rng.poisson(np.asarray(calls))
    starts = INTERVAL_S * np.arange(len(calls), dtype=np.float64)
    return np.sort(np.repeat(starts, counts) + INTERVAL_S * rng.random(int(counts.sum())))


# ---- SimPy ----------------------------------------------------------------------------------


def run_simpy(day: CentreDay, replication: int) -> Counted:
    """One replication of the day in SimPy."""
    import simpy

    began = time.perf_counter()
    rng = np.random.default_rng([2027, replication])
    env = simpy.Environment()
    nq = len(day.queues)
    waiting: list[deque[list[Any]]] = [deque() for _ in range(nq)]  # [arrived, handling, answered]
    idle: list[deque[Any]] = [deque() for _ in day.teams]  # the wake-up events of idle agents
    eligible = [day.eligible(q) for q in range(nq)]
    calls: list[Call] = []
    offered = 0

    def caller(q: int, handling: float, patience: float) -> Any:
        arrived = env.now
        for g in eligible[q]:
            if idle[g]:
                idle[g].popleft().succeed((q, arrived, handling))
                return
        answered = env.event()
        entry = [arrived, handling, answered]
        waiting[q].append(entry)
        outcome = yield answered | env.timeout(patience)
        if answered not in outcome:
            entry[2] = None  # hung up: agents pass over it
            calls.append((q, arrived, env.now - arrived, False))

    def take(g: int) -> tuple[int, float, float] | None:
        for q in day.teams[g].skills:
            line = waiting[q]
            while line:
                arrived, handling, answered = line.popleft()
                if answered is not None:
                    answered.succeed()
                    return q, arrived, handling
        return None

    def agent(g: int) -> Any:
        team = day.teams[g]
        yield env.timeout(team.start_s)
        while True:
            call = take(g)
            if call is None:
                wake = env.event()
                idle[g].append(wake)
                call = yield wake
                if call is None:
                    return  # the shift ended while idle
            q, arrived, handling = call
            calls.append((q, arrived, env.now - arrived, True))
            yield env.timeout(handling)
            if env.now >= team.end_s:
                return

    def shift_end(g: int) -> Any:
        yield env.timeout(day.teams[g].end_s)
        while idle[g]:
            idle[g].popleft().succeed(None)

    def arrivals(q: int, times: list[float], handling: list[float], patience: list[float]) -> Any:
        for t, h, p in zip(times, handling, patience, strict=True):
            yield env.timeout(t - env.now)
            env.process(caller(q, h, p))

    for q, spec in enumerate(day.queues):
        times = _arrivals(rng, spec.calls)
        offered += len(times)
        handling = rng.exponential(spec.aht_s, len(times))
        patience = rng.exponential(spec.patience_s, len(times))
        env.process(arrivals(q, times.tolist(), handling.tolist(), patience.tolist()))
    for g, team in enumerate(day.teams):
        for _ in range(team.agents):
            env.process(agent(g))
        env.process(shift_end(g))
    env.run(until=day.end_s)
    return counted(day, calls, offered, time.perf_counter() - began)


# ---- Ciw --------------------------------------------------------------------------------------


def _skilled_node(day: CentreDay) -> type[Any]:
    import ciw

    eligible = [day.eligible(q) for q in range(len(day.queues))]
    skills = [t.skills for t in day.teams]

    class SkilledNode(ciw.Node):  # type: ignore[misc]
        """One node for every queue: agents in teams with skills, teams on shifts."""

        def __init__(self, id_: int, simulation: Any) -> None:
            super().__init__(id_, simulation)
            self.team_servers: list[list[Any]] = [[] for _ in day.teams]

        def start(self, server: Any, ind: Any) -> None:
            self.attach_server(server, ind)
            ind.service_start_date = self.now
            ind.service_time = self.get_service_time(ind)
            ind.service_end_date = self.now + ind.service_time
            self.number_in_service += 1
            server.next_end_service_date = ind.service_end_date

        def serve_next(self, server: Any) -> None:
            for q in skills[server.team]:
                for ind in self.individuals[q]:
                    if not ind.server:
                        self.start(server, ind)
                        return

        def begin_service_if_possible_accept(self, next_individual: Any) -> None:
            next_individual.arrival_date = self.now
            next_individual.reneging_date = self.get_reneging_date(next_individual)
            for g in eligible[next_individual.priority_class]:
                for server in self.team_servers[g]:
                    if not server.busy:
                        self.start(server, next_individual)
                        return

        def begin_service_if_possible_release(self, next_individual: Any, newly_free_server: Any) -> None:
            if newly_free_server is not None and not newly_free_server.offduty:
                self.serve_next(newly_free_server)

        def change_shift(self) -> None:
            self.schedule.get_next_shift()
            self.next_shift_change = self.schedule.next_shift_change_date
            self.c = self.schedule.c
            now = self.now
            for g, team in enumerate(day.teams):
                servers = self.team_servers[g]
                on = team.start_s <= now < team.end_s
                if on and not servers:
                    for _ in range(team.agents):
                        self.highest_id += 1
                        server = self.simulation.ServerType(self, self.highest_id, now)
                        server.team = g
                        servers.append(server)
                        self.servers.append(server)
                elif not on and servers:
                    for server in servers:
                        server.shift_end = now
                        if server.busy:
                            server.offduty = True  # leaves when the call ends
                        else:
                            self.kill_server(server)
                    servers.clear()
            for server in self.servers:
                if not server.busy:
                    self.serve_next(server)

    return SkilledNode


def run_ciw(day: CentreDay, replication: int) -> Counted:
    """One replication of the day in Ciw."""
    import ciw

    began = time.perf_counter()
    ciw.seed(2027 * 1000 + replication)
    names = [f"Class {q}" for q in range(len(day.queues))]
    endpoints = [INTERVAL_S * (i + 1) for i in range(len(SHAPE))]
    changes = sorted({t.start_s for t in day.teams} | {t.end_s for t in day.teams} | {0.0})
    ends = [*changes[1:], day.end_s + 86400.0]
    on_shift = [sum(t.agents for t in day.teams if t.start_s <= at < t.end_s) for at in changes]
    network = ciw.create_network(
        arrival_distributions={
            names[q]: [ciw.dists.PoissonIntervals([c / INTERVAL_S for c in spec.calls], endpoints, day.end_s)]
            for q, spec in enumerate(day.queues)
        },
        service_distributions={
            names[q]: [ciw.dists.Exponential(1.0 / spec.aht_s)] for q, spec in enumerate(day.queues)
        },
        reneging_time_distributions={
            names[q]: [ciw.dists.Exponential(1.0 / spec.patience_s)] for q, spec in enumerate(day.queues)
        },
        number_of_servers=[ciw.Schedule(numbers_of_servers=on_shift, shift_end_dates=ends)],
        priority_classes={name: q for q, name in enumerate(names)},
    )
    sim = ciw.Simulation(network, node_class=_skilled_node(day))
    sim.simulate_until_max_time(day.end_s + 4 * 3600.0)  # calls answered before the end finish
    queue_of = {name: q for q, name in enumerate(names)}
    calls: list[Call] = [
        (queue_of[r.customer_class], r.arrival_date, r.waiting_time, r.record_type == "service")
        for r in sim.get_all_records()
    ]
    return counted(day, calls, len(calls), time.perf_counter() - began)
