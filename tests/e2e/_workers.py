"""Shared pieces of the tests that run `standby worker` processes: TCP listeners, starting workers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path


class Listeners:
    """TCP listeners on 127.0.0.1 in a thread of their own, each one can be closed and reopened.

    Each accepts whenever its socket is readable and closes what it accepted at once.
    Not `asyncio.start_server`: closing such a server between an accept and the transport's
    creation (a probe connecting as its listener is closed, which these tests do on purpose)
    fails an assertion inside asyncio (`Server._attach`) that it swallows, leaving the accepted
    socket open: a ResourceWarning, an error here, in whichever test the collector ran next.
    """

    def __init__(self, count: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.listening: list[socket.socket | None] = [None] * count
        self.ports: list[int] = [0] * count
        for i in range(count):
            self.open(i)

    def _in_loop(self, work: Callable[[], None]) -> None:
        async def run() -> None:
            work()

        asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def open(self, i: int) -> None:
        listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(("127.0.0.1", self.ports[i]))
        listening.listen(128)
        listening.setblocking(False)

        def accept_all() -> None:
            with contextlib.suppress(BlockingIOError, InterruptedError):
                while True:
                    accepted, _ = listening.accept()
                    accepted.close()

        self._in_loop(lambda: self.loop.add_reader(listening, accept_all))
        self.listening[i] = listening
        self.ports[i] = listening.getsockname()[1]

    def close(self, i: int) -> None:
        listening = self.listening[i]
        if listening is not None:

            def stop() -> None:
                # In the loop's own thread: a readiness already queued is cancelled with the
                # reader, so nothing is accepted after this and nothing accepted stays open.
                self.loop.remove_reader(listening)
                listening.close()

            self._in_loop(stop)
            self.listening[i] = None

    def shutdown(self) -> None:
        for i in range(len(self.listening)):
            self.close(i)
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
