"""Pausing the cyclic collector: off inside, back on after the last pause, as it was before."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from standby.garbage_collection import collection_paused


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_off_in_the_block_and_on_after_it_even_after_an_error() -> None:
    with collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), collection_paused():
        raise ValueError("a bulk step failed")
    assert gc.isenabled()


def test_pauses_in_two_threads_end_when_the_last_one_does() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def second() -> None:
        with collection_paused():
            second_in.set()
            first_out.wait(5)
            seen["after the first ended"] = gc.isenabled()
        seen["after both"] = gc.isenabled()

    with collection_paused():
        first_in.set()
        thread = threading.Thread(target=second)
        thread.start()
        assert second_in.wait(5)
    first_out.set()
    thread.join(5)
    assert seen == {"after the first ended": False, "after both": True}


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collection_paused(), collection_paused():
        pass
    assert not gc.isenabled()


def test_the_command_line_freezes_what_its_imports_made_and_leaves_the_collector_on() -> None:
    code = "import gc, standby.cli; print(gc.isenabled(), gc.get_freeze_count() > 10_000)"
    shown = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert shown.stdout.split() == ["True", "True"]
