"""Importing a 100,000-row callbacks CSV: Standby's checked import against pandas' unchecked load.

One seeded file, as a centre's CRM would export it: three queues, one callback in ten for
a vulnerable customer, national (07700 ...) and international (+353, +33, +1) phones,
half with an email address, a quarter with notes, every row with its CRM id, due times
over the next four weeks written with their offset. The same text, in the same run:

1. **Standby**: `intake.parse_csv` + `import_callbacks` in one unit of work (every row
   checked against the plan: phone against the numbering plan, email, due time, queue,
   duplicates in the file and in the ledger; then booked with its `booked` event), then
   commit. Also shown apart: reading and checking alone (pure, no database).
2. **The peer, the floor**: `pandas.read_csv` + `DataFrame.to_sql` into a table of the same
   database, with no checking at all: what a data engineer would write to load the file.

On a scratch SQLite file, and on a scratch PostgreSQL database when `--postgres URL` is
given (created and dropped here).

    benchmarks/install-peers
    .venv/bin/python benchmarks/customers_import.py [--rows 100000] [--seed 7] [--postgres URL] \
        [--quick] [--json]

The target: 100,000 rows read, checked and booked in under ten seconds on each database.
`--quick` keeps the 100,000 rows (the target is for them); there is no shorter form.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import time
from datetime import UTC, datetime, timedelta, timezone

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select

from _ratios import figure, print_json
from _scratch import scratch_url, unreachable
from standby.customers.callback_records import LAYOUT, check_callbacks
from standby.customers.callback_service import import_callbacks
from standby.intake import parse_csv
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.schema import Plan
from standby.store.engine import make_engine, make_session_factory, unit_of_work
from standby.store.migrations import upgrade
from standby.store.tables import CallbackEventRow, CallbackRow

try:
    import pandas  # type: ignore[import-untyped]
except ImportError as missing:  # pragma: no cover - the peer is installed by benchmarks/install-peers
    raise SystemExit(f"pandas is missing ({missing}): run benchmarks/install-peers first") from None

NOW = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)
QUEUES = ("billing", "billing", "moving", "emergency")
BST = timezone(timedelta(hours=1))
NOTES = (
    "Bill higher than expected",
    "Moving on the 30th, wants a quote",
    "Meter reading query\nsecond visit",
)


TARGET_S = 10.0


def callbacks_csv(rows: int, seed: int) -> str:
    """The file: seeded, so every run and every peer reads the same bytes."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LAYOUT.columns)
    for n in range(rows):
        kind = rng.random()
        if kind < 0.7:
            phone = f"07{rng.randrange(700_000_000, 999_999_999)}"
            phone = f"{phone[:5]} {phone[5:]}"
        elif kind < 0.8:
            phone = f"+353 85 {rng.randrange(1_000_000, 9_999_999)}"
        elif kind < 0.9:
            phone = f"+33 6 {rng.randrange(10_000_000, 99_999_999)}"
        else:
            phone = f"+1 415 {rng.randrange(200, 999)} {rng.randrange(1000, 9999)}"
        due = NOW + timedelta(minutes=30 + n % 40_000, seconds=rng.randrange(60))
        written = due.astimezone(BST).isoformat() if n % 3 else due.isoformat().replace("+00:00", "Z")
        writer.writerow(
            [
                f"Customer {n}",
                phone,
                f"customer{n}@example.org" if n % 2 else "",
                written,
                QUEUES[n % len(QUEUES)],
                "yes" if rng.random() < 0.1 else "no",
                rng.choice(NOTES) if n % 4 == 0 else "",
                f"crm-{n}",
            ]
        )
    return out.getvalue()


def standby_import(plan: Plan, text: str, postgres: str | None) -> tuple[float, float, int, int]:
    """Seconds to read, check, book and commit (and this process's CPU seconds); callbacks and
    events stored (counted afterwards)."""
    with scratch_url(postgres) as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            factory = make_session_factory(engine)
            start, cpu = time.perf_counter(), time.process_time()
            parsed = parse_csv(text, LAYOUT)
            with unit_of_work(factory) as session:
                result = import_callbacks(
                    session,
                    plan=plan,
                    rows=parsed.rows,
                    now=NOW,
                    by="bench",
                    source="csv",
                    unread=parsed.problems,
                )
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            if result.refused:
                raise SystemExit(f"the benchmark's file has bad rows: {result.refused[:3]}")
            with unit_of_work(factory) as session:
                callbacks = session.scalar(select(func.count()).select_from(CallbackRow)) or 0
                events = session.scalar(select(func.count()).select_from(CallbackEventRow)) or 0
            return seconds, cpu, callbacks, events
        finally:
            engine.dispose()


def checking_alone(plan: Plan, text: str) -> tuple[float, float]:
    """Seconds (and CPU seconds) to read and check the file, with no database."""
    start, cpu = time.perf_counter(), time.process_time()
    checked = check_callbacks(parse_csv(text, LAYOUT).rows, plan=plan, now=NOW)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert not checked.problems
    return seconds, cpu


def pandas_load(text: str, postgres: str | None) -> tuple[float, float, int]:
    """Seconds (and CPU seconds) for pandas to read the file and write it to a table, committed;
    rows stored."""
    with scratch_url(postgres) as url:
        engine = make_engine(url)
        try:
            start, cpu = time.perf_counter(), time.process_time()
            frame = pandas.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
            with engine.begin() as connection:
                frame.to_sql("callbacks_peer", connection, index=False, chunksize=10_000)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            with engine.connect() as connection:
                stored = connection.exec_driver_sql("SELECT count(*) FROM callbacks_peer").scalar() or 0
            return seconds, cpu, int(stored)
        finally:
            engine.dispose()


def main() -> None:
    """Run both on each database and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", help="also on PostgreSQL: a server URL that may CREATE DATABASE")
    parser.add_argument("--quick", action="store_true", help="the same run (the target is for 100,000 rows)")
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object on stdout")
    args = parser.parse_args()
    # With --json, stdout carries the JSON object alone: the table goes to stderr.
    console = Console(stderr=args.json)
    plan = load_plan_text(reference_plan_text())
    databases: list[tuple[str, str | None]] = [("SQLite", None)]
    skipped = []
    problem = unreachable(args.postgres) if args.postgres else "not asked (give --postgres URL)"
    if problem:
        skipped.append(f"PostgreSQL: {problem}")
    else:
        databases.append(("PostgreSQL", args.postgres))
    results: list[tuple[str, tuple[float, float, int, int], tuple[float, float, int]]] = []
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"writing the {args.rows:,}-row file", total=None)
        text = callbacks_csv(args.rows, args.seed)
        progress.update(task, description="reading and checking it, no database")
        checking, checking_cpu = checking_alone(plan, text)
        for name, postgres in databases:
            progress.update(task, description=f"{name}: Standby's import")
            standby = standby_import(plan, text, postgres)
            progress.update(task, description=f"{name}: pandas read_csv + to_sql")
            peer = pandas_load(text, postgres)
            results.append((name, standby, peer))
    table = Table(title=f"Importing {args.rows:,} callbacks ({len(text) / 1_048_576:.1f} MB of CSV)")
    headings = ("database", "Standby (checked)", "CPU", "stored", "pandas (unchecked)", "CPU", "ratio")
    for heading in headings:
        table.add_column(heading, justify="right")
    for name, (standby_s, standby_cpu, callbacks, events), (peer_s, peer_cpu, peer_rows) in results:
        assert callbacks == events == peer_rows == args.rows, (callbacks, events, peer_rows)
        table.add_row(
            name,
            f"{standby_s:.2f} s ({args.rows / standby_s:,.0f}/s)",
            f"{standby_cpu:.2f} s",
            f"{callbacks:,} + {events:,} events",
            f"{peer_s:.2f} s ({peer_rows / peer_s:,.0f}/s)",
            f"{peer_cpu:.2f} s",
            f"{standby_s / peer_s:.1f}x",
        )
    console.print(table)
    console.print(f"reading and checking alone (no database): {checking:.2f} s, {checking_cpu:.2f} s CPU")
    console.print("CPU: this process only (not PostgreSQL's server); wall time moves with the machine's load")
    for reason in skipped:
        console.print(f"skipped: {reason}")
    if args.json:
        print_json(
            [
                figure(f"{name}: {args.rows:,} rows read, checked and booked", standby[0], TARGET_S, "s",
                       "lower")
                for name, standby, _peer in results
            ],
            skipped,
            results={name: {"standby_s": standby[0], "pandas_s": peer[0]} for name, standby, peer in results},
            checking_alone_s=checking,
        )


if __name__ == "__main__":
    main()
