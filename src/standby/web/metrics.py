"""`GET /metrics`: Standby's own figures in Prometheus's text format, and the web requests' count.

The page needs a login or a token whose role may read metrics (admin, manager, responder,
viewer: counts and timings, no names or numbers; not agents, whose tokens sit on shared
desks and have no use for them). A Prometheus that should hold no token scrapes
STANDBY_METRICS_ADDRESS instead (`observe.address`). Outside the OpenAPI document: it
is not JSON, and Prometheus, not a script, reads it.

`RequestMetrics` counts every web request by its route template (such as
`/api/v1/incidents/{incident_id}`), never the raw path, so a scan of random URLs adds no
series: whatever matched no route counts as `unmatched`.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client.exposition import choose_encoder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from standby.access.roles import Permission
from standby.access.service import Principal
from standby.observe.instruments import StandbyMetrics
from standby.web.auth import require

ReadMetrics = Annotated[Principal, Depends(require(Permission.READ_METRICS))]

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics_page(request: Request, _: ReadMetrics) -> Response:
    """The registry of this app, read now (the database's figures at this moment)."""
    metrics: StandbyMetrics = request.app.state.metrics
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(metrics.registry), media_type=content_type)


class RequestMetrics:
    """Counts each HTTP request by method, route template and status, with its duration.

    A plain ASGI middleware (see web/headers.py for why not BaseHTTPMiddleware). The
    router writes the matched route into the request's scope, read here once it answered.
    """

    def __init__(self, app: ASGIApp, metrics: StandbyMetrics) -> None:
        """Wrap `app`; count into `metrics`."""
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; count it when it is answered (500 when it raised)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        root_path = scope.get("root_path", "")

        async def send_seeing_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_seeing_status)
        finally:
            self.metrics.answered(
                method=scope["method"],
                route=route_template(scope, root_path),
                status=status,
                duration_s=time.perf_counter() - started,
            )


def route_template(scope: Scope, root_path: str = "") -> str:
    """The template of the route that took the request; a mount's path; else `unmatched`.

    `root_path` is the scope's before routing: a mount (the static files) lengthens it.
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(template, str):
        return template
    mounted = scope.get("root_path", "")
    if isinstance(mounted, str) and mounted != root_path:
        return mounted[len(root_path) :] + "/{path}"
    return "unmatched"
