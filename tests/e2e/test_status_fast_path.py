"""The status documents answered before routing (web/status_fast.py), on SQLite and PostgreSQL: the
same bytes and headers as the route answers (a query string takes the route), HEAD and 304 alike;
other /status paths and POSTs go on to the app."""

from __future__ import annotations

import pytest
from _web import Web, web

pytestmark = pytest.mark.anyio
__all__ = ["web"]
SAME = ("etag", "last-modified", "cache-control", "vary", "content-type", "content-length",
        "content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options")


async def test_the_fast_path_answers_as_the_route_does(web: Web) -> None:
    async with web.client() as client:
        routed = await client.get("/status?via=route")  # a query string: the route answers
        for path in ("/status", "/status.json", "/status/feed.atom"):
            fast = await client.get(path)
            slow = await client.get(f"{path}?via=route")
            assert fast.status_code == slow.status_code == 200
            assert fast.content == slow.content
            assert {h: fast.headers.get(h) for h in SAME} == {h: slow.headers.get(h) for h in SAME}
        fast = await client.get("/status")
        assert fast.content == routed.content
        head = await client.head("/status")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(fast.content))
        etag = fast.headers["etag"]
        again = await client.get("/status", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        assert "content-security-policy" in again.headers
        missing = await client.get("/status/incidents/999")
        assert missing.status_code == 404  # no such document: the route says so
        posted = await client.post("/status", headers={"Origin": "http://testserver"})
        assert posted.status_code == 405
