"""Checks per second and CPU seconds per 1,000 checks: Standby against blackbox_exporter.

5,000 targets on 127.0.0.1 (benchmarks/_targets.py: a process of their own, whose CPU is
counted for neither side) are checked over TCP, HTTP and, for Standby, SIP OPTIONS over UDP:

- Standby's checker: `ProbeChecker.check` driven as the worker drives it (a task per
  check, at most 256 at once), every target once per round; wall time and this process's
  CPU time (all threads) around the checking alone.
- Standby's worker, end to end: `DetectWorker` with the default options on SQLite (or a
  scratch PostgreSQL database with --postgres, whose server's CPU is not counted), the
  targets in a plan, for a fixed time after every probe was checked once; checks counted by
  `worker.stats.checks`, CPU including the batched writes and correlation. At a 10 s
  interval for each protocol (5,000 probes at 10 s: the load the issue names), and with
  every TCP probe due every 0.5 s (saturated: what one worker can do).
- blackbox_exporter: the same targets through its /probe endpoint (modules tcp_connect and
  http_2xx), sent by a load driver in a process of its own, 256 keep-alive connections to
  the exporter; the exporter's CPU from /proc/PID/stat, the driver's shown beside it.
- A cross-check of the SIP figure against one SIPp UAS (when sipp is installed).

    benchmarks/install-peers      # prometheus-blackbox-exporter and sip-tester (Debian)
    .venv/bin/python benchmarks/detect_checks.py [--targets 5000] [--rounds 2] [--repeat 3] [--quick] [--json]
        [--protocols tcp,sip] [--no-exporter] [--worker-seconds 0]   # e.g. SIP against TCP alone
        [--worker-interval 10] [--worker-repeat 2] [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

With --json, stdout is one JSON object whose "ratios" list each figure against its target:
HTTP and TCP checks per CPU second against blackbox_exporter's, the share of due checks the
worker made on time (5,000 probes every 10 s; 1,000 every 2 s with --quick: 500 a second
either way), and SIP OPTIONS against TCP per CPU second, for the checker and the worker.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _scratch import scratch_url  # noqa: E402
from _targets import HOST, Targets, process_cpu_seconds, raise_nofile  # noqa: E402

CONCURRENCY = 256
KEPT_UP = 0.95
"""A worker kept up when it made at least this share of its due checks on time."""
EXPORTER = "prometheus-blackbox-exporter"
EXPORTER_CONFIG = """\
modules:
  tcp_connect:
    prober: tcp
    timeout: 2s
    tcp:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
  http_2xx:
    prober: http
    timeout: 2s
    http:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      valid_status_codes: [200]
"""
MODULES = {"tcp": "tcp_connect", "http": "http_2xx"}


@dataclass
class Run:
    """One measured run: who, which protocol, how many checks in how long for how much CPU."""

    tool: str
    protocol: str
    checks: int
    ok: int
    wall_s: float
    cpu_s: float
    targets_cpu_s: float
    driver_cpu_s: float | None = None
    note: str = ""
    failures: dict[str, int] = field(default_factory=dict)
    due_done: float | None = None
    """The worker: the share of due checks started on time (see `CountingChecker.due_done`)."""
    max_gap_s: float | None = None
    """The worker: the longest time between two checks of one probe."""

    @property
    def per_s(self) -> float:
        """Checks per second of wall time."""
        return self.checks / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_per_1000(self) -> float:
        """CPU seconds per 1,000 checks."""
        return 1000 * self.cpu_s / self.checks if self.checks else float("nan")

    @property
    def per_cpu_s(self) -> float:
        """Checks per CPU second."""
        return self.checks / self.cpu_s if self.cpu_s else float("inf")


# ---- Standby's checker --------------------------------------------------------------------


def standby_probe(protocol: str, port: int, **timing: Any) -> Any:
    """The plan probe for target `port` over `protocol`, as a plan author would write it."""
    from standby.plan.probes import HttpProbe, SipOptionsProbe, TcpProbe

    if protocol == "tcp":
        return TcpProbe(type="tcp", target=f"{HOST}:{port}", **timing)
    if protocol == "http":
        return HttpProbe(type="http", target=f"http://{HOST}:{port}/", **timing)
    return SipOptionsProbe(type="sip_options", target=f"sip:ping@{HOST}:{port}", **timing)


async def standby_checker(
    protocol: str, targets: Targets, rounds: int, *, ports: list[int] | None = None, peer: str = ""
) -> Run:
    """Every target checked once per round by one ProbeChecker, at most CONCURRENCY at once.

    `ports` and `peer` check other targets than `targets`' (SIPp); `targets.cpu_seconds` is theirs.
    """
    from standby.clock import SystemClock
    from standby.detect.probes.checker import ProbeChecker

    clock = SystemClock()
    probes = [standby_probe(protocol, port, timeout_s=2) for port in ports or targets.ports]
    checker = ProbeChecker()
    semaphore = asyncio.Semaphore(CONCURRENCY)
    failures: collections.Counter[str] = collections.Counter()

    async def one(probe: Any) -> bool:
        async with semaphore:  # as DetectWorker._check: the clock is read once a slot is held
            result = await checker.check(probe, now=clock.now())
        if not result.ok:
            failures[result.detail] += 1
        return result.ok

    try:
        await asyncio.gather(*(one(p) for p in probes[:500]))  # warm-up: clients, caches
        failures.clear()
        cpu0, wall0, targets0 = time.process_time(), time.perf_counter(), targets.cpu_seconds()
        ok = 0
        for _ in range(rounds):
            results = await asyncio.gather(*(asyncio.create_task(one(p)) for p in probes))
            ok += sum(results)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        targets_cpu = targets.cpu_seconds() - targets0
    finally:
        await checker.aclose()
    name = {"tcp": "tcp", "http": "http", "sip": "sip_options (UDP)"}[protocol] + peer
    return Run(
        "Standby checker", name, rounds * len(probes), ok, wall, cpu, targets_cpu, failures=dict(failures)
    )


SIPP_SCENARIO = """\
<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="OPTIONS answered 200">
  <recv request="OPTIONS" />
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Allow: INVITE, ACK, BYE, CANCEL, OPTIONS
      Content-Length: 0

    ]]>
  </send>
</scenario>
"""


class Sipp:
    """One SIPp UAS on 127.0.0.1 (UDP) answering every OPTIONS with 200 OK; the `Targets` interface."""

    def __init__(self, directory: Path, *, max_seconds: int = 300) -> None:
        binary = shutil.which("sipp")
        if binary is None:
            raise FileNotFoundError("sipp")
        scenario = directory / "options_200.xml"
        scenario.write_text(SIPP_SCENARIO, encoding="ISO-8859-1")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((HOST, 0))
            self.port = int(sock.getsockname()[1])
        out = directory / "sipp.out"
        command = [binary, "-sf", str(scenario), "-i", HOST, "-p", str(self.port), "-t", "u1"]
        command += [
            "-bg",
            "-nostdin",
            "-timeout",
            f"{max_seconds}s",
            "-trace_err",
            "-max_recv_loops",
            "10000",
        ]
        with out.open("w") as stdout:  # -bg: the parent prints the daemon's pid and exits
            subprocess.run(command, cwd=directory, stdout=stdout, stderr=subprocess.STDOUT, timeout=10)
        found = re.search(r"PID=\[(\d+)\]", out.read_text())
        if found is None:
            raise RuntimeError(f"SIPp did not start: {out.read_text()[-2000:]}")
        self.pid = int(found[1])
        time.sleep(0.5)

    def cpu_seconds(self) -> float:
        """CPU seconds SIPp has used so far."""
        return process_cpu_seconds(self.pid)

    def stop(self) -> None:
        """Kill SIPp by its pid."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


async def standby_against_sipp(count: int, directory: Path) -> Run | None:
    """`count` SIP OPTIONS checks of one SIPp UAS: the UDP responder of _targets, cross-checked."""
    try:
        sipp = Sipp(directory)
    except FileNotFoundError:
        print("sipp is missing (benchmarks/install-peers): no cross-check against SIPp", file=sys.stderr)
        return None
    try:
        return await standby_checker(
            "sip",
            sipp,
            1,
            ports=[sipp.port] * count,
            peer=" vs SIPp",  # type: ignore[arg-type]
        )
    finally:
        sipp.stop()


# ---- Standby's worker, end to end ---------------------------------------------------------


def plan_text(probes: list[dict[str, Any]], extra_components: list[dict[str, Any]] | None = None) -> str:
    """A valid plan: one component per probe (no dependencies), a site, a queue and a team."""
    import yaml

    components = [
        {"id": f"target-{i}", "name": f"Target {i}", "kind": "other", "probe": probe}
        for i, probe in enumerate(probes)
    ]
    components += extra_components or []
    plan = {
        "organisation": {"name": "Detection benchmark", "timezone": "Europe/London"},
        "components": components,
        "sites": [{"id": "office", "name": "Office", "seats": 10}],
        "queues": [
            {
                "id": "general",
                "name": "General",
                "service_level": {"answer_within_s": 20, "target": 0.8},
                "aht_s": 300,
            }
        ],
        "teams": [
            {
                "id": "team",
                "site": "office",
                "queues": ["general"],
                "agents": 10,
                "shift": {"start": "08:00", "end": "20:00"},
            }
        ],
    }
    return yaml.safe_dump(plan, sort_keys=False)


def migrated_factory(url: str) -> Any:
    """A session factory on the (new, empty) database at `url`, migrated."""
    from standby.store.engine import make_engine, make_session_factory
    from standby.store.migrations import upgrade

    engine = make_engine(url)
    upgrade(engine)
    return make_session_factory(engine)


def store_plan(factory: Any, text: str) -> None:
    """Record `text` as the plan in force."""
    from standby.clock import SystemClock
    from standby.plan.loading import load_plan_text
    from standby.plan.versions import record_plan
    from standby.store.engine import unit_of_work

    plan = load_plan_text(text)
    with unit_of_work(factory) as session:
        record_plan(session, plan=plan, source=text, now=SystemClock().now(), loaded_by="benchmark")


class CountingChecker:
    """A ProbeChecker that counts the failed checks and why (the targets never fail: any is false),
    and the time between two checks of each target, from which `due_done` says how many of the
    checks that fell due were made on time."""

    def __init__(self) -> None:
        from standby.detect.probes.checker import ProbeChecker

        self.inner = ProbeChecker()
        self.failures: collections.Counter[str] = collections.Counter()
        self.last: dict[str, float] = {}
        self.gaps: list[float] = []

    async def check(self, probe: Any, *, now: Any) -> Any:
        started = time.monotonic()  # when its turn came: a check waiting for a slot is late
        previous = self.last.get(probe.target)
        self.last[probe.target] = started
        if previous is not None:
            self.gaps.append(started - previous)
        result = await self.inner.check(probe, now=now)
        if not result.ok:
            self.failures[result.detail] += 1
        return result

    def start_counting(self) -> None:
        """Forget what was counted so far (the warm-up), keeping when each target was last checked."""
        self.failures.clear()
        self.gaps.clear()

    def due_done(self, interval_s: float) -> tuple[float, float]:
        """(share of the due checks made on time, longest gap in s) since `start_counting`.

        Between two checks of a target `gap / interval` checks fell due and one was made; a
        check starting up to 5% late counts as on time (the scheduler's own slack). So 1.0
        means every target was checked every interval, and 0.8 that a fifth of the due
        checks were not made when due.
        """
        if not self.gaps:
            return 0.0, 0.0
        allowed = interval_s * 1.05
        due = sum(max(1.0, gap / allowed) for gap in self.gaps)
        return len(self.gaps) / due, max(self.gaps)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def standby_worker(
    protocol: str, targets: Targets, interval_s: float, seconds: float, postgres: str | None = None
) -> Run:
    """DetectWorker over every target for `seconds` after each was checked about once, on a new
    SQLite database, or on a scratch database of the PostgreSQL server at `postgres`."""
    from sqlalchemy import func, select

    from standby.clock import SystemClock
    from standby.detect.worker import DetectWorker
    from standby.store.engine import unit_of_work
    from standby.store.tables import CheckResultRow

    kind = {"tcp": "tcp", "http": "http", "sip": "sip_options"}[protocol]
    probes = [
        standby_probe(protocol, port, interval_s=interval_s, timeout_s=2).model_dump(mode="json")
        for port in targets.ports
    ]
    for probe in probes:  # only what an author writes: the type and target, the timing
        for key in list(probe):
            if key not in ("type", "target", "interval_s", "timeout_s"):
                del probe[key]
    with scratch_url(postgres) as url:
        factory = migrated_factory(url)
        store_plan(factory, plan_text(probes))
        checker = CountingChecker()
        worker = DetectWorker(session_factory=factory, clock=SystemClock(), checker=checker)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        try:
            deadline = time.monotonic() + 120
            while worker.stats.checks < len(probes):  # warm-up: claimed, checked once, all up
                if time.monotonic() > deadline or task.done():
                    raise RuntimeError(f"the worker checked only {worker.stats.checks} probes in 120 s")
                await asyncio.sleep(0.1)
            checks0, flushes0 = worker.stats.checks, worker.stats.flushes
            checker.start_counting()
            cpu0, wall0, targets0 = time.process_time(), time.perf_counter(), targets.cpu_seconds()
            await asyncio.sleep(seconds)
            checks = worker.stats.checks - checks0
            failures = dict(checker.failures)
            due_done, max_gap = checker.due_done(interval_s)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            targets_cpu = targets.cpu_seconds() - targets0
            flushes = worker.stats.flushes - flushes0
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)
            await checker.aclose()
        with unit_of_work(factory) as session:
            written = session.scalar(select(func.count()).select_from(CheckResultRow)) or 0
    due = len(probes) / interval_s
    note = (
        f"{due:,.0f} checks/s due, {checks / wall:,.0f} done, {due_done:.0%} of the due checks on time"
        f" (longest gap {max_gap:.1f} s); {flushes} batches written in {wall:.0f} s;"
        f" {written:,} results stored over the whole run, of {worker.stats.checks:,} checks"
    )
    failed = sum(failures.values())
    return Run(
        f"Standby worker {interval_s:g} s",
        kind,
        checks,
        checks - failed,
        wall,
        cpu,
        targets_cpu,
        note=note,
        failures=failures,
        due_done=due_done,
        max_gap_s=max_gap,
    )


# ---- blackbox_exporter ----------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for the exporter's web listener)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Exporter:
    """blackbox_exporter on 127.0.0.1 with the tcp_connect and http_2xx modules."""

    def __init__(self, directory: Path, *, max_seconds: int = 900) -> None:
        binary = shutil.which(EXPORTER)
        if binary is None:
            raise SystemExit(f"{EXPORTER} is missing: run benchmarks/install-peers first")
        config = directory / "blackbox.yml"
        config.write_text(EXPORTER_CONFIG, encoding="utf-8")
        self.port = free_port()
        self.log = directory / "blackbox.log"
        with self.log.open("w") as log:
            # `timeout` bounds its life whatever happens to this script.
            self.process = subprocess.Popen(
                [
                    "timeout",
                    "--kill-after=5",
                    str(max_seconds),
                    binary,
                    f"--config.file={config}",
                    f"--web.listen-address={HOST}:{self.port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.pid = self._exporter_pid()
        self._wait_ready()

    def _exporter_pid(self) -> int:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for stat in Path("/proc").glob("[0-9]*/stat"):  # the child of the `timeout` wrapper
                try:
                    text = stat.read_text()
                except OSError:
                    continue
                if int(text[text.rindex(")") + 2 :].split()[1]) == self.process.pid:
                    return int(stat.parent.name)
            time.sleep(0.05)
        raise RuntimeError("blackbox_exporter did not start")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"blackbox_exporter is not listening: {self.log.read_text()[-2000:]}")

    def version(self) -> str:
        """The exporter's version line."""
        out = subprocess.run([EXPORTER, "--version"], capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).splitlines()[0]

    def stop(self) -> None:
        """Stop the exporter (the `timeout` wrapper passes the signal on)."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def blackbox(protocol: str, exporter: Exporter, targets: Targets, rounds: int, directory: Path) -> Run:
    """The targets probed through the exporter by the driver process; the exporter's CPU."""
    module = MODULES[protocol]
    spec = directory / f"drive-{protocol}.json"
    paths = [
        f"/probe?module={module}&target={HOST}:{port}"
        if protocol == "tcp"
        else f"/probe?module={module}&target=http://{HOST}:{port}/"
        for port in targets.ports
    ]
    spec.write_text(
        json.dumps(
            {
                "port": exporter.port,
                "paths": paths,
                "rounds": rounds,
                "concurrency": CONCURRENCY,
                "watch": {"exporter": exporter.pid, "targets": targets.pid},
            }
        )
    )
    out = subprocess.run(
        [sys.executable, __file__, "_drive", str(spec)], capture_output=True, text=True, timeout=600
    )
    if out.returncode != 0:
        raise RuntimeError(f"the driver failed: {out.stderr[-3000:]}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return Run(
        "blackbox_exporter",
        protocol,
        got["checks"],
        got["ok"],
        got["wall_s"],
        got["cpu"]["exporter"],
        got["cpu"]["targets"],
        driver_cpu_s=got["driver_cpu_s"],
        failures=got["failures"],
    )


# ---- the load driver for the exporter (its own process) ------------------------------------


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection to the exporter, one request at a time."""

    def __init__(self, host: bytes) -> None:
        self.host = host
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("the exporter closed the connection"))

    def get(self, path: str) -> asyncio.Future[bytes]:
        assert self.transport is not None
        self.buffer.clear()
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: " + self.host + b"\r\n\r\n")
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        body = _complete_body(self.buffer)
        if body is not None and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(body)


def _complete_body(buffer: bytearray) -> bytes | None:
    """The body of the HTTP response in `buffer` once it is complete (Content-Length or chunked)."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[:end]).lower()
    start = end + 4
    for line in head.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
            return bytes(buffer[start : start + length]) if len(buffer) >= start + length else None
    # Transfer-Encoding: chunked
    parts: list[bytes] = []
    pos = start
    while True:
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(bytes(buffer[pos:line_end]).split(b";", 1)[0], 16)
        if size == 0:
            return b"".join(parts) if buffer.find(b"\r\n", line_end + 2) >= 0 else None
        if len(buffer) < line_end + 2 + size + 2:
            return None
        parts.append(bytes(buffer[line_end + 2 : line_end + 2 + size]))
        pos = line_end + 2 + size + 2


async def _drive(spec: dict[str, Any]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    port, paths, concurrency = spec["port"], spec["paths"], spec["concurrency"]
    connections = []
    for _ in range(concurrency):
        _transport, protocol = await loop.create_connection(
            lambda: _Connection(f"{HOST}:{port}".encode()), HOST, port
        )
        connections.append(protocol)
    failures: collections.Counter[str] = collections.Counter()

    async def run(work: list[str]) -> int:
        ok = 0
        queue = collections.deque(work)

        async def lane(connection: _Connection) -> None:
            nonlocal ok
            while queue:
                body = await asyncio.wait_for(connection.get(queue.popleft()), 30)
                if b"\nprobe_success 1" in body:
                    ok += 1
                else:
                    failures["probe_success 0"] += 1

        await asyncio.gather(*(lane(c) for c in connections))
        return ok

    await run(paths[:500])  # warm-up
    failures.clear()
    watch = {name: process_cpu_seconds(pid) for name, pid in spec["watch"].items()}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    ok = await run(paths * spec["rounds"])
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    used = {name: process_cpu_seconds(pid) - watch[name] for name, pid in spec["watch"].items()}
    for connection in connections:
        assert connection.transport is not None
        connection.transport.close()
    return {
        "checks": len(paths) * spec["rounds"],
        "ok": ok,
        "wall_s": wall,
        "driver_cpu_s": cpu,
        "cpu": used,
        "failures": dict(failures),
    }


# ---- report ---------------------------------------------------------------------------------


def print_report(
    runs: list[Run],
    *,
    targets: int,
    exporter_version: str,
    interval_s: float,
    worker_sip_tcp: list[float],
    worker_due: dict[str, list[float]],
    behind: list[int] | None = None,
    to_stderr: bool = False,
) -> dict[str, Any]:
    """The table and the ratios against the issue's targets; returns them for --json.

    `worker_sip_tcp` is the worker's SIP/TCP ratio in each interleaved turn (the median is
    the figure), `worker_due` each turn's share of due checks done on time (the lowest is).
    """
    from rich.console import Console
    from rich.table import Table

    console = Console(width=170, stderr=to_stderr)  # with --json, stdout is the JSON alone
    table = Table(title=f"{targets:,} targets on 127.0.0.1, at most {CONCURRENCY} checks at once")
    for column, justify in (
        ("tool", "left"),
        ("protocol", "left"),
        ("checks", "right"),
        ("ok", "right"),
        ("checks/s", "right"),
        ("CPU s / 1,000 checks", "right"),
        ("checks per CPU s", "right"),
        ("targets' CPU s / 1,000", "right"),
        ("driver's CPU s / 1,000", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for run in runs:
        table.add_row(
            run.tool,
            run.protocol,
            f"{run.checks:,}",
            f"{run.ok:,}",
            f"{run.per_s:,.0f}",
            f"{run.cpu_per_1000:.3f}",
            f"{run.per_cpu_s:,.0f}",
            f"{1000 * run.targets_cpu_s / max(run.checks, 1):.3f}",
            f"{1000 * run.driver_cpu_s / run.checks:.3f}" if run.driver_cpu_s is not None else "",
        )
    console.print(table)
    console.print(f"peer: {exporter_version}; CPU per 1,000 checks of the exporter process alone")
    for run in runs:
        if run.note:
            console.print(f"  {run.tool} {run.protocol}: {run.note}")
        if run.failures:
            console.print(f"  {run.tool} {run.protocol} failures: {run.failures}")

    def find(tool: str, protocol: str) -> Run | None:
        return next((r for r in runs if r.tool.startswith(tool) and r.protocol.startswith(protocol)), None)

    worker = f"Standby worker {interval_s:g} s"
    due_rate = f"{targets / interval_s:,.0f} due a second"
    ratios: list[dict[str, Any]] = []

    def ratio(name: str, value: float, target: float) -> None:
        ratios.append(
            {"name": name, "value": round(value, 3), "target": target, "unit": "x", "better": "higher"}
        )

    for protocol in ("http", "tcp"):
        peer = find("blackbox", protocol)
        for tool, who in (
            ("Standby checker", "checker"),
            (worker, "worker"),
            ("Standby worker 0.5 s", "worker saturated"),
        ):
            mine = find(tool, protocol)
            if peer is not None and mine is not None:
                name = f"{protocol.upper()} checks per CPU s, Standby {who} / blackbox_exporter"
                ratio(name, mine.per_cpu_s / peer.per_cpu_s, 1.0)
    for protocol in ("http", "tcp", "sip"):
        for run in runs:
            if run.tool == worker and run.protocol.startswith(protocol) and run.due_done is not None:
                name = f"Standby worker, {protocol.upper()} probes at {due_rate}: due checks done on time"
                ratio(name, min(worker_due.get(protocol, [run.due_done])), 1.0)
    sip, tcp = find("Standby checker", "sip_options (UDP)"), find("Standby checker", "tcp")
    if sip is not None and tcp is not None:
        ratio("SIP OPTIONS / TCP checks per CPU s, Standby checker", sip.per_cpu_s / tcp.per_cpu_s, 1.0)
    behind = behind or []
    comparable = [value for turn, value in enumerate(worker_sip_tcp) if turn not in behind]
    if worker_sip_tcp:
        # The turns where both workers kept up, when there are any.
        chosen = sorted(comparable or worker_sip_tcp)
        middle = chosen[len(chosen) // 2]
        ratio("SIP OPTIONS / TCP checks per CPU s, Standby worker", middle, 1.0)
    console.print("Ratios (checks per CPU second, unless said) against their targets:")
    for entry in ratios:
        met = "met" if entry["value"] >= entry["target"] else "NOT met"
        console.print(f"  {entry['name']}: {entry['value']:.2f}x (target {entry['target']:g}x: {met})")
    if len(worker_sip_tcp) > 1:
        turns = " ".join(
            f"{value:.2f}{'*' if turn in behind else ''}" for turn, value in enumerate(worker_sip_tcp)
        )
        console.print(
            f"  worker SIP OPTIONS / TCP in each turn (median above; * a worker fell behind): {turns}"
        )
    for protocol, values in worker_due.items():
        if len(values) > 1:
            shares = " ".join(f"{value:.3f}" for value in values)
            console.print(
                f"  worker {protocol} due checks done on time in each turn (lowest above): {shares}"
            )
    failed = [
        f"{r.tool} {r.protocol}" for r in runs if r.tool.startswith("Standby worker") and r.ok != r.checks
    ]
    if failed:
        console.print(f"  false failures (every target answers): {', '.join(failed)}")
    return {
        "ratios": ratios,
        "worker_interval_s": interval_s,
        "worker_sip_tcp_turns": worker_sip_tcp,
        "worker_sip_tcp_turns_behind": behind,
        "worker_due_done_turns": worker_due,
    }


def _print_turn(measured: dict[tuple[str, str], list[Run]], turn: int) -> None:
    """This turn's checker figures and SIP/TCP ratio: runs side by side share the machine's load."""
    latest = {protocol: runs[turn] for (tool, protocol), runs in measured.items() if tool == "checker"}
    text = ", ".join(f"{p} {r.per_cpu_s:,.0f} checks per CPU s ({r.per_s:,.0f}/s)" for p, r in latest.items())
    if "sip" in latest and "tcp" in latest:
        text += f"; SIP/TCP {latest['sip'].per_cpu_s / latest['tcp'].per_cpu_s:.2f}x"
    print(f"… turn {turn + 1}: {text}", file=sys.stderr)


def _order(key: tuple[str, str]) -> tuple[int, int]:
    return ("tcp", "http", "sip").index(key[1]), ("checker", "blackbox").index(key[0])


def median_run(runs: list[Run]) -> Run:
    """The run with the median checks per CPU second, noting the range of all of them."""
    ordered = sorted(runs, key=lambda r: r.per_cpu_s)
    chosen = ordered[len(ordered) // 2]
    if len(runs) > 1:
        low, high = ordered[0].per_cpu_s, ordered[-1].per_cpu_s
        chosen.note = f"median of {len(runs)} runs; checks per CPU s from {low:,.0f} to {high:,.0f}" + (
            f"; {chosen.note}" if chosen.note else ""
        )
    return chosen


async def run_workers(
    args: argparse.Namespace,
    protocols: list[str],
    targets: Targets,
    worker_sip_tcp: list[float],
    worker_due: dict[str, list[float]],
    worker_sip_tcp_behind: list[int],
) -> list[Run]:
    """The worker over every protocol at the interval, in interleaved turns, then saturated on TCP.

    Each turn's SIP/TCP ratio goes to `worker_sip_tcp` (the worker's CPU is mostly its
    database work, which moves with the machine's load: a ratio within a turn is fairer
    than a ratio of medians), each run's share of due checks done to `worker_due`.
    """
    interval = args.worker_interval
    # Whole intervals, so that every probe is checked as often in each window.
    seconds = max(args.worker_seconds, 2 * interval)
    seconds = interval * round(seconds / interval)
    measured: dict[str, list[Run]] = collections.defaultdict(list)
    for turn in range(args.worker_repeat):
        for protocol in protocols:
            print(
                f"… {turn + 1}/{args.worker_repeat} Standby worker, {protocol} every {interval:g} s",
                file=sys.stderr,
            )
            run = await standby_worker(protocol, targets, interval, seconds, args.postgres)
            measured[protocol].append(run)
            worker_due[protocol].append(run.due_done or 0.0)
        if "sip" in measured and "tcp" in measured:
            sip, tcp = measured["sip"][-1], measured["tcp"][-1]
            worker_sip_tcp.append(sip.per_cpu_s / tcp.per_cpu_s)
            # A worker that falls behind spends its fixed costs (claims, correlations) on
            # fewer checks: its CPU per check then says more about the machine than the probe.
            both_kept_up = min(sip.due_done or 0.0, tcp.due_done or 0.0) >= KEPT_UP
            if not both_kept_up:
                worker_sip_tcp_behind.append(len(worker_sip_tcp) - 1)
            late = "" if both_kept_up else " (a worker fell behind: not comparable)"
            print(f"… turn {turn + 1}: worker SIP/TCP {worker_sip_tcp[-1]:.2f}x{late}", file=sys.stderr)
    runs = [median_run(measured[p]) for p in protocols if p in measured]
    if "tcp" in protocols and not args.quick:
        print("… Standby worker, tcp every 0.5 s (saturated)", file=sys.stderr)
        runs.append(await standby_worker("tcp", targets, 0.5, max(args.worker_seconds, 1.0), args.postgres))
    return runs


async def run_all(args: argparse.Namespace) -> None:
    raise_nofile(args.targets * 2 + 4096)
    measured: dict[tuple[str, str], list[Run]] = collections.defaultdict(list)
    protocols = [p for p in ("tcp", "sip", "http") if p in args.protocols.split(",")]
    with Targets(args.targets) as targets, tempfile.TemporaryDirectory(prefix="standby-bb-") as tmp:
        exporter = None if args.no_exporter else Exporter(Path(tmp))
        try:
            version = exporter.version() if exporter is not None else "not run (--no-exporter)"
            # Interleaved and repeated, so that a neighbour's load on this shared machine hits
            # both sides alike; HTTP, ten times slower, gets half the rounds.
            for turn in range(args.repeat):
                for protocol in protocols:
                    rounds = max(1, args.rounds // 2) if protocol == "http" else args.rounds
                    print(f"… {turn + 1}/{args.repeat} Standby checker, {protocol}", file=sys.stderr)
                    measured["checker", protocol].append(await standby_checker(protocol, targets, rounds))
                    if protocol in MODULES and exporter is not None:
                        print(f"… {turn + 1}/{args.repeat} blackbox_exporter, {protocol}", file=sys.stderr)
                        run = blackbox(protocol, exporter, targets, rounds, Path(tmp))
                        measured["blackbox", protocol].append(run)
                if len(protocols) > 1:
                    _print_turn(measured, turn)
        finally:
            if exporter is not None:
                exporter.stop()
        runs = [median_run(measured[key]) for key in sorted(measured, key=_order)]
        if "sip" in protocols:
            print("… Standby checker, sip against one SIPp", file=sys.stderr)
            against_sipp = await standby_against_sipp(min(args.targets, 5000), Path(tmp))
            if against_sipp is not None:
                runs.append(against_sipp)
        worker_sip_tcp: list[float] = []
        worker_due: dict[str, list[float]] = collections.defaultdict(list)
        behind: list[int] = []
        if args.worker_seconds > 0:
            runs += await run_workers(args, protocols, targets, worker_sip_tcp, worker_due, behind)
    report = print_report(
        runs,
        targets=args.targets,
        exporter_version=version,
        interval_s=args.worker_interval,
        worker_sip_tcp=worker_sip_tcp,
        worker_due=dict(worker_due),
        behind=behind,
        to_stderr=args.json,
    )
    if args.json:
        print(
            json.dumps(
                {
                    "targets": args.targets,
                    "rounds": args.rounds,
                    "runs": [{**asdict(r), "per_s": r.per_s, "cpu_per_1000": r.cpu_per_1000} for r in runs],
                    **report,
                },
                indent=2,
            )
        )


def main() -> None:
    """Parse the options and run every measurement (or, internally, the exporter's load driver)."""
    if len(sys.argv) == 3 and sys.argv[1] == "_drive":
        raise_nofile(4096)
        spec = json.loads(Path(sys.argv[2]).read_text())
        print(json.dumps(asyncio.run(_drive(spec))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=5000, help="targets on 127.0.0.1")
    parser.add_argument("--rounds", type=int, default=2, help="times each target is checked per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (median shown)")
    parser.add_argument(
        "--worker-seconds", type=float, default=30, help="measured seconds of each worker run (0: none)"
    )
    parser.add_argument(
        "--protocols", default="tcp,sip,http", help="comma-separated subset of tcp,sip,http to measure"
    )
    parser.add_argument("--no-exporter", action="store_true", help="leave blackbox_exporter out")
    parser.add_argument(
        "--postgres", metavar="URL", help="run the worker on a scratch database of this server, not SQLite"
    )
    parser.add_argument("--worker-interval", type=float, default=10.0, help="the worker's check interval, s")
    parser.add_argument(
        "--worker-repeat", type=int, default=2, help="interleaved turns of the worker over each protocol"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short run (under a minute): 1,000 targets, one run each, the worker at 2 s (500 due/s)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object on stdout (the table on stderr)"
    )
    args = parser.parse_args()
    if args.quick:
        args.targets, args.rounds, args.repeat = min(args.targets, 1000), 1, 1
        args.worker_interval, args.worker_repeat = args.targets / 500, 1
        args.worker_seconds = min(args.worker_seconds, 2 * args.worker_interval)
    asyncio.run(run_all(args))


if __name__ == "__main__":
    main()
