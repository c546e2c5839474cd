"""GET /api/v1/components and the overview `/` under wrk, beside a static server holding the same bytes.

1. A scratch database (SQLite, or with --postgres a fresh PostgreSQL database dropped afterwards),
   migrated; a viewer's API token made through the service.
2. `standby serve --no-worker --no-access-log` on 127.0.0.1 (a real uvicorn process) with the
   reference plan; an administrator logs in through POST /api/v1/session for the cookie.
3. The exact bytes each route answers are saved to files, and the peers serve those files:
   Python's `http.server` (ThreadingHTTPServer, `python -m http.server`, HTTP/1.0: one
   connection per request, as a simple static server does) and, when installed, nginx
   (keep-alive, one worker process), for context.
4. `wrk -t2 -c16 -d10s --latency` against each, route by route, Standby with its
   Authorization header or session cookie: requests per second, p99, and Standby's ratio to
   the Python static server in the same run. Targets: components >= 1x and p99 < 50 ms;
   the overview >= 0.25x and p99 < 100 ms.

    .venv/bin/python benchmarks/web_wrk.py [--postgres URL] [--db sqlite,postgresql] [--duration 10]
        [--warm-up 2] [--rounds 1] [--quick] [--json]

With --postgres, SQLite and PostgreSQL are both measured (--db picks). Each server gets a
warm-up (uncounted) first. --json prints one object whose "ratios" list, per database and
route, Standby's requests per second over http.server's and its p99 (medians of the
rounds), each against its target.

Only 127.0.0.1 is used; every process started here is stopped here, whatever happens.
Needs `wrk` (apt-get install wrk); nginx is optional (apt-get install nginx-light).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from _scratch import scratch_url
from standby.access.roles import Role
from standby.access.service import create_token
from standby.clock import SystemClock
from standby.plan.loading import reference_plan_text
from standby.store.engine import make_engine, make_session_factory, unit_of_work
from standby.store.migrations import upgrade

HOST = "127.0.0.1"
ADMIN_PASSWORD = "bench-password-123"


@dataclass(frozen=True)
class Route:
    """A route measured: the file its bytes go to, how Standby is asked, and its target."""

    file: str
    auth: str
    ratio: float
    p99_ms: float


ROUTES = {
    "/api/v1/components": Route("components.json", "token", ratio=1.0, p99_ms=50.0),
    "/": Route("overview.html", "cookie", ratio=0.25, p99_ms=100.0),
}
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Run:
    """One wrk run: who served which route, and how fast."""

    server: str
    route: str
    requests_per_s: float
    p99_ms: float
    errors: int


def free_port() -> int:
    """A port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(url: str, process: subprocess.Popen[bytes], timeout_s: float = START_TIMEOUT_S) -> None:
    """Wait until `url` answers (any status), or fail when the process died or time ran out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args!r} stopped with status {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url, timeout=1.0)
            return
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout_s:.0f} s")


@contextlib.contextmanager
def started(command: list[str], url: str, *, env: dict[str, str] | None = None, log: Path) -> Iterator[None]:
    """Run `command` until the block ends; its output goes to `log`."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for(url, process)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def nginx_config(folder: Path, root: Path, port: int) -> Path:
    """A config for nginx as a plain process: one worker, 127.0.0.1 only, files under `root`."""
    config = folder / "nginx.conf"
    config.write_text(
        f"""daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {folder}/body;
  proxy_temp_path {folder}/proxy;
  fastcgi_temp_path {folder}/fastcgi;
  uwsgi_temp_path {folder}/uwsgi;
  scgi_temp_path {folder}/scgi;
  types {{ application/json json; text/html html; }}
  server {{
    listen {HOST}:{port};
    root {root};
  }}
}}
"""
    )
    return config


def wrk(
    url: str, *, header: str | None, duration_s: int, connections: int, threads: int
) -> tuple[float, float, int]:
    """Requests per second, p99 in ms and non-2xx answers plus socket errors, from one wrk run."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration_s}s", "--latency"]
    if header is not None:
        command += ["-H", header]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=duration_s + 30
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", output))
    for found in re.findall(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        errors += sum(int(n) for n in found)
    return rate, p99, errors


def prepare(url: str) -> str:
    """Migrate the scratch database and make a viewer's token; the token."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            return create_token(session, name="wrk", role=Role.VIEWER, now=SystemClock().now())
    finally:
        engine.dispose()


def measure(args: argparse.Namespace, url: str, folder: Path) -> list[Run]:
    """Start Standby and the peers, save the bytes, run wrk against each; every run made."""
    token = prepare(url)
    plan = folder / "plan.yaml"
    plan.write_text(reference_plan_text(), encoding="utf-8")
    port = free_port()
    env = {
        **os.environ,
        "STANDBY_DATABASE_URL": url,
        "STANDBY_DATA_DIR": str(folder / "data"),
        "STANDBY_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "STANDBY_SECRET_KEY": "w" * 40,
    }
    serve = [sys.executable, "-m", "standby", "serve", "--plan", str(plan), "--host", HOST]
    serve += ["--port", str(port), "--no-worker", "--no-forecaster", "--no-access-log"]
    base = f"http://{HOST}:{port}"
    files = folder / "files"
    files.mkdir()
    # nginx's worker drops root for `nobody`, who must be able to read the files.
    folder.chmod(0o755)
    files.chmod(0o755)
    runs: list[Run] = []
    with started(serve, f"{base}/healthz", env=env, log=folder / "serve.log"):
        login = httpx.post(f"{base}/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD})
        login.raise_for_status()
        cookie = f"standby_session={login.cookies['standby_session']}"
        headers = {"token": f"Authorization: Bearer {token}", "cookie": f"Cookie: {cookie}"}
        for route, spec in ROUTES.items():
            name, value = headers[spec.auth].split(": ", 1)
            answer = httpx.get(base + route, headers={name: value})
            answer.raise_for_status()
            saved = files / spec.file
            saved.write_bytes(answer.content)
            saved.chmod(0o644)
        peers = {"python http.server": free_port()}
        if shutil.which("nginx") and not args.no_nginx:
            peers["nginx"] = free_port()
        with contextlib.ExitStack() as stack:
            python = [sys.executable, "-m", "http.server", "--bind", HOST, "--directory", str(files)]
            stack.enter_context(
                started(
                    [*python, str(peers["python http.server"])],
                    f"http://{HOST}:{peers['python http.server']}/",
                    log=folder / "python.log",
                )
            )
            if "nginx" in peers:
                config = nginx_config(folder, files, peers["nginx"])
                stack.enter_context(
                    started(
                        ["nginx", "-c", str(config), "-p", str(folder)],
                        f"http://{HOST}:{peers['nginx']}/",
                        log=folder / "nginx.log",
                    )
                )
            if args.warm_up:
                # Not counted: the first requests of any server import, compile and connect.
                for route, spec in ROUTES.items():
                    if args.route and route not in args.route:
                        continue
                    wrk(
                        base + route,
                        header=headers[spec.auth],
                        duration_s=args.warm_up,
                        connections=args.connections,
                        threads=args.threads,
                    )
            for _ in range(args.rounds):
                for route, spec in ROUTES.items():
                    if args.route and route not in args.route:
                        continue
                    targets: dict[str, tuple[str, str | None]] = {
                        "standby": (base + route, headers[spec.auth])
                    }
                    for peer, peer_port in peers.items():
                        targets[peer] = (f"http://{HOST}:{peer_port}/{spec.file}", None)
                    for server, (target, header) in targets.items():
                        rate, p99, errors = wrk(
                            target,
                            header=header,
                            duration_s=args.duration,
                            connections=args.connections,
                            threads=args.threads,
                        )
                        runs.append(Run(server, route, rate, p99, errors))
    return runs


def report(runs: list[Run], database: str) -> Table:
    """The runs as a table: Standby's ratio to the Python static server of the same round."""
    table = Table(title=f"wrk against Standby ({database}) and static servers with the same bytes")
    for column in ("route", "server", "req/s", "p99 ms", "errors", "ratio to http.server", "target"):
        table.add_column(column, justify="right" if column not in ("route", "server") else "left")
    peer: dict[str, float] = {}
    for run in runs:
        if run.server == "python http.server":
            peer[run.route] = run.requests_per_s
    for run in runs:
        spec = ROUTES[run.route]
        ratio, target = "", ""
        if run.server == "standby" and run.route in peer:
            value = run.requests_per_s / peer[run.route]
            met = value >= spec.ratio and run.p99_ms < spec.p99_ms
            ratio = f"{value:.2f}x"
            target = f">= {spec.ratio}x, p99 < {spec.p99_ms:g} ms: {'met' if met else 'NOT met'}"
        table.add_row(
            run.route,
            run.server,
            f"{run.requests_per_s:,.0f}",
            f"{run.p99_ms:.1f}",
            str(run.errors),
            ratio,
            target,
        )
    return table


def figures(runs: list[Run], database: str) -> list[dict[str, object]]:
    """Standby's ratio to `http.server` and its p99, route by route (medians of the rounds), for --json."""
    out: list[dict[str, object]] = []
    for route, spec in ROUTES.items():
        ours = [r for r in runs if r.route == route and r.server == "standby"]
        peers = [r for r in runs if r.route == route and r.server == "python http.server"]
        if not ours or len(ours) != len(peers):
            continue
        ratios = [a.requests_per_s / b.requests_per_s for a, b in zip(ours, peers, strict=True)]
        name = f"GET {route} ({database})"
        out.append(
            {
                "name": f"{name} / http.server, req/s",
                "value": round(statistics.median(ratios), 3),
                "target": spec.ratio,
                "unit": "x",
                "better": "higher",
            }
        )
        out.append(
            {
                "name": f"{name} p99",
                "value": round(statistics.median(r.p99_ms for r in ours), 1),
                "target": spec.p99_ms,
                "unit": "ms",
                "better": "lower",
            }
        )
    return out


def main() -> None:
    """Measure on each database asked for and print the tables (or one JSON object)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL allowed to CREATE DATABASE: measured there too")
    parser.add_argument(
        "--db",
        help="sqlite, postgresql or both (comma-separated); default: both with --postgres, else sqlite",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--warm-up", type=int, default=2, help="seconds of wrk per route before measuring")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="every route and server this many times")
    parser.add_argument(
        "--route", action="append", choices=sorted(ROUTES), help="only this route (repeatable)"
    )
    parser.add_argument("--no-nginx", action="store_true", help="leave nginx out even when installed")
    parser.add_argument(
        "--quick", action="store_true", help="a short run: 2 s per wrk run, 1 s warm-up, no nginx"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object with the ratios against targets")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warm_up, args.rounds, args.no_nginx = 2, 1, 1, True
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (or benchmarks/install-peers)")
    chosen = (args.db or ("sqlite,postgresql" if args.postgres else "sqlite")).split(",")
    if "postgresql" in chosen and not args.postgres:
        raise SystemExit("--db postgresql needs --postgres URL")
    results: dict[str, list[Run]] = {}
    for db in chosen:
        database = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(db.strip())
        if database is None:
            raise SystemExit(f"--db: {db!r} is neither sqlite nor postgresql")
        postgres = args.postgres if database == "PostgreSQL" else None
        with tempfile.TemporaryDirectory() as scratch, scratch_url(postgres) as url:
            results[database] = measure(args, url, Path(scratch))
        if not args.json:
            Console(width=150).print(report(results[database], database))
    if args.json:
        print(
            json.dumps(
                {
                    "benchmark": "web_wrk",
                    "load_average": os.getloadavg()[0],
                    "ratios": [f for database, runs in results.items() for f in figures(runs, database)],
                    "runs": {database: [asdict(r) for r in runs] for database, runs in results.items()},
                }
            )
        )


if __name__ == "__main__":
    main()
