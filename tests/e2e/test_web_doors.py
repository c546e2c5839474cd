"""Every response carries the security headers, no page needs inline code, and no GET changes anything."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from _web import BASE, Web, client, log_in, web
from fastapi.routing import APIRoute
from sqlalchemy import select

from standby.access.roles import Role
from standby.store.engine import unit_of_work
from standby.store.tables import Base

pytestmark = pytest.mark.anyio
__all__ = ["client", "web"]  # fixtures, imported for pytest

PAGES = ["/", "/outcomes", "/login", "/ack/not-a-token", "/outcomes-sw.js", "/static/standby.css"]
# Values for path parameters: ids from the reference plan, or ones that are simply missing.
PATH_VALUES = {"component_id": "acd", "rotation_id": "platform-oncall", "key": "nothing", "token": "nothing"}
# Open for hours by design (the overview's change stream); it only reads.
ENDLESS = {"/api/v1/stream"}
# Bookkeeping that any authenticated request may update (at most once a minute).
TOUCHED = {"last_used_at", "last_seen_at"}
FOREIGN = {"Referer": "https://evil.example/", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}


def fill(path: str) -> str:
    """The path with a value for each parameter (`{offer_id:int}` too)."""
    return re.sub(r"{(\w+)(?::\w+)?}", lambda m: PATH_VALUES.get(m.group(1), "1"), path)


def get_routes(
    routes: list[Any], prefix: str = "", methods: frozenset[str] = frozenset({"GET"})
) -> list[str]:
    """The paths of the routes among `routes` that answer one of `methods`, looking into included routers."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found += [
                f"{m} {prefix}{route.path}" if methods != {"GET"} else prefix + route.path
                for m in sorted(route.methods & methods)
            ]
        elif hasattr(route, "original_router"):  # FastAPI keeps included routers whole
            found += get_routes(route.original_router.routes, prefix + route.include_context.prefix, methods)
    return found


def get_paths(web: Web) -> list[str]:
    """Every GET route of the app, API and pages, with its path parameters filled in."""
    paths = []
    for path in get_routes(web.app.routes):
        if path in ENDLESS:
            continue
        paths.append(fill(path))
    return paths


def assert_secure_headers(response: httpx.Response) -> None:
    csp = response.headers.get("content-security-policy", "")
    where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    assert "frame-ancestors 'none'" in csp, where
    assert "default-src 'self'" in csp or "default-src 'none'" in csp, where
    assert response.headers.get("x-content-type-options") == "nosniff", where
    assert response.headers.get("referrer-policy") in ("same-origin", "no-referrer"), where


async def test_every_page_and_answer_sends_the_security_headers(web: Web, client: httpx.AsyncClient) -> None:
    anonymous = [await client.get(path) for path in [*PAGES, "/healthz", "/api/v1/plan", "/nowhere"]]
    await log_in(client, Role.ADMIN)
    logged_in = [await client.get(path) for path in [*PAGES, *get_paths(web)]]
    posted = await client.post("/login", data={"username": "x", "password": "y"}, headers={"Origin": BASE})
    for response in [*anonymous, *logged_in, posted]:
        assert_secure_headers(response)
    by_path = {r.request.url.path: r for r in logged_in}
    assert by_path["/"].status_code == by_path["/outcomes"].status_code == 200
    # The acknowledgement page keeps its stricter policy: its URL is a credential.
    assert by_path["/ack/not-a-token"].headers["referrer-policy"] == "no-referrer"


async def test_pages_need_no_inline_script_or_style(web: Web, client: httpx.AsyncClient) -> None:
    await log_in(client, Role.ADMIN)
    for path in ["/", "/outcomes", "/ack/not-a-token"]:
        html = (await client.get(path)).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"{path} has an inline script"
        assert not re.search(r"<style\b|\sstyle=", html), f"{path} has inline style"
        assert not re.search(r"\son[a-z]+=", html), f"{path} has an inline event handler"
        assert "javascript:" not in html
    for script in re.findall(r'<script[^>]*\bsrc="([^"]+)"', (await client.get("/")).text):
        assert (await client.get(script)).status_code == 200, script
    async with web.client() as anonymous:
        login = (await anonymous.get("/login")).text
    assert "<script" not in login and " style=" not in login


def snapshot(web: Web) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, without the bookkeeping columns."""
    rows = {}
    with unit_of_work(web.factory) as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name not in TOUCHED]
            rows[table.name] = sorted(map(tuple, session.execute(select(*columns))), key=repr)
    return rows


async def test_no_get_changes_anything_even_with_the_old_marking_parameter(
    web: Web, client: httpx.AsyncClient
) -> None:
    outcome = {
        "customer": "Jane Doe",
        "phone": "+447700900123",
        "queue": "billing",
        "reason": "Bill",
        "outcome": "Explained",
        "follow_up": True,
        "logged_at": "2026-06-15T09:12:00Z",
        "client_id": "entry-0001",
    }
    posted = await client.post("/api/v1/outcomes", json=outcome, headers=web.bearer(Role.AGENT))
    assert posted.status_code == 200, posted.text
    await log_in(client, Role.ADMIN)
    before = snapshot(web)
    paths = get_paths(web)
    assert len(paths) > 40 and "/api/v1/outcomes" in paths
    answered = set()
    for path in [*paths, *PAGES]:
        for params in ({}, {"mark_exported": "true", "format": "csv"}):
            by_cookie = await client.get(path, params=params, headers=FOREIGN)
            by_token = await client.get(path, params=params, headers=web.bearer(Role.ADMIN))
            answered |= {by_cookie.status_code, by_token.status_code}
    assert 200 in answered and 500 not in answered
    assert snapshot(web) == before


UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Doors that never take the session cookie: their credential is in the request itself.
NO_COOKIE = ("POST /ack/",)  # the signed token in the link's path


async def test_a_forged_cross_site_request_with_the_cookie_is_refused_everywhere(
    web: Web, client: httpx.AsyncClient
) -> None:
    await log_in(client, Role.ADMIN)
    forgeries = [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},  # a sandboxed frame, or a page that sends no referrer
        {"Referer": "https://evil.example/form"},
        {"Sec-Fetch-Site": "cross-site"},  # a browser that sent neither
        {"Origin": "https://standby.example.evil.example", "Sec-Fetch-Site": "same-site"},
    ]
    routes = [r for r in get_routes(web.app.routes, methods=UNSAFE) if not r.startswith(NO_COOKIE)]
    assert len(routes) > 30
    for route in routes:
        method, path = route.split(" ", 1)
        url = fill(path)
        for headers in forgeries:
            body = {"username": "viewer", "password": "x"} if url == "/api/v1/session" else {}
            forged = await client.request(method, url, json=body, headers=headers)
            assert forged.status_code == 403, f"{route} with {headers}: {forged.status_code}"
    # The forms too: logging out (and logging in as someone else) from another site.
    for form, data in (("/logout", {}), ("/login", {"username": "viewer", "password": "x"})):
        forged = await client.post(form, data=data, headers={"Origin": "https://evil.example"})
        assert forged.status_code == 403, form
    assert (await client.get("/api/v1/session")).status_code == 200  # still logged in
    # Standby's own pages pass.
    same = await client.post("/logout", headers={"Origin": BASE, "Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 303
