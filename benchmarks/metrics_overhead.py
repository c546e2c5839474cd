"""What counting web requests costs: RequestMetrics on and off, on / and /api/v1/components.

1. The middleware alone: a bare ASGI app that answers 200 at once, called directly N times,
   with and without RequestMetrics around it: the microseconds one request pays for.
2. The whole app in-process (httpx over ASGI, SQLite scratch database, the reference plan, a
   viewer's token), GET / (the overview) and GET /api/v1/components, N sequential requests
   each, with the middleware and with it taken out of the same app, interleaved in rounds so
   that drift hits both alike: p50 and p99 in milliseconds.
3. One scrape of GET /metrics after that traffic: its size and time.

    .venv/bin/python benchmarks/metrics_overhead.py [--requests 2000] [--quick] [--json]

Targets (for benchmarks/run): the middleware adds at most 20 us to a request, and each
route's p50 counted is at most 1.1 times its p50 plain (the noise of one run).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from _ratios import figure, print_json
from _scratch import scratch_url
from standby.access.roles import Role
from standby.access.service import create_token
from standby.clock import SystemClock
from standby.config import Settings
from standby.observe.instruments import StandbyMetrics
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.versions import record_plan
from standby.store.engine import make_engine, make_session_factory, unit_of_work
from standby.store.migrations import upgrade
from standby.web.app import create_app
from standby.web.metrics import RequestMetrics

ROUTES = ("/", "/api/v1/components")
OVERHEAD_TARGET_US = 20.0
P50_TARGET_RATIO = 1.1


async def bare(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def middleware_alone(n: int) -> dict[str, float]:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(_message: Any) -> None:
        return None

    scope = {"type": "http", "method": "GET", "path": "/", "root_path": ""}
    wrapped = RequestMetrics(bare, StandbyMetrics())
    found = {}
    for name, app in (("bare", bare), ("counted", wrapped)):
        for _ in range(1000):
            await app(dict(scope), receive, send)
        started = time.perf_counter()
        for _ in range(n):
            await app(dict(scope), receive, send)
        found[name] = (time.perf_counter() - started) / n * 1e6
    overhead = found["counted"] - found["bare"]
    return {"bare_us": found["bare"], "counted_us": found["counted"], "overhead_us": overhead}


def without_counting(app: FastAPI) -> FastAPI:
    """The same app with RequestMetrics taken out (before its first request builds the stack)."""
    app.user_middleware = [m for m in app.user_middleware if m.cls is not RequestMetrics]
    return app


async def timed(app: FastAPI, path: str, token: str, n: int) -> list[float]:
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    times = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(n):
            started = time.perf_counter()
            response = await client.get(path, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    return times


async def whole_app(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder, scratch_url(None) as url:
        engine = make_engine(url)
        upgrade(engine)
        factory = make_session_factory(engine)
        text = reference_plan_text()
        clock = SystemClock()
        with unit_of_work(factory) as session:
            record_plan(session, plan=load_plan_text(text), source=text, now=clock.now(), loaded_by="bench")
            token = create_token(session, name="bench", role=Role.VIEWER, now=clock.now())
        settings = Settings(database_url=url, data_dir=Path(folder), secret_key="b" * 40)
        counted = create_app(settings, clock=clock, session_factory=factory)
        plain = without_counting(create_app(settings, clock=clock, session_factory=factory))
        results: dict[str, Any] = {}
        for path in ROUTES:
            samples: dict[str, list[float]] = {"counted": [], "plain": []}
            for app in (counted, plain):
                await timed(app, path, token, 50)  # warm up
            rounds = 10
            for _ in range(rounds):
                samples["counted"] += await timed(counted, path, token, n // rounds)
                samples["plain"] += await timed(plain, path, token, n // rounds)
            results[path] = {
                name: {
                    "p50_ms": statistics.median(values),
                    "p99_ms": statistics.quantiles(values, n=100)[98],
                }
                for name, values in samples.items()
            }
        started = time.perf_counter()
        scraped = await timed(counted, "/metrics", token, 1)
        results["/metrics"] = {"ms": scraped[0], "wall_ms": (time.perf_counter() - started) * 1000}
        transport = httpx.ASGITransport(app=counted)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            page = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        results["/metrics"]["bytes"] = len(page.content)
        engine.dispose()
        return results


def ratios(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The figures against their targets: the middleware's own price, each route's p50 counted / plain."""
    found = [figure("RequestMetrics alone, added per request", result["middleware_alone"]["overhead_us"],
                    OVERHEAD_TARGET_US, "us", "lower")]
    for path in ROUTES:
        timings = result["whole_app"][path]
        found.append(figure(f"GET {path}: p50 counted / plain", timings["counted"]["p50_ms"]
                            / timings["plain"]["p50_ms"], P50_TARGET_RATIO, "x", "lower"))
    return found


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="300 requests a route")
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object on stdout")
    args = parser.parse_args()
    if args.quick:
        args.requests = min(args.requests, 300)
    if args.requests < 100:
        parser.error(f"--requests must be at least 100 (p99 of ten rounds), not {args.requests}")
    result = {
        "middleware_alone": await middleware_alone(args.requests * 10),
        "whole_app": await whole_app(args.requests),
    }
    if args.json:
        print_json(ratios(result), **result)
        return
    alone = result["middleware_alone"]
    print(
        f"middleware alone: {alone['bare_us']:.1f} us bare, {alone['counted_us']:.1f} us counted:"
        f" {alone['overhead_us']:.1f} us a request"
    )
    for path in ROUTES:
        plain, counted = result["whole_app"][path]["plain"], result["whole_app"][path]["counted"]
        print(
            f"GET {path}: p50 {plain['p50_ms']:.2f} ms plain, {counted['p50_ms']:.2f} ms counted;"
            f" p99 {plain['p99_ms']:.2f} ms plain, {counted['p99_ms']:.2f} ms counted"
        )
    scrape = result["whole_app"]["/metrics"]
    print(f"GET /metrics: {scrape['ms']:.1f} ms, {scrape['bytes']} bytes")


if __name__ == "__main__":
    asyncio.run(main())
