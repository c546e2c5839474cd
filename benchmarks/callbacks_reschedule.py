"""Rescheduling 100,000 callbacks after a four-hour outage: Standby's pass against a plain peer.

The reference plan with every team ten times its size (so the callbacks fit within the
horizon), Billing and Moving home lost from 09:00 to 13:00 (Europe/London) on a Tuesday,
and 100,000 callbacks due in those four hours (one in ten for a vulnerable customer,
half with an email address). On a scratch SQLite file, and on a scratch PostgreSQL
database (created and dropped here, as benchmarks/notify_fanout.py does: the server is
--postgres URL, else STANDBY_BENCH_POSTGRES_URL, by default
postgresql://postgres@127.0.0.1:5432/postgres):

1. **Standby's passes**, `look_after_callbacks`, each in one unit of work with its commit:
   the pass a minute before the outage ends flags the 100,000 (in life they are flagged a
   few at a time as they come due; this is the worst case, all at once); the pass after it
   ends reschedules them (capacity from the plan's teams and Erlang A per interval,
   callbacks already booked, the backlog of callers who retry; placement vulnerable
   first), writes every callback and its history, and puts 100,000 messages in the outbox.
2. **Standby's placement alone** (pure): `callback_capacity` + `place` on the same callbacks.
3. **The peer**, on the same input: capacity from pyworkforce 0.5.4's `ErlangC.required_positions`
   per queue and half hour (all agents on shift in one pool, less the positions required),
   then a plain sort (vulnerable, due time, id) and fill of the earliest half hour with time left.

    benchmarks/install-peers
    .venv/bin/python benchmarks/callbacks_reschedule.py [--callbacks 100000] [--db sqlite,postgresql] \
        [--postgres URL] [--quick] [--json]

The target (issue 18): the pass that reschedules 100,000 under 5 s on both databases. `--quick`
keeps the 100,000 (the target is for them) and runs PostgreSQL only when --postgres is given.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, insert, select, update

from _ratios import figure, print_json
from _scratch import SHOWN, add_database_options, chosen_databases, scratch_url
from standby.customers.capacity import HORIZON_DAYS, backlog_calls, callback_capacity
from standby.customers.outage_callbacks import look_after_callbacks
from standby.customers.rescheduling import ToPlace, place
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.schema import Plan
from standby.store.engine import make_engine, make_session_factory, unit_of_work
from standby.store.migrations import upgrade
from standby.store.tables import CallbackRow, MessageRow, OutageRow

try:
    from pyworkforce.queuing import ErlangC  # type: ignore[import-untyped]
except ImportError:  # the peer is installed by benchmarks/install-peers; Standby is measured without it
    ErlangC = None

RECOVER_TARGET_S = 5.0

STARTED = datetime(2026, 6, 16, 8, 0, tzinfo=UTC)  # 09:00 BST, a Tuesday
ENDED = STARTED + timedelta(hours=4)
QUEUES = ["billing", "moving"]


def scaled_plan(factor: int) -> Plan:
    """The reference plan with every team's agents multiplied by `factor`."""
    text = re.sub(
        r"^(    agents: )(\d+)$",
        lambda m: f"{m.group(1)}{int(m.group(2)) * factor}",
        reference_plan_text(),
        flags=re.M,
    )
    plan = load_plan_text(text)
    assert sum(t.agents for t in plan.teams) == factor * sum(
        t.agents for t in load_plan_text(reference_plan_text()).teams
    ), "every team's agents scaled"
    return plan


def callbacks(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        due = STARTED + timedelta(seconds=rng.randrange(4 * 3600))
        rows.append(
            {
                "customer": f"Customer {n}",
                "phone": f"+44770{n:07d}",
                "customer_key": f"+44770{n:07d}",
                "email": f"customer{n}@example.org" if n % 2 else None,
                "queue": QUEUES[n % 2],
                "vulnerable": rng.random() < 0.1,
                "requested_due_at": due,
                "due_at": due,
                "state": "scheduled",
                "source": "csv",
                "created_by": "bench",
                "created_at": STARTED - timedelta(days=1),
                "updated_at": STARTED - timedelta(days=1),
                "moves": 0,
            }
        )
    return rows


def standby_pass(
    plan: Plan, rows: list[dict[str, Any]], server: str | None,
) -> tuple[float, float, dict[str, int]]:
    """Seconds of the pass that flags (the outage still on) and of the pass that reschedules
    and tells (once it has ended), each one unit of work with its commit, and what they did;
    on a scratch database of `server` (None: a scratch SQLite file)."""
    with scratch_url(server) as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            factory = make_session_factory(engine)
            with unit_of_work(factory) as session:
                session.add(
                    OutageRow(
                        started_at=STARTED,
                        detected_at=STARTED,
                        classification="partial",
                        peak_classification="partial",
                        causes=["ivr"],
                        components=["ivr"],
                        sites=[],
                        queues=QUEUES,
                        degraded_queues=[],
                        history={"components": ["ivr"], "sites": [], "queues": QUEUES},
                        in_maintenance=False,
                        summary="IVR down",
                        updated_at=STARTED,
                    )
                )
                for start in range(0, len(rows), 10_000):
                    session.execute(insert(CallbackRow), rows[start : start + 10_000])
            began = time.perf_counter()
            with unit_of_work(factory) as session:
                flagging = look_after_callbacks(session, plan=plan, now=ENDED - timedelta(minutes=1))
            flag_s = time.perf_counter() - began
            with unit_of_work(factory) as session:
                session.execute(update(OutageRow).values(ended_at=ENDED, updated_at=ENDED))
            began = time.perf_counter()
            with unit_of_work(factory) as session:
                recovery = look_after_callbacks(session, plan=plan, now=ENDED + timedelta(seconds=30))
            recover_s = time.perf_counter() - began
            with unit_of_work(factory) as session:
                messages = int(session.scalar(select(func.count()).select_from(MessageRow)) or 0)
            return (
                flag_s,
                recover_s,
                {
                    "flagged": flagging.flagged,
                    "rescheduled": recovery.rescheduled,
                    "unplaced": recovery.unplaced,
                    "messages": messages,
                },
            )
        finally:
            engine.dispose()


def standby_placement(plan: Plan, to_place: list[ToPlace]) -> tuple[float, int, datetime]:
    began = time.perf_counter()
    capacity = callback_capacity(plan, recovery=ENDED, backlog=backlog_calls(plan, QUEUES, STARTED, ENDED))
    result = place(to_place, capacity)
    elapsed = time.perf_counter() - began
    return elapsed, len(result.placed), max(p.start for p in result.placed)


def peer_placement(plan: Plan, to_place: list[ToPlace]) -> tuple[float, int, datetime]:
    """pyworkforce's Erlang C per queue and half hour, one pool of agents, then sort and fill."""
    began = time.perf_counter()
    zone = ZoneInfo(plan.organisation.timezone)
    slots = HORIZON_DAYS * 48
    spare = []
    for k in range(slots):
        local = (ENDED + timedelta(minutes=30 * k)).astimezone(zone)
        minute = local.hour * 60 + local.minute
        on_shift = sum(t.agents for t in plan.teams if t.shift.start <= minute < t.shift.end)
        needed = 0
        for q in plan.queues:
            f = q.forecast
            index = (minute - f.start) // f.interval_minutes if f is not None and minute >= f.start else -1
            if f is None or not 0 <= index < len(f.calls) or f.calls[index] <= 0:
                continue
            erlang = ErlangC(
                transactions=f.calls[index],
                aht=q.aht_s / 60.0,
                asa=q.service_level.answer_within_s / 60.0,
                interval=f.interval_minutes,
            )
            needed += erlang.required_positions(service_level=q.service_level.target)["positions"]
        spare.append(max(0, on_shift - needed) * 1800.0)
    aht = {q.id: float(q.aht_s) for q in plan.queues}
    placed = 0
    last = 0
    pointer = dict.fromkeys(aht, 0)
    for c in sorted(to_place, key=lambda c: (not c.vulnerable, c.due_at, c.id)):
        k = pointer[c.queue]
        while k < slots and spare[k] < aht[c.queue]:
            k += 1
        pointer[c.queue] = k
        if k < slots:
            spare[k] -= aht[c.queue]
            placed += 1
            last = max(last, k)
    elapsed = time.perf_counter() - began
    return elapsed, placed, ENDED + timedelta(minutes=30 * last)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callbacks", type=int, default=100_000)
    parser.add_argument("--scale", type=int, default=10, help="multiply every team's agents by this")
    add_database_options(parser)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="PostgreSQL only with --postgres")
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object on stdout")
    args = parser.parse_args()
    databases, skipped = chosen_databases(parser, args)
    if ErlangC is None:
        skipped.append("the peer: pyworkforce not installed (benchmarks/install-peers)")
    # With --json, stdout carries the JSON object alone: the table goes to stderr.
    console = Console(stderr=args.json)
    ratios = []
    plan = scaled_plan(args.scale)
    rows = callbacks(args.callbacks, args.seed)
    to_place = [
        ToPlace(n + 1, str(r["queue"]), bool(r["vulnerable"]), r["due_at"]) for n, r in enumerate(rows)
    ]
    figures: list[tuple[str, float, str]] = []
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        for kind, server in databases.items():
            name = SHOWN[kind]
            task = progress.add_task(f"Standby's whole pass on {name}", total=None)
            flag_s, recover_s, done = standby_pass(plan, rows, server)
            progress.remove_task(task)
            ratios += [
                figure(f"{name}: the pass that reschedules {args.callbacks:,} and tells", recover_s,
                       RECOVER_TARGET_S, "s", "lower"),
                figure(f"{name}: rescheduled", 100.0 * done["rescheduled"] / args.callbacks, 100.0, "%",
                       "higher"),
            ]
            what = ", ".join(f"{k} {v:,}" for k, v in done.items())
            figures.append((f"Standby on {name}: the pass that flags (outage on)", flag_s, ""))
            figures.append((f"Standby on {name}: the pass that reschedules and tells", recover_s, ""))
            figures.append((f"Standby on {name}: both passes", flag_s + recover_s, what))
        task = progress.add_task("Standby's placement alone", total=None)
        seconds, placed, last = standby_placement(plan, to_place)
        progress.remove_task(task)
        figures.append(
            ("Standby: capacity + placement (pure)", seconds, f"placed {placed:,}, last slot {last:%a %H:%M}")
        )
        ours = seconds
        if ErlangC is not None:
            task = progress.add_task("pyworkforce ErlangC + sort and fill", total=None)
            seconds, placed, last = peer_placement(plan, to_place)
            progress.remove_task(task)
            figures.append(
                (
                    "peer: pyworkforce ErlangC + sort and fill",
                    seconds,
                    f"placed {placed:,}, last slot {last:%a %H:%M}",
                )
            )
    table = Table(title=f"Rescheduling {args.callbacks:,} callbacks after a four-hour outage")
    table.add_column("what")
    table.add_column("seconds", justify="right")
    table.add_column("result")
    for what, secs, result in figures:
        table.add_row(what, f"{secs:.2f}", result)
    console.print(table)
    if ErlangC is not None:
        console.print(
            f"placement: Standby takes {ours / seconds:.2f}x the peer's time (UTC times; last slot in UTC)"
        )
    for reason in skipped:
        console.print(f"skipped: {reason}")
    if args.json:
        print_json(ratios, skipped, figures={what: secs for what, secs, _result in figures})


if __name__ == "__main__":
    main()
