"""Serving the metrics on an address of their own (STANDBY_METRICS_ADDRESS), without a login.

For a Prometheus on a private network that should not hold an API token, and for
`standby worker`, which has no web app of its own. Whoever can reach the address reads
the figures: bind it to a loopback or private address (docs/operations.md).
"""

from __future__ import annotations

import threading
from types import TracebackType
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server
from prometheus_client.registry import CollectorRegistry

from standby.errors import ConfigError


class MetricsAddress:
    """prometheus_client's own exposition server, in a thread, from `start` until `stop`."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        """Remember what to serve where; nothing listens until `start`."""
        self.registry = registry
        self.host = host
        self.port = port
        self._server: tuple[WSGIServer, threading.Thread] | None = None

    def start(self) -> MetricsAddress:
        """Listen; a ConfigError naming the setting when the address cannot be had."""
        try:
            self._server = start_http_server(self.port, addr=self.host, registry=self.registry)
        except OSError as exc:
            raise ConfigError(
                f"STANDBY_METRICS_ADDRESS: cannot listen on {self.host}:{self.port} ({exc.strerror or exc})"
            ) from None
        return self

    def stop(self) -> None:
        """Stop listening and wait for the thread."""
        if self._server is None:
            return
        server, thread = self._server
        self._server = None
        server.shutdown()
        server.server_close()
        thread.join(5)

    def __enter__(self) -> MetricsAddress:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
