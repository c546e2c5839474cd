"""Shared pieces of the web tests: a seeded database, the app, and an HTTP client on it.

The client is httpx over ASGITransport (Starlette's TestClient warns under httpx, and
warnings are errors here); `Served` puts the app on a real port (HTTP or TLS) for clients
that must connect. Each role has a user (password: PASSWORD) and a token.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Self

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp

from _passwords import TEST_HASHER
from standby.access.roles import Role
from standby.access.service import create_token
from standby.clock import FakeClock
from standby.config import Settings
from standby.plan.loading import load_plan_text, reference_plan_text
from standby.plan.versions import record_plan
from standby.store.engine import unit_of_work
from standby.store.tables import ComponentStateRow, UserRow
from standby.web.app import create_app

T0 = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
PASSWORD = "correct horse battery"
BASE = "http://testserver"


@dataclass
class Web:
    """The app under test, its database and clock, and a token per role."""

    app: FastAPI
    factory: sessionmaker[Session]
    clock: FakeClock
    tokens: dict[Role, str]

    def client(self, *, raise_errors: bool = True) -> httpx.AsyncClient:
        """A client that speaks HTTP to the app in-process; use it in `async with`."""
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=raise_errors)
        return httpx.AsyncClient(transport=transport, base_url=BASE)

    def bearer(self, role: Role) -> dict[str, str]:
        """Headers that authenticate as `role`'s token."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def set_state(self, component_id: str, state: str) -> None:
        """Record a live state, as a probe will."""
        with unit_of_work(self.factory) as session:
            row = session.get(ComponentStateRow, component_id)
            if row is None:
                session.add(
                    ComponentStateRow(component_id=component_id, state=state, since=T0, updated_at=T0)
                )
            else:
                row.state, row.since, row.updated_at = state, T0, T0


@cache
def password_hash() -> str:
    """PASSWORD hashed once per test run, as the tests hash every password (tests/_passwords.py)."""
    return TEST_HASHER.hash(PASSWORD)


def seed_users(factory: sessionmaker[Session]) -> dict[Role, str]:
    """A user named after each role (password PASSWORD) and a token for each role."""
    tokens = {}
    with unit_of_work(factory) as session:
        for role in Role:
            session.add(
                UserRow(
                    username=role.value,
                    password_hash=password_hash(),
                    role=role.value,
                    created_at=T0,
                    disabled=False,
                )
            )
            tokens[role] = create_token(session, name=f"{role.value}-token", role=role, now=T0)
    return tokens


def seed_plan(factory: sessionmaker[Session]) -> None:
    """Load the reference plan as version 1."""
    text = reference_plan_text()
    with unit_of_work(factory) as session:
        record_plan(session, plan=load_plan_text(text), source=text, now=T0, loaded_by="test")


def make_web(
    factory: sessionmaker[Session],
    tmp_path: Path,
    *,
    with_plan: bool = True,
    with_users: bool = True,
    **settings: object,
) -> Web:
    """The app on `factory`'s database, seeded (unless told) with users, tokens and the plan."""
    tokens = seed_users(factory) if with_users else {}
    if with_plan:
        seed_plan(factory)
    clock = FakeClock(T0)
    config = Settings(database_url="sqlite://", data_dir=tmp_path, **settings)  # type: ignore[arg-type]
    return Web(create_app(config, clock=clock, session_factory=factory), factory, clock, tokens)


@pytest.fixture
def web(session_factory: sessionmaker[Session], tmp_path: Path) -> Web:
    """The app with the reference plan loaded, on SQLite and on PostgreSQL."""
    return make_web(session_factory, tmp_path)


@pytest.fixture
async def client(web: Web) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous client of `web`."""
    async with web.client() as c:
        yield c


async def log_in(client: httpx.AsyncClient, role: Role) -> None:
    """Log the client in as `role`'s user through the API (it keeps the cookie)."""
    response = await client.post("/api/v1/session", json={"username": role.value, "password": PASSWORD})
    assert response.status_code == 200, response.text


class Served:
    """An app under uvicorn on 127.0.0.1 in a thread (TLS with a certificate); it may stop and start again.

    Always on the same port, so a sender configured with its address finds it again after a
    restart; `app` may be replaced while stopped (a new process of Standby on the same database).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        certfile: Path | None = None,
        keyfile: Path | None = None,
        port: int | None = None,
    ) -> None:
        self.app = app
        self._tls: dict[str, str] = {}
        if certfile is not None and keyfile is not None:
            self._tls = {"ssl_certfile": str(certfile), "ssl_keyfile": str(keyfile)}
        if port is None:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = int(probe.getsockname()[1])
        self.port = port
        self.base = f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve, and return once the server accepts connections."""
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
            **self._tls,  # type: ignore[arg-type]
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        self._server, self._thread = server, thread

    def stop(self) -> None:
        """Stop serving: from now on connections are refused."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=15)
        assert not self._thread.is_alive(), "the server did not stop"
        self._server = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def section(html: str, element_id: str) -> str:
    """The HTML of a page from the element with this id to the end of its section."""
    found = re.search(rf'id="{element_id}".*?</section>', html, re.S)
    assert found is not None, element_id
    return found.group(0)
