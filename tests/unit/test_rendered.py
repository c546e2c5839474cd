"""Renderings kept per key: requests that miss the same key together wait for one build."""

from __future__ import annotations

import threading
import time

import anyio
import pytest

from standby.web.rendered import ReadLane, Rendered, Same

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_sixteen_requests_missing_together_wait_for_one_build() -> None:
    kept: Rendered[str] = Rendered()
    lane = ReadLane()
    builds = 0
    lock = threading.Lock()

    def build() -> str:
        nonlocal builds
        with lock:
            builds += 1
        time.sleep(0.05)  # long enough for every request to arrive while it runs
        return "page"

    answers: list[str] = []

    async def ask() -> None:
        answers.append(await kept.served("key", build, lane))

    async with anyio.create_task_group() as group:
        for _ in range(16):
            group.start_soon(ask)
    assert answers == ["page"] * 16
    assert builds == 1
    assert await kept.served("key", build, lane) == "page"  # kept: no build more
    assert builds == 1


async def test_when_the_build_fails_the_waiters_try_for_themselves() -> None:
    kept: Rendered[str] = Rendered()
    lane = ReadLane()
    calls = 0
    started = threading.Event()

    def build() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            started.set()
            time.sleep(0.05)
            raise LookupError("the first build fails")
        return "page"

    outcomes: list[object] = []

    async def ask() -> None:
        try:
            outcomes.append(await kept.served("key", build, lane))
        except LookupError as exc:
            outcomes.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(ask)
        await anyio.to_thread.run_sync(started.wait)
        group.start_soon(ask)
    assert isinstance(outcomes[0], LookupError)
    assert outcomes[1] == "page"


def test_same_matches_only_the_very_same_object() -> None:
    one, other = ["a"], ["a"]
    assert Same(one) == Same(one)
    assert Same(one) != Same(other)  # equal, not the same: another key
    assert hash(Same(one)) == hash(Same(one))
