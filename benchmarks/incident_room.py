"""The incident room's server time: 200 open incidents and 10,000 timeline entries, SQLite and PostgreSQL.

For each database (a scratch SQLite file; a scratch PostgreSQL database on 127.0.0.1:5432,
created and dropped here), seeded through the services:

1. the reference plan; Leeds loses power: an outage and its incident, paged, its groups told,
   its strategies proposed (one pass of the response, as the worker runs it);
2. 199 more incidents declared by hand, all open;
3. 10,000 entries on the first incident's timeline (notes, message deliveries, pages, state
   changes, in that mix), 2,000 a transaction.

Then GET /incidents/1 (the room: the centre's queues with Erlang A and the customers caught, the
update forms drafted from the templates, the newest 50 entries) and GET /incidents/1/mark (what the
room's script polls) through the ASGI app in-process (httpx), as a manager's token, a few
warm-up requests first, then N sequential requests each: p50, p99 and max in milliseconds.
The target: p99 under 200 ms.

    .venv/bin/python benchmarks/incident_room.py [--requests 300] [--db sqlite,postgresql] \
        [--postgres URL] [--quick] [--json]

PostgreSQL: --postgres URL, else STANDBY_BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/postgres, trust authentication): it must allow CREATE
DATABASE. `--quick`: 100 requests each, PostgreSQL only with --postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from _ratios import figure, print_json
from _scratch import SHOWN, add_database_options, chosen_databases, scratch_url
from standby.access.roles import Role
from standby.access.service import create_token
from standby.clock import FakeClock
from standby.config import Settings
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.versions import record_plan
from standby.respond.incident_service import declare
from standby.respond.responder import ResponseSettings, respond_once
from standby.respond.timeline import EntryKind, add_entry
from standby.store.engine import make_engine, make_session_factory, unit_of_work
from standby.store.migrations import upgrade
from standby.store.tables import ComponentStateRow, OutageRow
from standby.web.app import create_app

P99_TARGET_MS = 200.0
T0 = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
INCIDENTS = 200
ENTRIES = 10_000
BATCH = 2_000
KINDS: tuple[EntryKind, ...] = ("note", "message", "message", "page", "state", "note", "message", "runbook")


def seed(url: str, data_dir: Path) -> tuple[Any, FakeClock, str, float]:
    """The seeded database: (session factory, clock, a manager's token, seconds spent seeding)."""
    started = time.perf_counter()
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    text = reference_plan_text()
    plan = load_plan_text(text)
    settings = Settings(database_url=url, data_dir=data_dir, public_url="https://standby.test")
    with unit_of_work(factory) as session:
        record_plan(session, plan=plan, source=text, now=T0, loaded_by="bench")
        token = create_token(session, name="bench", role=Role.MANAGER, now=T0)
        session.add(ComponentStateRow(component_id="leeds-power", state="down", since=T0, updated_at=T0))
        session.add(
            OutageRow(
                started_at=T0, detected_at=T0, classification="partial", peak_classification="partial",
                causes=["leeds-power"], components=["leeds-power"], sites=["leeds"], queues=[],
                degraded_queues=[], history={}, summary="Leeds power down", updated_at=T0,
            )
        )
    for minutes in (0, 6):
        with unit_of_work(factory) as session:
            respond_once(
                session, plan=plan, now=T0 + timedelta(minutes=minutes), holder="bench",
                settings=ResponseSettings(secret="s" * 40, base_url="https://standby.test", config=settings),
            )
    with unit_of_work(factory) as session:
        for n in range(INCIDENTS - 1):
            declare(
                session, title=f"Queue {n} slow", classification="degraded", plan=plan, by="user:bench",
                now=T0 + timedelta(seconds=n),
            )
    for start in range(0, ENTRIES, BATCH):
        with unit_of_work(factory) as session:
            for n in range(start, min(start + BATCH, ENTRIES)):
                kind = KINDS[n % len(KINDS)]
                add_entry(
                    session, incident_id=1, at=T0 + timedelta(minutes=7, seconds=n), kind=kind,
                    actor="standby" if kind != "note" else "user:bench",
                    text=f"Entry {n}: {kind} on the incident's timeline", data={"n": n},
                )
    clock = FakeClock(T0 + timedelta(hours=4))
    return factory, clock, token, time.perf_counter() - started


async def timed(client: httpx.AsyncClient, path: str, token: str, n: int) -> dict[str, float]:
    """p50, p99 and max of n sequential GETs of `path`, in ms, after a few warm-up requests."""
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(5):
        warm = await client.get(path, headers=headers)
        assert warm.status_code == 200, (path, warm.status_code, warm.text[:300])
    times = []
    for _ in range(n):
        begun = time.perf_counter()
        answer = await client.get(path, headers=headers)
        times.append((time.perf_counter() - begun) * 1000)
        assert answer.status_code == 200
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 1),
        "max_ms": round(times[-1], 1),
        "requests": n,
    }


async def measure(url: str, n: int) -> dict[str, Any]:
    """Seed one database and time the room and its mark."""
    with tempfile.TemporaryDirectory() as folder:
        factory, clock, token, seeding_s = seed(url, Path(folder))
        settings = Settings(database_url=url, data_dir=Path(folder))
        app = create_app(settings, clock=clock, session_factory=factory)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            room = await timed(client, "/incidents/1", token, n)
            mark = await timed(client, "/incidents/1/mark", token, n)
            shown = await client.get("/incidents/1", headers={"Authorization": f"Bearer {token}"})
            size = len(shown.content)
        factory.kw["bind"].dispose()
    return {"seeding_s": round(seeding_s, 1), "room": room, "mark": mark, "room_bytes": size}


def main() -> None:
    """Run the benchmark on each database asked for and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    add_database_options(parser)
    parser.add_argument("--quick", action="store_true", help="100 requests each")
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object on stdout")
    args = parser.parse_args()
    if args.quick:
        args.requests = min(args.requests, 100)
    if args.requests < 1:
        parser.error(f"--requests must be at least 1, not {args.requests}")
    databases, skipped = chosen_databases(parser, args)
    logging.basicConfig(level=logging.WARNING)
    results: dict[str, Any] = {}
    for db, server in databases.items():
        with scratch_url(server) as url:
            results[db] = asyncio.run(measure(url, args.requests))
    for reason in skipped:
        print(f"skipped: {reason}", file=sys.stderr)
    if args.json:
        ratios = [figure(f"{SHOWN[db]}: the room, p99", r["room"]["p99_ms"], P99_TARGET_MS, "ms", "lower")
                  for db, r in results.items()]
        print_json(ratios, skipped, **results)
        return
    print(f"Incident room: {INCIDENTS} open incidents, {ENTRIES:,} timeline entries on the one shown")
    for db, r in results.items():
        print(f"\n{db} (seeded in {r['seeding_s']} s; the room is {r['room_bytes']:,} bytes)")
        for what in ("room", "mark"):
            f = r[what]
            verdict = "" if what != "room" else ("  (target p99 < 200 ms: met)" if f["p99_ms"] < 200 else
                                                 "  (target p99 < 200 ms: NOT met)")
            print(f"  GET /incidents/1{'/mark' if what == 'mark' else ''}: p50 {f['p50_ms']} ms,"
                  f" p99 {f['p99_ms']} ms, max {f['max_ms']} ms over {f['requests']} requests{verdict}")


if __name__ == "__main__":
    main()
