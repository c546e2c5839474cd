"""Standby's checker run of the detection benchmark: `ProbeChecker.check` over every target.

Driven as the worker drives it (a task per check, at most CONCURRENCY at once), with a
cross-check of the SIP figure against one SIPp UAS when sipp is installed. Part of
benchmarks/detect_checks.py; not a benchmark of its own.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _detect_shared import CONCURRENCY, Run, standby_probe
from _targets import HOST, Targets, process_cpu_seconds


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
