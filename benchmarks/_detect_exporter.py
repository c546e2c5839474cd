"""blackbox_exporter's run of the detection benchmark, and its load driver.

The exporter on 127.0.0.1 with the tcp_connect and http_2xx modules; the targets probed
through its /probe endpoint by a load driver in a process of its own (this file, run as
`python _detect_exporter.py SPEC.json`), 256 keep-alive connections, the exporter's CPU from
/proc/PID/stat. Part of benchmarks/detect_checks.py; not a benchmark of its own.
"""

from __future__ import annotations

import asyncio
import collections
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _detect_shared import CONCURRENCY, Run  # noqa: E402
from _targets import HOST, Targets, process_cpu_seconds, raise_nofile  # noqa: E402

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
    out = subprocess.run([sys.executable, __file__, str(spec)], capture_output=True, text=True, timeout=600)
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


# ---- the load driver (its own process) ------------------------------------------------------


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
    """Send every path of `spec` to the exporter, after a warm-up; the counts and CPU seconds."""
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


def main() -> None:
    """The load driver: read the spec named on the command line, print one JSON object."""
    raise_nofile(4096)
    spec = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps(asyncio.run(_drive(spec))))


if __name__ == "__main__":
    main()
