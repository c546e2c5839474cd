"""The tests' own TCP listeners: closed while probes connect, they leave no socket open.

Closing `asyncio.start_server` between an accept and its transport's creation left the
accepted socket open (a ResourceWarning, an error in whichever test the collector ran next):
seen three times in full runs, in the two-worker test.
"""

from __future__ import annotations

import contextlib
import gc
import socket
import threading
import warnings

from _workers import Listeners


def test_closing_and_reopening_under_connections_leaves_nothing_open() -> None:
    listeners = Listeners(2)
    stop = threading.Event()

    def connect_in_a_loop(i: int) -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", listeners.ports[i]), 1):
                pass

    clients = [threading.Thread(target=connect_in_a_loop, args=(i,)) for i in (0, 1, 0, 1)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for client in clients:
                client.start()
            for _ in range(150):
                for i in (0, 1):
                    listeners.close(i)
                    listeners.open(i)
        finally:
            stop.set()
            for client in clients:
                client.join(5)
            listeners.shutdown()
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
