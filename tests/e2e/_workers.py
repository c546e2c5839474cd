"""Shared pieces of the tests that run `standby worker` processes: TCP listeners, starting workers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path


class Listeners:
    """TCP listeners on 127.0.0.1 in a thread of their own, each one can be closed and reopened."""

    def __init__(self, count: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers: list[asyncio.Server | None] = [None] * count
        self.ports: list[int] = [0] * count
        for i in range(count):
            self.open(i)

    def _call(self, coro):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def open(self, i: int) -> None:
        async def start() -> asyncio.Server:
            async def close(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()

            return await asyncio.start_server(close, "127.0.0.1", self.ports[i] or 0)

        server = self._call(start())
        self.servers[i] = server
        self.ports[i] = server.sockets[0].getsockname()[1]

    def close(self, i: int) -> None:
        server = self.servers[i]
        if server is not None:

            async def stop() -> None:
                server.close()
                await server.wait_closed()

            self._call(stop())
            self.servers[i] = None

    def shutdown(self) -> None:
        for i in range(len(self.servers)):
            self.close(i)

        async def settle() -> None:
            # A connection accepted just before its server closed still has its handler to
            # run: stopping the loop before it ends left its transport open, a ResourceWarning
            # (an error here) in whichever test the garbage collector then ran in. Until none
            # is left: finishing an accept starts the connection's handler, a task of its own.
            while others := [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
                await asyncio.gather(*others, return_exceptions=True)
            await asyncio.sleep(0)  # the closed transports' last callbacks

        self._call(settle())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def start_worker(
    url: str, tmp_path: Path, name: str, *, lease_s: float | None = None
) -> subprocess.Popen[bytes]:
    """Start `standby worker` on `url`, its output in NAME.log; the default lease unless `lease_s`."""
    env = dict(os.environ)
    env.update(STANDBY_DATABASE_URL=url, STANDBY_DATA_DIR=str(tmp_path / name))
    env.pop("STANDBY_WORKER_LEASE_S", None)
    if lease_s is not None:
        env["STANDBY_WORKER_LEASE_S"] = str(lease_s)
    with (tmp_path / f"{name}.log").open("wb") as log:
        # The child keeps its own copy of the descriptor; ours can close at once.
        return subprocess.Popen(
            [sys.executable, "-m", "standby", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
        )


def wait_for(condition, within: float, what: str):  # type: ignore[no-untyped-def]
    """Poll `condition` every 0.1 s until it is truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {within} s: {what}")
