"""Python's cyclic garbage collector paused while a bulk step builds hundreds of thousands of objects.

Each collection of the oldest generation walks every object the process holds, and a step
that makes 100,000 rows, tuples and messages sets off several: they took 0.5 to 0.65 s of
the callbacks' recovery pass (4.4 to 5.1 s in all, measured by turns). Reference counting
still frees everything such a step lets go of; only reference cycles wait, until the pause
ends. The collector is the process's, so pauses from several threads are counted: it comes
back when the last one ends, and only if it was on before the first began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pauses:
    """How many pauses are under way, and whether the collector was on before the first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.was_on = False


_PAUSES = _Pauses()


@contextmanager
def collection_paused() -> Iterator[None]:
    """No cyclic garbage collection in the block (nor in other threads meanwhile)."""
    with _PAUSES.lock:
        if _PAUSES.count == 0:
            _PAUSES.was_on = gc.isenabled()
            gc.disable()
        _PAUSES.count += 1
    try:
        yield
    finally:
        with _PAUSES.lock:
            _PAUSES.count -= 1
            if _PAUSES.count == 0 and _PAUSES.was_on:
                gc.enable()
