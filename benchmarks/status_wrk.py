"""/status under load: `standby serve` (uvicorn) against nginx serving the same bytes from disk.

wrk (64 connections, 2 threads, on 127.0.0.1) asks for /status for `--seconds` from:

1. `standby serve --no-worker` on a scratch SQLite database with the reference plan, and
   STANDBY_STATUS_DIR set, so the status board writes every rendered document to a folder;
2. nginx (one worker process, like Standby's one process) serving that folder: the same
   bytes (checked), from disk, with sendfile.

Figures per server: requests per second, latency percentiles (50, 90, 99), errors (socket
errors and non-2xx answers), and on Linux the server's CPU time per request (user and
system, of Standby's web process and of nginx's worker): a figure the machine's other load
disturbs less than the rates, which fall with it. The bar (issue 15): Standby at least half
nginx's requests per second, p99 under 50 ms, no errors. Each is run `--runs` times,
alternating; the best run of each is reported (the machine is shared: the best is the least
disturbed), with the machine's load average (1 minute) before and after.

    .venv/bin/python benchmarks/status_wrk.py [--seconds 10] [--connections 64] [--runs 2] [--access-log] \
        [--quick] [--json]

`--quick`: one run of 5 s each.

Needs `wrk` and `nginx` (Debian: apt-get install wrk nginx-light).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from _ratios import figure, print_json
from standby.plan.loading import reference_plan_text

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location = /status {{ default_type "text/html; charset=utf-8"; try_files /status/index.html =404; }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, within: float = 60) -> bytes:
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    body: bytes = answer.read()
                    return body
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer within {within:g} s")
        time.sleep(0.2)


def cpu_seconds(pids: list[int]) -> float | None:
    """User and system CPU time of these processes so far (Linux's /proc); None elsewhere."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        fields = stat[stat.rindex(")") + 2 :].split()  # after the command's name, which may hold spaces
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The processes `pid` started (nginx's workers); empty where /proc does not say."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def wrk(url: str, args: argparse.Namespace, pids: list[int]) -> dict[str, Any]:
    """One wrk run's figures, with the CPU time `pids` spent per request."""
    command = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--latency", url]
    before = cpu_seconds(pids)
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    after = cpu_seconds(pids)
    answered = re.search(r"(\d+) requests in", out)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency: dict[int, float] = {}
    for percent in (50, 90, 99):
        found = re.search(rf"\s{percent}%\s+([\d.]+)(us|ms|s)\b", out)
        if found is not None:
            latency[percent] = _ms(found.group(1), found.group(2))
    errors = 0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors is not None:
        errors += sum(int(n) for n in socket_errors.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx is not None:
        errors += int(non_2xx.group(1))
    return {
        "requests_per_second": round(rate),
        "p50_ms": latency.get(50),
        "p90_ms": latency.get(90),
        "p99_ms": latency.get(99),
        "errors": errors,
        "cpu_us_per_request": (
            round((after - before) / int(answered.group(1)) * 1e6, 1)
            if before is not None and after is not None and answered is not None and int(answered.group(1))
            else None
        ),
    }


def _ms(value: str, unit: str = "ms") -> float:
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--access-log", action="store_true", help="Standby logs each request")
    parser.add_argument("--quick", action="store_true", help="one run of 5 s each")
    parser.add_argument("--json", action="store_true", help="the figures as one JSON object on stdout")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.runs = min(args.seconds, 5), 1
    if args.seconds < 1 or args.runs < 1 or args.connections < 1:
        parser.error("--seconds, --runs and --connections must be at least 1")
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            missing = f"{tool} is not installed (Debian: apt-get install wrk nginx-light)"
            if args.json:
                print_json([], [missing])
                return
            raise SystemExit(missing)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        work.chmod(0o755)  # nginx started as root reads the files as its unprivileged worker user
        (work / "plan.yaml").write_text(reference_plan_text(), encoding="utf-8")
        status_dir = work / "public"
        standby_port, nginx_port = free_port(), free_port()
        env = {
            **os.environ,
            "STANDBY_DATA_DIR": str(work / "data"),
            "STANDBY_STATUS_DIR": str(status_dir),
            "STANDBY_HOST": "127.0.0.1",
            "STANDBY_PORT": str(standby_port),
            "STANDBY_ADMIN_PASSWORD": "bench-password-1234",
            "STANDBY_ACCESS_LOG": "on" if args.access_log else "off",  # nginx's is off too
        }
        standby = subprocess.Popen(
            [sys.executable, "-m", "standby", "serve", "--no-worker", "--plan", str(work / "plan.yaml")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        (work / "nginx.conf").write_text(
            NGINX_CONF.format(dir=work, port=nginx_port, root=status_dir), encoding="utf-8"
        )
        server = None
        try:
            ours = wait_for(f"http://127.0.0.1:{standby_port}/status")
            deadline = time.monotonic() + 30
            while not (status_dir / "status" / "index.html").exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            server = subprocess.Popen([nginx, "-c", str(work / "nginx.conf"), "-p", str(work)])
            theirs = wait_for(f"http://127.0.0.1:{nginx_port}/status")
            if ours != theirs:
                raise SystemExit("nginx does not serve the bytes Standby serves: the comparison is void")
            runs: dict[str, list[dict[str, Any]]] = {"standby": [], "nginx": []}
            workers = children(server.pid) or [server.pid]
            load = [round(os.getloadavg()[0], 2)]
            for _ in range(args.runs):
                runs["standby"].append(wrk(f"http://127.0.0.1:{standby_port}/status", args, [standby.pid]))
                runs["nginx"].append(wrk(f"http://127.0.0.1:{nginx_port}/status", args, workers))
            load.append(round(os.getloadavg()[0], 2))
        finally:
            if server is not None:
                server.terminate()
                server.wait(10)
            standby.terminate()
            standby.wait(20)
    best = {name: max(found, key=lambda r: r["requests_per_second"]) for name, found in runs.items()}
    ratio = best["standby"]["requests_per_second"] / max(best["nginx"]["requests_per_second"], 1)
    results = {
        "bytes": len(ours),
        "connections": args.connections,
        "seconds": args.seconds,
        **best,
        "runs": runs,
        "standby_over_nginx": round(ratio, 3),
        "load_average": load,
        "meets_bar": (
            ratio >= 0.5 and (best["standby"]["p99_ms"] or 1e9) < 50 and best["standby"]["errors"] == 0
        ),
    }
    if args.json:
        print_json([
            figure("Standby / nginx, requests a second", ratio, 0.5, "x", "higher"),
            figure("Standby p99", best["standby"]["p99_ms"] or 1e9, 50.0, "ms", "lower"),
            figure("Standby errors", best["standby"]["errors"], 0.0, "", "lower"),
        ], **results)
    else:
        for name in ("standby", "nginx"):
            print(name, json.dumps(best[name]))
        print("standby / nginx:", results["standby_over_nginx"], "meets the bar:", results["meets_bar"])
        print("load average (1 min) before and after:", *load)


if __name__ == "__main__":
    main()
