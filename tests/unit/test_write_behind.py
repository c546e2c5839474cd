"""The write-behind thread: writes run in order in one other thread, and leaving waits for them."""

from __future__ import annotations

import threading
import time

import pytest

from standby.store.write_behind import write_behind


def test_writes_run_in_order_in_one_other_thread_while_the_caller_goes_on() -> None:
    done: list[tuple[int, str]] = []
    started = threading.Event()
    release = threading.Event()

    def first() -> None:
        started.set()
        release.wait(5)
        done.append((1, threading.current_thread().name))

    with write_behind() as writes:
        writes.run(first)
        writes.run(lambda: done.append((2, threading.current_thread().name)))
        assert started.wait(5)
        # The caller is not held up by the write that is still running.
        assert done == []
        release.set()
    assert [n for n, _ in done] == [1, 2]
    assert {name for _, name in done} == {done[0][1]} and done[0][1] != threading.current_thread().name


def test_leaving_waits_for_every_write_and_raises_the_first_ones_error() -> None:
    done: list[str] = []

    def slow() -> None:
        time.sleep(0.05)
        done.append("slow")

    def broken() -> None:
        raise ValueError("the first write's error")

    def later_broken() -> None:
        raise KeyError("a later one")

    with pytest.raises(ValueError, match="the first write's error"), write_behind() as writes:
        writes.run(slow)
        writes.run(broken)
        writes.run(later_broken)
        writes.run(lambda: done.append("after"))
    # Every write handed over ran before the block was left (a failed one stops none after it).
    assert done == ["slow", "after"]


def test_the_callers_own_error_wins_once_the_writes_are_done() -> None:
    done: list[str] = []

    def slow_and_broken() -> None:
        time.sleep(0.05)
        done.append("write")
        raise ValueError("the write's error")

    with pytest.raises(RuntimeError, match="the caller's error"), write_behind() as writes:
        writes.run(slow_and_broken)
        raise RuntimeError("the caller's error")
    assert done == ["write"]  # nothing used the connection any more once the error left the block
